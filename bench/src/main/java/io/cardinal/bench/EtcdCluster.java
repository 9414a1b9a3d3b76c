package io.cardinal.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Three etcd members on loopback, each its own process with its own data dir; etcd's defaults otherwise (its WAL
 * is fsynced on every commit). Every wait is bounded; {@link #close} kills what it started.
 */
final class EtcdCluster implements AutoCloseable {
    private final Path binary;
    private final Path dir;
    private final int[] clientPorts;
    private final int[] peerPorts;
    private final List<Process> processes = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    private EtcdCluster(Path binary, Path dir, int members) throws IOException {
        this.binary = binary;
        this.dir = dir;
        this.clientPorts = new int[members];
        this.peerPorts = new int[members];
        for (int i = 0; i < members; i++) {
            clientPorts[i] = freePort();
            peerPorts[i] = freePort();
        }
    }

    static EtcdCluster start(Path binary, Path dir, int members) throws IOException {
        EtcdCluster c = new EtcdCluster(binary, dir, members);
        try {
            c.startAll();
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    /** The version line of {@code etcd --version}, or why it could not be read. */
    static String version(Path binary) {
        try {
            Process p = new ProcessBuilder(binary.toString(), "--version").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
            return out.lines().findFirst().orElse("?").trim();
        } catch (IOException e) {
            return "unknown (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }

    private void startAll() throws IOException {
        StringBuilder initial = new StringBuilder();
        for (int i = 0; i < clientPorts.length; i++) {
            if (i > 0) initial.append(',');
            initial.append(name(i)).append("=http://127.0.0.1:").append(peerPorts[i]);
        }
        for (int i = 0; i < clientPorts.length; i++) {
            Path data = dir.resolve(name(i));
            Files.createDirectories(data);
            List<String> cmd = List.of(binary.toString(),
                    "--name", name(i),
                    "--data-dir", data.resolve("data").toString(),
                    "--listen-client-urls", endpoint(i),
                    "--advertise-client-urls", endpoint(i),
                    "--listen-peer-urls", "http://127.0.0.1:" + peerPorts[i],
                    "--initial-advertise-peer-urls", "http://127.0.0.1:" + peerPorts[i],
                    "--initial-cluster", initial.toString(),
                    "--initial-cluster-state", "new",
                    "--initial-cluster-token", "cardinal-bench",
                    // The puts of a run must not trip the 2 GiB default space alarm; it does not change the write path.
                    "--quota-backend-bytes", String.valueOf(8L << 30));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(data.resolve("etcd.log").toFile())).start();
            processes.add(p);
        }
    }

    private static String name(int i) {
        return "e" + (i + 1);
    }

    String endpoint(int i) {
        return "http://127.0.0.1:" + clientPorts[i];
    }

    List<String> endpoints() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < clientPorts.length; i++) out.add(endpoint(i));
        return out;
    }

    int members() {
        return clientPorts.length;
    }

    Path log(int i) {
        return dir.resolve(name(i)).resolve("etcd.log");
    }

    /** Waits until every member answers {@code /health} with {"health":"true"}. */
    void awaitHealthy(long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < deadline) {
            boolean all = true;
            for (int i = 0; i < clientPorts.length && all; i++) {
                if (!processes.get(i).isAlive()) throw new IllegalStateException("etcd member " + name(i) + " exited; see " + log(i));
                all = healthy(i);
            }
            if (all) return;
            Thread.sleep(100);
        }
        throw new IllegalStateException("etcd not healthy within " + timeoutMillis + " ms; logs under " + dir);
    }

    private boolean healthy(int i) throws InterruptedException {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(endpoint(i) + "/health"))
                    .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 && r.body().replace(" ", "").contains("\"health\":\"true\"");
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void close() {
        for (Process p : processes) p.destroyForcibly();
        for (Process p : processes) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        processes.clear();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }
}
