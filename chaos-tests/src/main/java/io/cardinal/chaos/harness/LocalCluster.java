package io.cardinal.chaos.harness;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * Real cardinal-server processes on loopback: each replica is its own JVM with its own data dir. Used by the
 * integration tests, the commit benchmark and the chaos suite. The server classpath is this JVM's unless the
 * system property {@code cardinal.server.classpath} (or {@code dist/target/cardinal/lib/*}) says otherwise.
 * Every wait is bounded.
 */
public final class LocalCluster implements AutoCloseable {
    public static final ObjectMapper JSON = new ObjectMapper();
    /** Tests favour start-up time; a benchmark sets {@code cardinal.server.jvmFlags} to what production runs. */
    private static final List<String> TEST_JVM_FLAGS = List.of("-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
    private static final List<String> JVM_OPENS = List.of(
            "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "-Dchronicle.analytics.disable=true");

    public record Reply(int status, JsonNode body) {
    }

    private final Path dir;
    private final Map<String, int[]> ports = new LinkedHashMap<>();
    private final Map<String, Process> processes = new LinkedHashMap<>();
    private final String extraConfig;
    private boolean testHooks;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private LocalCluster(Path dir, int replicas, String extraConfig, boolean agentGateways) throws IOException {
        this.dir = dir;
        this.extraConfig = extraConfig;
        for (int i = 1; i <= replicas; i++) {
            ports.put("n" + i, agentGateways ? new int[]{freePort(), freePort(), freePort()} : new int[]{freePort(), freePort()});
        }
        for (String id : ports.keySet()) writeConfig(id);
    }

    /** Starts {@code replicas} servers; {@code extraConfig} is appended to every config (YAML lines). */
    public static LocalCluster start(Path dir, int replicas, String extraConfig) throws IOException {
        return start(dir, replicas, extraConfig, false);
    }

    /** As {@link #start(Path, int, String)}; with {@code agentGateways} every peer also gets an agentAddress on a free port. */
    public static LocalCluster start(Path dir, int replicas, String extraConfig, boolean agentGateways) throws IOException {
        return prepare(dir, replicas, extraConfig, agentGateways).startAll();
    }

    /** Writes every replica's config but starts none: adjust with {@link #appendConfig}/{@link #withTestHooks}, then {@link #startAll}. */
    public static LocalCluster prepare(Path dir, int replicas, String extraConfig, boolean agentGateways) throws IOException {
        return new LocalCluster(dir, replicas, extraConfig, agentGateways);
    }

    public LocalCluster startAll() throws IOException {
        for (String id : ports.keySet()) start(id);
        return this;
    }

    /** Servers started from now on enable the test-only HTTP hooks ({@code -Dcardinal.testHooks=true}). */
    public LocalCluster withTestHooks() {
        testHooks = true;
        return this;
    }

    /** Appends YAML lines to one replica's config (keys the shared config does not set), before it starts. */
    public void appendConfig(String id, String yaml) throws IOException {
        Files.writeString(dir.resolve(id).resolve("server.yaml"), yaml.endsWith("\n") ? yaml : yaml + "\n", StandardOpenOption.APPEND);
    }

    /**
     * Prepares and starts one more replica whose config lists the current replicas plus itself (the others keep
     * their configs): it joins only once the cluster adds it with a membership change. Returns its id.
     */
    public String addReplica() throws IOException {
        String id = "n" + (ports.size() + 1);
        ports.put(id, new int[]{freePort(), freePort()});
        writeConfig(id);
        start(id);
        return id;
    }

    public String raftAddress(String id) {
        return "127.0.0.1:" + ports.get(id)[0];
    }

    private void writeConfig(String id) throws IOException {
        StringBuilder y = new StringBuilder();
        y.append("id: ").append(id).append('\n');
        y.append("dataDir: ").append(dir.resolve(id).resolve("data")).append('\n');
        y.append("peers:\n");
        for (Map.Entry<String, int[]> e : ports.entrySet()) {
            y.append("  - {id: ").append(e.getKey()).append(", raftAddress: 127.0.0.1:").append(e.getValue()[0])
                    .append(", httpAddress: 127.0.0.1:").append(e.getValue()[1])
                    .append(e.getValue().length > 2 ? ", agentAddress: 127.0.0.1:" + e.getValue()[2] : "").append("}\n");
        }
        y.append(extraConfig == null ? "" : extraConfig);
        Files.createDirectories(dir.resolve(id));
        Files.writeString(dir.resolve(id).resolve("server.yaml"), y.toString());
    }

    public List<String> ids() {
        return new ArrayList<>(ports.keySet());
    }

    public String httpAddress(String id) {
        return "127.0.0.1:" + ports.get(id)[1];
    }

    /** The replica's agent gateway host:port, or null when the cluster was started without agent gateways. */
    public String agentAddress(String id) {
        int[] p = ports.get(id);
        return p.length > 2 ? "127.0.0.1:" + p[2] : null;
    }

    /** The agent gateways of every replica (empty without agent gateways). */
    public List<String> agentAddresses() {
        List<String> out = new ArrayList<>();
        for (String id : ports.keySet()) if (agentAddress(id) != null) out.add(agentAddress(id));
        return out;
    }

    /** The OS pid of the replica's process, or -1 when it is not running. */
    public long pid(String id) {
        Process p = processes.get(id);
        return p == null || !p.isAlive() ? -1 : p.pid();
    }

    public Path log(String id) {
        return dir.resolve(id).resolve("server.log");
    }

    public void start(String id) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String flags = System.getProperty("cardinal.server.jvmFlags", "").trim();
        cmd.addAll(flags.isEmpty() ? TEST_JVM_FLAGS : List.of(flags.split("\\s+")));
        cmd.addAll(JVM_OPENS);
        if (testHooks) cmd.add("-Dcardinal.testHooks=true"); // io.cardinal.state.WallClock.TEST_HOOKS_PROPERTY
        cmd.add("-cp");
        cmd.add(System.getProperty("cardinal.server.classpath", System.getProperty("java.class.path")));
        cmd.add("io.cardinal.server.ServerMain");
        cmd.add("--config");
        cmd.add(dir.resolve(id).resolve("server.yaml").toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log(id).toFile())).start();
        processes.put(id, p);
    }

    public boolean alive(String id) {
        Process p = processes.get(id);
        return p != null && p.isAlive();
    }

    /** SIGKILL: no shutdown hook runs, nothing is flushed beyond what fsync already made durable. */
    public void kill9(String id) throws InterruptedException {
        Process p = processes.remove(id);
        if (p == null) return;
        p.destroyForcibly();
        if (!p.waitFor(10, TimeUnit.SECONDS)) throw new IllegalStateException("replica " + id + " did not die");
    }

    public void wipe(String id) throws IOException {
        Path data = dir.resolve(id).resolve("data");
        if (!Files.exists(data)) return;
        try (Stream<Path> s = Files.walk(data)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    public Reply get(String id, String path) {
        return send(id, HttpRequest.newBuilder(uri(id, path)).GET());
    }

    public Reply post(String id, String path, String body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(id, path)).POST(HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i + 1 < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return send(id, b);
    }

    private URI uri(String id, String path) {
        return URI.create("http://" + httpAddress(id) + path);
    }

    private Reply send(String id, HttpRequest.Builder b) {
        try {
            HttpResponse<String> r = http.send(b.timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
            JsonNode body = r.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(r.body());
            return new Reply(r.statusCode(), body);
        } catch (IOException e) {
            return new Reply(-1, JSON.createObjectNode().put("error", e.toString()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Reply(-1, JSON.createObjectNode().put("error", "interrupted"));
        }
    }

    /** The id of a replica whose controller is ready, waiting up to {@code timeoutMillis}. */
    public String awaitLeader(long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < deadline) {
            for (String id : ids()) {
                if (!alive(id)) continue;
                Reply r = get(id, "/v1/status");
                if (r.status() == 200 && r.body().path("leaderReady").asBoolean()) return id;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no leader within " + timeoutMillis + " ms; logs under " + dir);
    }

    public static void await(String what, long timeoutMillis, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < deadline) {
            if (condition.getAsBoolean()) return;
            Thread.sleep(100);
        }
        throw new AssertionError("timed out after " + timeoutMillis + " ms waiting for " + what);
    }

    /** Waits until every listed replica applied the same entries and reports the same state hash; returns the hash. */
    public String awaitConverged(List<String> ids, long timeoutMillis) throws InterruptedException {
        String[] hash = new String[1];
        await("replicas " + ids + " to converge", timeoutMillis, () -> {
            String h = null;
            long idx = -1;
            for (String id : ids) {
                Reply r = get(id, "/v1/status");
                if (r.status() != 200) return false;
                long commit = r.body().path("commitIndex").asLong();
                long applied = r.body().path("appliedIndex").asLong();
                if (applied < commit) return false;
                String hh = r.body().path("stateHash").asText();
                long si = r.body().path("stateAppliedIndex").asLong();
                if (h == null) {
                    h = hh;
                    idx = si;
                } else if (!h.equals(hh) || idx != si) {
                    return false;
                }
            }
            hash[0] = h;
            return true;
        });
        return hash[0];
    }

    @Override
    public void close() {
        for (Process p : processes.values()) p.destroyForcibly();
        for (Process p : processes.values()) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        processes.clear();
    }

    /** A clean directory under target/it/ that is kept after the run, so a failure's logs can be read. */
    public static Path freshDir(String name) throws IOException {
        Path d = Path.of("target", "it", name).toAbsolutePath();
        if (Files.exists(d)) {
            try (Stream<Path> s = Files.walk(d)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
            }
        }
        Files.createDirectories(d);
        return d;
    }

    /** Ports handed out by this JVM: never handed out twice. */
    private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final int PORT_MIN = 15_000;
    private static final int PORT_MAX = 32_000;

    /**
     * A port that is free now, for a process started later. Chosen below Linux's ephemeral range (32768+): an
     * ephemeral port free now may be taken by any outgoing connection before the process binds it, which made
     * agents fail with "Address already in use". Bounded tries.
     */
    public static int freePort() throws IOException {
        java.util.concurrent.ThreadLocalRandom rnd = java.util.concurrent.ThreadLocalRandom.current();
        for (int attempt = 0; attempt < 1000; attempt++) {
            int port = rnd.nextInt(PORT_MIN, PORT_MAX);
            if (HANDED_OUT.contains(port)) continue;
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(false);
                s.bind(new java.net.InetSocketAddress("127.0.0.1", port));
            } catch (IOException busy) {
                continue;
            }
            if (HANDED_OUT.add(port)) return port;
        }
        throw new IOException("no free loopback port in " + PORT_MIN + ".." + PORT_MAX + " after 1000 tries");
    }
}
