package io.cardinal.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A closed-loop load generator: {@code clients} independent clients, each with exactly one request in flight; a
 * client issues its next request when the previous one completes. Nothing is recorded during the warm-up; then
 * every request that completes inside the measured window is counted and its latency (issue to completion)
 * recorded. After the window the clients stop issuing and the in-flight requests are awaited (bounded).
 */
final class ClosedLoop {
    /** One request of client {@code client}; the future fails (or completes with a non-null error) on failure. */
    interface Op {
        CompletableFuture<String> issue(int client, long seq);
    }

    /**
     * Optional admission before each request (e.g. waiting until the cluster has room for one more job). The wait
     * is not part of the request's latency; a closed-loop client simply issues later.
     */
    interface Gate {
        CompletableFuture<Void> admit();
    }

    /** A cell's figures. {@code errors} counts failed requests inside the window (they are not in ops/s). */
    record Result(int clients, long ok, long errors, double seconds, Latencies latencies, String firstError,
                  List<Double> perSecondOps) {
        double opsPerSecond() {
            return ok / seconds;
        }
    }

    /** A client that fails this many times in a row backs off before retrying. */
    private static final long BACKOFF_MILLIS = 20;
    /** In-flight requests at the end of the window are awaited this long at most. */
    private static final long DRAIN_MILLIS = 30_000;

    private ClosedLoop() {
    }

    static Result run(int clients, Op op, long warmupMillis, long measureMillis, Executor executor) throws InterruptedException {
        return run(clients, op, null, warmupMillis, measureMillis, executor);
    }

    static Result run(int clients, Op op, Gate gate, long warmupMillis, long measureMillis, Executor executor)
            throws InterruptedException {
        if (clients < 1 || clients > 4096) throw new IllegalArgumentException("clients: 1..4096, got " + clients);
        long start = System.nanoTime();
        long windowStart = start + TimeUnit.MILLISECONDS.toNanos(warmupMillis);
        long windowEnd = windowStart + TimeUnit.MILLISECONDS.toNanos(measureMillis);
        int seconds = (int) Math.max(1, (measureMillis + 999) / 1000);
        AtomicLong[] perSecond = new AtomicLong[seconds];
        for (int i = 0; i < seconds; i++) perSecond[i] = new AtomicLong();
        AtomicLong ok = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        AtomicReference<String> firstError = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(clients);
        List<Latencies> recorders = new ArrayList<>();
        for (int c = 0; c < clients; c++) recorders.add(new Latencies());
        for (int c = 0; c < clients; c++) {
            Client client = new Client(c, op, gate, recorders.get(c), executor, windowStart, windowEnd, ok, errors, firstError,
                    perSecond, done);
            executor.execute(client::next);
        }
        long waitMillis = warmupMillis + measureMillis + DRAIN_MILLIS;
        if (!done.await(waitMillis, TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException(done.getCount() + " of " + clients + " clients still had a request in flight "
                    + DRAIN_MILLIS + " ms after the window closed");
        }
        List<Double> ps = new ArrayList<>();
        for (AtomicLong a : perSecond) ps.add((double) a.get());
        return new Result(clients, ok.get(), errors.get(), measureMillis / 1000.0, Latencies.merge(recorders),
                firstError.get(), ps);
    }

    private static final class Client {
        private final int id;
        private final Op op;
        private final Gate gate;
        private final Latencies latencies;
        private final Executor executor;
        private final long windowStart;
        private final long windowEnd;
        private final AtomicLong ok;
        private final AtomicLong errors;
        private final AtomicReference<String> firstError;
        private final AtomicLong[] perSecond;
        private final CountDownLatch done;
        private long seq;

        Client(int id, Op op, Gate gate, Latencies latencies, Executor executor, long windowStart, long windowEnd, AtomicLong ok,
               AtomicLong errors, AtomicReference<String> firstError, AtomicLong[] perSecond, CountDownLatch done) {
            this.id = id;
            this.op = op;
            this.gate = gate;
            this.latencies = latencies;
            this.executor = executor;
            this.windowStart = windowStart;
            this.windowEnd = windowEnd;
            this.ok = ok;
            this.errors = errors;
            this.firstError = firstError;
            this.perSecond = perSecond;
            this.done = done;
        }

        void next() {
            if (System.nanoTime() >= windowEnd) {
                done.countDown();
                return;
            }
            if (gate == null) {
                issue();
            } else {
                gate.admit().whenCompleteAsync((v, ex) -> {
                    if (ex != null) {
                        firstError.compareAndSet(null, "admission: " + ex);
                        done.countDown();
                    } else if (System.nanoTime() >= windowEnd) {
                        done.countDown();
                    } else {
                        issue();
                    }
                }, executor);
            }
        }

        private void issue() {
            long t0 = System.nanoTime();
            CompletableFuture<String> f;
            try {
                f = op.issue(id, seq++);
            } catch (RuntimeException e) {
                f = CompletableFuture.failedFuture(e);
            }
            // Async: a request that completes at once must not grow this thread's stack.
            f.whenCompleteAsync((error, ex) -> {
                long t1 = System.nanoTime();
                String err = ex != null ? String.valueOf(ex.getCause() != null ? ex.getCause() : ex) : error;
                boolean inWindow = t1 >= windowStart && t1 < windowEnd;
                if (err == null) {
                    if (inWindow) {
                        ok.incrementAndGet();
                        latencies.record(t1 - t0);
                        int s = (int) ((t1 - windowStart) / 1_000_000_000L);
                        if (s >= 0 && s < perSecond.length) perSecond[s].incrementAndGet();
                    }
                    next();
                } else {
                    if (inWindow) errors.incrementAndGet();
                    firstError.compareAndSet(null, err);
                    CompletableFuture.delayedExecutor(BACKOFF_MILLIS, TimeUnit.MILLISECONDS, executor).execute(this::next);
                }
            }, executor);
        }
    }
}
