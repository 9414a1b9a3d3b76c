package io.cardinal.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The percentile math only (nearest rank); the benchmark itself never runs as a test. */
class LatenciesTest {
    @Test
    void nearestRankOnOneToThousandMillis() {
        Latencies l = new Latencies();
        for (int i = 1000; i >= 1; i--) l.record(i * 1_000_000L); // reverse order: percentiles must sort
        assertEquals(500.0, l.percentileMillis(50));
        assertEquals(990.0, l.percentileMillis(99));
        assertEquals(999.0, l.percentileMillis(99.9));
        assertEquals(1000.0, l.percentileMillis(100));
        assertEquals(1.0, l.percentileMillis(0.05));
    }

    @Test
    void smallSamplesAndMerge() {
        Latencies a = new Latencies();
        Latencies b = new Latencies();
        a.record(3_000_000);
        b.record(1_000_000);
        b.record(2_000_000);
        Latencies all = Latencies.merge(List.of(a, b));
        assertEquals(3, all.count());
        assertEquals(2.0, all.percentileMillis(50));
        assertEquals(3.0, all.percentileMillis(99));
        assertEquals(3.0, all.percentileMillis(99.9));
        assertTrue(Double.isNaN(new Latencies().percentileMillis(50)));
        assertThrows(IllegalArgumentException.class, () -> all.percentileMillis(0));
    }
}
