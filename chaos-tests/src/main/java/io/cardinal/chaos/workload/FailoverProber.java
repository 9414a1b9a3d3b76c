package io.cardinal.chaos.workload;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.chaos.history.History;
import io.cardinal.chaos.history.Http;
import io.cardinal.chaos.history.Op;
import io.cardinal.chaos.host.Backend;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Measures leader failover as the server delivers it, apart from the workload clients' own timeouts and replica
 * avoidance: after each leader kill it writes, round-robin over the surviving replicas, with short timeouts
 * ({@link #CONNECT_TIMEOUT_MILLIS} connect, {@link #REQUEST_TIMEOUT_MILLIS} per request), until one write is
 * acknowledged. Any live replica accepts a write (a follower forwards it to the leader), so the first
 * acknowledgement is the first moment the cluster takes writes again.
 *
 * <p>Sample = completion of the first acknowledged write - the moment just before the nemesis sent SIGKILL
 * (before the backend's kill call, so the backend's own latency counts against the figure). The writes are
 * idempotent: each sets the quota of the prober's own tenant {@link #TENANT}, which no workload job uses, to a new
 * value; they are recorded in the history ({@code f = "probe"}) and checked for durability like every write.
 */
public final class FailoverProber {
    public static final String TENANT = "chaos-probe";
    public static final long CONNECT_TIMEOUT_MILLIS = 300;
    /**
     * Longer than the server's wait for an election (leaderWaitMillis, 3 s): a replica that gets a write during
     * the election holds it until the new leader is ready, so a shorter client timeout would cut off the very write
     * that measures the failover. Every other wait is bounded by the server (a forward to a replaced leader is given
     * up 100 ms after the change).
     */
    public static final long REQUEST_TIMEOUT_MILLIS = 4_000;
    /** A kill after which no write is acknowledged within this bound is reported as unrecovered. */
    public static final long GIVE_UP_MILLIS = 60_000;
    /** Pause between two tries, so a replica that answers 503 at once is not hammered. */
    static final long RETRY_PAUSE_MILLIS = 20;

    private record Kill(String id, long killMs, long deadMs) {
    }

    private final Backend backend;
    private final History history;
    private final Http http = new Http(Duration.ofMillis(REQUEST_TIMEOUT_MILLIS), Duration.ofMillis(CONNECT_TIMEOUT_MILLIS));
    private final BlockingQueue<Kill> kills = new ArrayBlockingQueue<>(1024);
    private final List<Long> samplesMs = Collections.synchronizedList(new ArrayList<>());
    private final List<Long> afterDeathMs = Collections.synchronizedList(new ArrayList<>());
    private final List<String> unrecovered = Collections.synchronizedList(new ArrayList<>());
    private long value;
    private volatile boolean stop;

    public FailoverProber(Backend backend, History history) {
        this.backend = backend;
        this.history = history;
    }

    /**
     * Called by the nemesis once the leader {@code id} is dead: {@code killMs} is when the kill was started,
     * {@code deadMs} when the backend confirmed the process gone (a container kill goes through the Docker API).
     */
    public void leaderKilled(String id, long killMs, long deadMs) {
        pending.incrementAndGet();
        if (!kills.offer(new Kill(id, killMs, deadMs))) {
            pending.decrementAndGet();
            unrecovered.add("kill of " + id + " at " + killMs + ": prober queue full");
        }
    }

    public void stop() {
        stop = true;
    }

    public List<Long> samplesMs() {
        return List.copyOf(samplesMs);
    }

    /** The same kills measured from the backend's confirmation that the leader was dead (a lower bound). */
    public List<Long> afterDeathMs() {
        return List.copyOf(afterDeathMs);
    }

    public List<String> unrecovered() {
        return List.copyOf(unrecovered);
    }

    /** Waits (at most {@code timeoutMillis}) until every queued kill has been probed. */
    public void awaitIdle(long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (pending.get() > 0 && System.currentTimeMillis() < deadline) Thread.sleep(50);
    }

    /** Kills queued or being probed. */
    private final java.util.concurrent.atomic.AtomicInteger pending = new java.util.concurrent.atomic.AtomicInteger();

    /** The prober's thread: one kill at a time, until {@link #stop()}. */
    public void run() {
        while (!stop) {
            Kill k;
            try {
                k = kills.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (k == null) continue;
            try {
                probe(k);
            } finally {
                pending.decrementAndGet();
            }
        }
    }

    private void probe(Kill k) {
        List<String> survivors = new ArrayList<>(backend.ids());
        survivors.remove(k.id());
        long deadline = k.killMs() + GIVE_UP_MILLIS;
        for (int i = 0; System.currentTimeMillis() < deadline; i++) {
            String replica = survivors.get(i % survivors.size());
            long cards = ++value;
            String body = "{\"tenant\":\"" + TENANT + "\",\"cards\":" + cards + "}";
            long invNs = history.nowNs();
            long invMs = System.currentTimeMillis();
            Http.Reply r = http.post(backend.httpAddress(replica), "/v1/quotas", body);
            boolean refused = r.status() == -1 && r.body().path("error").asText().startsWith("java.net.ConnectException");
            String type = r.ok() ? Op.OK : r.definiteFailure() || refused ? Op.FAIL : Op.INFO;
            ObjectNode result = Http.JSON.createObjectNode().put("status", r.status());
            if (r.ok()) result.setAll((ObjectNode) (r.body().isObject() ? r.body() : Http.JSON.createObjectNode()));
            else result.set("error", r.body());
            Op op = history.record("prober", "probe", type, replica, invNs, invMs,
                    Http.JSON.createObjectNode().put("tenant", TENANT).put("cards", cards).put("afterKillOf", k.id()), result);
            if (op.ok()) {
                samplesMs.add(op.completeMs() - k.killMs());
                afterDeathMs.add(op.completeMs() - k.deadMs());
                return;
            }
            if (stop) break;
            Workload.sleep(RETRY_PAUSE_MILLIS);
        }
        unrecovered.add("kill of " + k.id() + " at " + k.killMs() + ": no write acknowledged within "
                + Math.min(GIVE_UP_MILLIS, System.currentTimeMillis() - k.killMs()) + " ms");
    }
}
