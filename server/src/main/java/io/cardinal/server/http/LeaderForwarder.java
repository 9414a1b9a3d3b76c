package io.cardinal.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.cardinal.consensus.Replica;
import io.cardinal.server.http.Api.Request;
import io.cardinal.state.query.Views;

import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Carries a write that reached a replica whose controller is not running to the replica that leads, through an
 * election if one is under way.
 *
 * <ul>
 *   <li>No leader known yet (an election), or this replica was just elected and its controller is not started: wait
 *   up to {@code leaderWaitMillis} (server config) for a ready leader, then forward to it or run the write here. Nothing was sent,
 *   so waiting is safe, and the client sees one slow answer instead of a 503 per try.</li>
 *   <li>While a forward is out, the leader it went to is watched: once this replica sees another leader (or none: its
 *   election timeout fired), the forward is given up with a 503 that says the outcome is unknown. A leader killed
 *   with kill -9 behind a pooled connection never answers (a dead host sends no RST), and without the watch the
 *   client would wait the whole {@link Api#WRITE_TIMEOUT_MILLIS} for a write the new leader could take at once.</li>
 *   <li>Answers that prove the write was not run anywhere (the target refused to connect, or was not the leader
 *   either) are retried, against the same deadline. Anything else (a reset, a timeout) may have been run, and is
 *   passed on as unknown: retrying it could run a cancel twice.</li>
 * </ul>
 */
final class LeaderForwarder {
    /** Header on a forwarded request; a forwarded request is never forwarded again. */
    static final String FORWARDED = "X-Cardinal-Forwarded";
    /** How often the wait and the watch look at Raft's idea of the leader (a field read). */
    static final long LEADER_POLL_MILLIS = 20;
    /**
     * After the leader changes, how long a forward still out may take to settle before it is given up: a refused
     * connect (the request never left) takes milliseconds and is retried; one still pending after this may be a
     * request on a connection to a host that will never answer.
     */
    static final long SETTLE_MILLIS = 100;
    /**
     * Replica-to-replica connects are inside one cluster network: a connect that takes longer means the peer is
     * gone (a dead host sends no RST).
     */
    static final long PEER_CONNECT_TIMEOUT_MILLIS = 500;

    private final Replica replica;
    private final Function<String, String> httpAddressOf;
    private final long requestTimeoutMillis;
    private final long leaderWaitMillis;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(PEER_CONNECT_TIMEOUT_MILLIS)).build();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "api-leader-watch");
        t.setDaemon(true);
        return t;
    });

    /**
     * {@code httpAddressOf}: a member id to its HTTP address (null when unknown); {@code leaderWaitMillis}: how long
     * a write waits for an election to end (two maximum election timeouts, a split vote, plus the first commit).
     */
    LeaderForwarder(Replica replica, Function<String, String> httpAddressOf, long requestTimeoutMillis, long leaderWaitMillis) {
        this.replica = replica;
        this.httpAddressOf = httpAddressOf;
        this.requestTimeoutMillis = requestTimeoutMillis;
        this.leaderWaitMillis = leaderWaitMillis;
    }

    /**
     * The answer to {@code r}, which this replica cannot run now: from the leader, or from {@code local} if this
     * replica becomes a ready leader within the wait, or a 503 that says why.
     */
    CompletableFuture<Response> forward(Request r, Supplier<CompletableFuture<Response>> local) {
        if (!r.header(FORWARDED).isEmpty()) {
            // The replica that sent it here thought this one led; "not_leader" tells it nothing was run.
            String leader = replica.leaderId();
            return CompletableFuture.completedFuture(Response.error("not_leader", "replica " + replica.id()
                    + " is not the leader either (leader: " + (leader == null ? "unknown" : leader) + "); retry shortly"));
        }
        return attempt(r, local, System.currentTimeMillis() + leaderWaitMillis);
    }

    private CompletableFuture<Response> attempt(Request r, Supplier<CompletableFuture<Response>> local, long deadlineMs) {
        String leader = replica.leaderId();
        boolean here = replica.id().equals(leader);
        if (here && replica.controller().ready()) return local.get();
        if (leader == null || here) {
            String why = leader == null ? "no leader is known (an election is in progress, or no majority of replicas is up)"
                    : "this replica was just elected and its controller is not started yet";
            return later(r, local, deadlineMs, why);
        }
        String address = httpAddressOf.apply(leader);
        if (address == null) return later(r, local, deadlineMs, "leader " + leader + " has no known HTTP address");
        CompletableFuture<HttpResponse<byte[]>> sent = http.sendAsync(request(r, address), HttpResponse.BodyHandlers.ofByteArray());
        CompletableFuture<Response> out = new CompletableFuture<>();
        watch(sent, leader, out, 0);
        sent.whenComplete((resp, ex) -> {
            if (out.isDone()) return;
            if (ex != null) {
                Throwable cause = ex.getCause() != null ? ex.getCause() : ex;
                String why = "cannot reach leader " + leader + " at " + address + ": " + cause;
                if (notDelivered(cause)) {
                    later(r, local, deadlineMs, why).whenComplete((x, e2) -> complete(out, x, e2));
                } else {
                    out.complete(Response.error("unavailable", why + "; the outcome is unknown: retry with the same Idempotency-Key"));
                }
                return;
            }
            if (resp.statusCode() == 503 && "not_leader".equals(errorCode(resp.body()))) {
                later(r, local, deadlineMs, "leader " + leader + " answered that it is not the leader")
                        .whenComplete((x, e2) -> complete(out, x, e2));
                return;
            }
            out.complete(new Response(resp.statusCode(), resp.headers().firstValue("Content-Type").orElse("application/json"), resp.body()));
        });
        return out;
    }

    /** Tries again after a poll interval, or gives up with {@code why} once the deadline has passed. */
    private CompletableFuture<Response> later(Request r, Supplier<CompletableFuture<Response>> local, long deadlineMs, String why) {
        if (System.currentTimeMillis() + LEADER_POLL_MILLIS > deadlineMs) {
            return CompletableFuture.completedFuture(Response.error("unavailable", why + " (waited " + leaderWaitMillis
                    + " ms for a leader; the write was not run); retry shortly"));
        }
        CompletableFuture<Response> out = new CompletableFuture<>();
        timer.schedule(() -> {
            try {
                attempt(r, local, deadlineMs).whenComplete((x, e) -> complete(out, x, e));
            } catch (RuntimeException e) { // e.g. the local handler's validation: the caller turns it into an answer
                out.completeExceptionally(e);
            }
        }, LEADER_POLL_MILLIS, TimeUnit.MILLISECONDS);
        return out;
    }

    /**
     * Gives the forward up with an "outcome unknown" 503 once Raft here has named another leader (or none) for
     * {@link #SETTLE_MILLIS}: a forward whose connect is refused in that time was not delivered and is retried by the
     * send's own completion instead. Bounded: it stops when the forward completes, which its request timeout
     * guarantees.
     */
    private void watch(CompletableFuture<HttpResponse<byte[]>> sent, String leader, CompletableFuture<Response> out, long changedAtMs) {
        timer.schedule(() -> {
            if (out.isDone() || sent.isDone()) return;
            String now = replica.leaderId();
            long changed = leader.equals(now) ? 0 : changedAtMs > 0 ? changedAtMs : System.currentTimeMillis();
            if (changed > 0 && System.currentTimeMillis() - changed >= SETTLE_MILLIS) {
                if (out.complete(Response.error("unavailable", "leader " + leader + " lost the leadership (now: "
                        + (now == null ? "an election" : now) + ") while the write was with it; the outcome is unknown: "
                        + "retry with the same Idempotency-Key"))) {
                    sent.cancel(true);
                }
                return;
            }
            watch(sent, leader, out, changed);
        }, LEADER_POLL_MILLIS, TimeUnit.MILLISECONDS);
    }

    private HttpRequest request(Request r, String address) {
        String query = r.query().isEmpty() ? "" : "?" + encodeQuery(r.query());
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + address + r.path() + query))
                .timeout(Duration.ofMillis(requestTimeoutMillis))
                .method(r.method(), HttpRequest.BodyPublishers.ofByteArray(r.body()))
                .header("Content-Type", "application/json").header(FORWARDED, replica.id());
        for (String h : List.of("Idempotency-Key", "X-Cardinal-Actor")) {
            if (!r.header(h).isEmpty()) b.header(h, r.header(h));
        }
        return b.build();
    }

    /** True when the request cannot have reached the peer's HTTP handler: the connect itself failed. */
    static boolean notDelivered(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof HttpConnectTimeoutException || c instanceof ConnectException) return true;
        }
        return false;
    }

    private static String errorCode(byte[] body) {
        try {
            JsonNode n = Views.JSON.readTree(body);
            return n.path("error").path("code").asText("");
        } catch (java.io.IOException | RuntimeException e) {
            return "";
        }
    }

    private static void complete(CompletableFuture<Response> out, Response x, Throwable e) {
        if (e != null) out.completeExceptionally(e);
        else out.complete(x);
    }

    static String encodeQuery(Map<String, List<String>> q) {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, List<String>> e : q.entrySet()) {
            for (String v : e.getValue()) {
                if (sb.length() > 0) sb.append('&');
                sb.append(java.net.URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8)).append('=')
                        .append(java.net.URLEncoder.encode(v, StandardCharsets.UTF_8));
            }
        }
        return sb.toString();
    }
}
