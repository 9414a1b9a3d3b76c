package io.cardinal.bench;

import com.fasterxml.jackson.databind.JsonNode;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The background canceller of the placement workload (not measured). For every acknowledged job it reads the job
 * on the leader ({@code GET /v1/jobs/ID?stale=true}: the leader replies only after applying, so its own state shows
 * the placement) and counts it as placed or not, then cancels it so its 64 cards are free again, and finally gives
 * the job's slot back to {@link Slots}. {@code workers} jobs are handled at a time; every loop is bounded.
 */
final class PlacedJobReaper implements AutoCloseable {
    private record Item(String jobId, Slots slots) {
    }

    private static final int CANCEL_ATTEMPTS = 3;

    private final CardinalTarget target;
    private final String leader;
    private final LinkedBlockingQueue<Item> queue = new LinkedBlockingQueue<>();
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicLong placed = new AtomicLong();
    private final AtomicLong notPlaced = new AtomicLong();
    private final AtomicLong cancelled = new AtomicLong();
    private final AtomicLong cancelFailures = new AtomicLong();
    private final AtomicLong busy = new AtomicLong();
    private final Map<String, Long> notPlacedStates = new TreeMap<>();
    private volatile String firstProblem;
    private volatile boolean running = true;

    PlacedJobReaper(CardinalTarget target, String leader, int workers) {
        this.target = target;
        this.leader = leader;
        for (int i = 0; i < workers; i++) {
            Thread t = new Thread(this::work, "reaper-" + i);
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
    }

    void offer(String jobId, Slots slots) {
        queue.add(new Item(jobId, slots));
    }

    private void work() {
        while (running) {
            Item it;
            try {
                it = queue.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (it == null) continue;
            busy.incrementAndGet();
            try {
                reap(it);
            } finally {
                busy.decrementAndGet();
            }
        }
    }

    private void reap(Item it) {
        try {
            HttpResponse<byte[]> r = target.get(leader, "/v1/jobs/" + it.jobId + "?stale=true").get(30, TimeUnit.SECONDS);
            JsonNode job = CardinalTarget.json(r);
            String state = r.statusCode() == 200 ? job.path("state").asText("?") : "HTTP " + r.statusCode();
            if (state.equals("PLACED") && job.path("placement").size() == 8) {
                placed.incrementAndGet();
            } else {
                notPlaced.incrementAndGet();
                synchronized (notPlacedStates) {
                    notPlacedStates.merge(state, 1L, Long::sum);
                }
                if (firstProblem == null) firstProblem = it.jobId + ": " + CardinalTarget.describe(r);
            }
            for (int attempt = 1; attempt <= CANCEL_ATTEMPTS; attempt++) {
                HttpResponse<byte[]> c = target.post(leader, "/v1/jobs/" + it.jobId + "/cancel",
                        "{\"reason\":\"bench\"}".getBytes(StandardCharsets.UTF_8), null).get(30, TimeUnit.SECONDS);
                if (c.statusCode() == 200) {
                    cancelled.incrementAndGet();
                    it.slots.release();
                    return;
                }
                if (firstProblem == null) firstProblem = "cancel " + it.jobId + ": " + CardinalTarget.describe(c);
                Thread.sleep(50);
            }
            cancelFailures.incrementAndGet(); // the job keeps its cards and its slot: the cluster has one job less room
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            cancelFailures.incrementAndGet();
            if (firstProblem == null) firstProblem = it.jobId + ": " + e;
        }
    }

    /** Waits (bounded) until every offered job was reaped. */
    boolean drain(long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < deadline) {
            if (queue.isEmpty() && busy.get() == 0) return true;
            Thread.sleep(50);
        }
        return false;
    }

    /** Placed, not placed, cancelled and failed cancels since the last call; resets the counters. */
    String takeSummary() {
        String states;
        synchronized (notPlacedStates) {
            states = notPlacedStates.isEmpty() ? "" : " " + notPlacedStates;
            notPlacedStates.clear();
        }
        String s = "placed " + placed.getAndSet(0) + ", not placed " + notPlaced.getAndSet(0) + states + ", cancelled "
                + cancelled.getAndSet(0) + ", cancel failures " + cancelFailures.getAndSet(0)
                + (firstProblem == null ? "" : "; first problem: " + firstProblem);
        firstProblem = null;
        return s;
    }

    long placedSoFar() {
        return placed.get();
    }

    long notPlacedSoFar() {
        return notPlaced.get();
    }

    @Override
    public void close() {
        running = false;
        for (Thread t : threads) t.interrupt();
        for (Thread t : threads) {
            try {
                t.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Room in the cluster counted in jobs: a client takes a slot before it submits, the reaper gives it back once the
     * job is cancelled. So the cluster never holds more jobs than it has room for, and every submit can place.
     */
    static final class Slots implements ClosedLoop.Gate {
        private final ArrayDeque<CompletableFuture<Void>> waiters = new ArrayDeque<>();
        private final Executor executor;
        private int free;

        Slots(int free, Executor executor) {
            this.free = free;
            this.executor = executor;
        }

        @Override
        public CompletableFuture<Void> admit() {
            synchronized (this) {
                if (free > 0) {
                    free--;
                    return CompletableFuture.completedFuture(null);
                }
                CompletableFuture<Void> f = new CompletableFuture<>();
                waiters.add(f);
                return f.orTimeout(60, TimeUnit.SECONDS);
            }
        }

        void release() {
            CompletableFuture<Void> next;
            synchronized (this) {
                next = waiters.poll();
                if (next == null) {
                    free++;
                    return;
                }
            }
            executor.execute(() -> next.complete(null));
        }
    }
}
