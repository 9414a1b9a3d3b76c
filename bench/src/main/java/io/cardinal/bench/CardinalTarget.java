package io.cardinal.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cardinal.chaos.harness.LocalCluster;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Cardinal's real client path: HTTP/1.1 + JSON to {@code POST /v1/jobs} with an Idempotency-Key, through the JDK's
 * asynchronous {@link HttpClient} (one connection per in-flight request, kept alive).
 */
final class CardinalTarget {
    static final ObjectMapper JSON = new ObjectMapper();
    /** Writes that take longer fail the request (the server itself answers 503 after 15 s). */
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(20);

    final LocalCluster cluster;
    private final HttpClient http;

    CardinalTarget(LocalCluster cluster, ExecutorService executor) {
        this.cluster = cluster;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(executor)
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    /** Completes with the reply, or fails on a transport error. */
    CompletableFuture<HttpResponse<byte[]>> post(String replica, String path, byte[] body, String idempotencyKey) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + cluster.httpAddress(replica) + path))
                .timeout(REQUEST_TIMEOUT).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (idempotencyKey != null) b.header("Idempotency-Key", idempotencyKey);
        return http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    CompletableFuture<HttpResponse<byte[]>> get(String replica, String path) {
        return http.sendAsync(HttpRequest.newBuilder(URI.create("http://" + cluster.httpAddress(replica) + path))
                .timeout(REQUEST_TIMEOUT).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    static JsonNode json(HttpResponse<byte[]> r) {
        try {
            return JSON.readTree(r.body());
        } catch (IOException e) {
            return JSON.createObjectNode().put("unparsable", new String(r.body(), StandardCharsets.UTF_8));
        }
    }

    static String describe(HttpResponse<byte[]> r) {
        String body = new String(r.body(), StandardCharsets.UTF_8);
        return "HTTP " + r.statusCode() + " " + (body.length() > 300 ? body.substring(0, 300) + "..." : body);
    }

    /**
     * The leader's own timer of a command kind (controller queue + decision + Raft commit + apply, as the API sees
     * it): {count, sumSeconds} of {@code cardinal_commands_seconds{kind=..., outcome="ok"}} from {@code /metrics}.
     */
    double[] commandTimer(String replica, String kind) {
        double count = 0;
        double sum = 0;
        try {
            HttpResponse<byte[]> r = get(replica, "/metrics").get(10, TimeUnit.SECONDS);
            for (String line : new String(r.body(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.startsWith("cardinal_commands_seconds_") || !line.contains("kind=\"" + kind + "\"")
                        || !line.contains("outcome=\"ok\"")) continue;
                double v = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                if (line.startsWith("cardinal_commands_seconds_count")) count += v;
                else if (line.startsWith("cardinal_commands_seconds_sum")) sum += v;
            }
        } catch (Exception e) {
            return new double[]{Double.NaN, Double.NaN};
        }
        return new double[]{count, sum};
    }

    /** The value of a counter without labels from {@code /metrics} on {@code replica} (NaN if absent). */
    double counter(String replica, String name) {
        try {
            HttpResponse<byte[]> r = get(replica, "/metrics").get(10, TimeUnit.SECONDS);
            for (String line : new String(r.body(), StandardCharsets.UTF_8).split("\n")) {
                if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                    return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
        } catch (Exception e) {
            return Double.NaN;
        }
        return Double.NaN;
    }

    /** Mean server-side milliseconds between two {@link #commandTimer} readings. */
    static String serverMean(double[] before, double[] after) {
        double n = after[0] - before[0];
        if (!(n > 0)) return "server-side mean: n/a";
        return String.format(java.util.Locale.ROOT, "server-side mean over the cell incl. warm-up (leader's timer, %d commands): %.2f ms", (long) n,
                (after[1] - before[1]) / n * 1000);
    }

    /** The job counts by state from {@code GET /v1/status} on {@code replica} (its {@code counts} object). */
    JsonNode counts(String replica) {
        LocalCluster.Reply r = cluster.get(replica, "/v1/status");
        return r.body().path("counts");
    }

    /**
     * Registers {@code supernodes x nodesPerSupernode} nodes of {@code cardsPerNode} cards, {@code concurrency} at a
     * time; returns how many were registered. Fails on the first refusal.
     */
    int registerNodes(String leader, int supernodes, int nodesPerSupernode, int cardsPerNode, String model, int concurrency)
            throws InterruptedException {
        Semaphore inFlight = new Semaphore(concurrency);
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (int s = 0; s < supernodes; s++) {
            for (int n = 0; n < nodesPerSupernode; n++) {
                String sn = String.format("sn%04d", s);
                String node = String.format("%s-n%02d", sn, n);
                byte[] body = ("{\"nodeId\":\"" + node + "\",\"supernodeId\":\"" + sn + "\",\"cardCount\":" + cardsPerNode
                        + ",\"cardModel\":\"" + model + "\",\"cardMemoryMib\":81920}").getBytes(StandardCharsets.UTF_8);
                if (!inFlight.tryAcquire(60, TimeUnit.SECONDS)) throw new IllegalStateException("node registration stalled");
                all.add(post(leader, "/v1/nodes", body, "register-" + node).handle((r, ex) -> {
                    inFlight.release();
                    if (ex != null) throw new IllegalStateException("registering " + node + ": " + ex, ex);
                    if (r.statusCode() != 200) throw new IllegalStateException("registering " + node + ": " + describe(r));
                    return null;
                }));
            }
        }
        CompletableFuture.allOf(all.toArray(new CompletableFuture[0])).orTimeout(300, TimeUnit.SECONDS).join();
        return all.size();
    }

    /** A {@link ClosedLoop.Op} body: status {@code okStatus} is success; anything else is the error text. */
    static Function<HttpResponse<byte[]>, String> expect(int okStatus) {
        return r -> r.statusCode() == okStatus ? null : describe(r);
    }
}
