package io.cardinal.state;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Guards the property tests against becoming vacuous: fixed-seed histories from the same generator must reach the
 * interesting paths (restarts from checkpoints, failures, drains, lost nodes, stale-term batches, duplicates).
 */
class SimCoverageTest {
    @Test
    void generatedHistoriesReachTheInterestingPaths() {
        Map<String, Integer> events = new TreeMap<>();
        int skipped = 0;
        int duplicates = 0;
        int rejected = 0;
        Random r = new Random(20240601L);
        for (int i = 0; i < 40; i++) {
            Sim s = Sim.run(Sim.randomHistory(r, 80));
            s.eventCounts().forEach((k, v) -> events.merge(k, v, Integer::sum));
            skipped += s.skippedBatches();
            duplicates += s.duplicates();
            rejected += s.rejected();
        }
        System.out.println("coverage: " + events + " skipped=" + skipped + " duplicates=" + duplicates + " rejected=" + rejected);
        for (String kind : new String[]{"JOB_PLACED", "JOB_STARTED", "CHECKPOINT_COMMITTED", "JOB_INTERRUPTED",
                "JOB_RESTARTING", "JOB_SUCCEEDED", "JOB_FAILED", "JOB_CANCELLED", "JOB_WAITING", "NODE_LOST",
                "NODE_DRAINED", "NODE_CORDONED", "NODE_UNCORDONED", "CARD_HEALTH_CHANGED", "QUOTA_SET", "SPARE_RULE_SET"}) {
            assertTrue(events.getOrDefault(kind, 0) >= 5, kind + " seen only " + events.getOrDefault(kind, 0) + " times: " + events);
        }
        assertTrue(skipped >= 5, "stale-term batches skipped: " + skipped);
        assertTrue(duplicates >= 5, "duplicate submits: " + duplicates);
        assertTrue(rejected >= 5, "refused commands: " + rejected);
        assertTrue(events.getOrDefault("JOB_PLACED_LENT", 0) == 0, "lent placement with lending off: " + events);
    }

    /** With lending on, the generated histories place jobs lent and evict them, so the lending property means something. */
    @Test
    void withSpareLendingGeneratedHistoriesLendAndEvict() {
        Map<String, Integer> events = new TreeMap<>();
        Random r = new Random(20240601L);
        for (int i = 0; i < 40; i++) {
            Sim.run(Sim.randomHistory(r, 80), true).eventCounts().forEach((k, v) -> events.merge(k, v, Integer::sum));
        }
        System.out.println("lending coverage: " + events);
        assertTrue(events.getOrDefault("JOB_PLACED_LENT", 0) >= 5, "lent placements: " + events);
        assertTrue(events.getOrDefault("LENT_EVICTED", 0) >= 1, "lent jobs evicted: " + events);
    }
}
