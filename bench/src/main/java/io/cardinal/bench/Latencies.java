package io.cardinal.bench;

import java.util.Arrays;

/**
 * Latency samples in nanoseconds, kept whole (no buckets) and sorted once for exact nearest-rank percentiles.
 * One instance per client: a closed-loop client records from one chain of completions at a time, so no lock is
 * needed; {@link #merge} combines them after the cell has ended. Capacity is bounded.
 */
final class Latencies {
    /** Beyond this many samples an instance stops recording (and counts what it dropped). */
    static final int MAX_SAMPLES = 16_000_000;

    private long[] nanos = new long[1024];
    private int size;
    private long dropped;
    private boolean sorted = true;

    void record(long latencyNanos) {
        if (size == nanos.length) {
            if (size >= MAX_SAMPLES) {
                dropped++;
                return;
            }
            nanos = Arrays.copyOf(nanos, Math.min(MAX_SAMPLES, size * 2));
        }
        nanos[size++] = latencyNanos;
        sorted = false;
    }

    int count() {
        return size;
    }

    long dropped() {
        return dropped;
    }

    static Latencies merge(Iterable<Latencies> parts) {
        Latencies all = new Latencies();
        int total = 0;
        long dropped = 0;
        for (Latencies p : parts) {
            total += p.size;
            dropped += p.dropped;
        }
        all.nanos = new long[Math.max(1, total)];
        for (Latencies p : parts) {
            System.arraycopy(p.nanos, 0, all.nanos, all.size, p.size);
            all.size += p.size;
        }
        all.dropped = dropped;
        all.sorted = false;
        return all;
    }

    /**
     * The nearest-rank percentile: the smallest sample such that at least {@code percent}% of the samples are
     * at or below it. {@code percent} in (0, 100]; NaN when there are no samples.
     */
    double percentileMillis(double percent) {
        if (percent <= 0 || percent > 100) throw new IllegalArgumentException("percent must be in (0, 100]: " + percent);
        if (size == 0) return Double.NaN;
        if (!sorted) {
            Arrays.sort(nanos, 0, size);
            sorted = true;
        }
        // 1-based; the epsilon keeps 99.9% of 1000 at rank 999 despite binary floating point
        long rank = (long) Math.ceil(percent * size / 100.0 - 1e-9);
        int index = (int) Math.max(0, Math.min(size - 1, rank - 1));
        return nanos[index] / 1e6;
    }
}
