package io.cardinal.state.store;

import io.cardinal.allocator.policy.FirstFitPolicy;
import io.cardinal.protocol.v1.Command;
import io.cardinal.protocol.v1.Event;
import io.cardinal.state.ClusterState;
import io.cardinal.state.InvariantChecker;
import io.cardinal.state.Sim;
import io.cardinal.state.apply.Applier;
import io.cardinal.state.apply.ApplyResult;
import io.cardinal.state.controller.CommandResult;
import io.cardinal.state.controller.Controller;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A random (controller-made, so valid) history written batch by batch into a real RocksDB store: a checkpoint taken
 * at a random point plus the rest of the log gives the same state as the whole log, and {@code load()} reproduces
 * the in-memory state exactly. The seed is the test's parameter.
 */
class SnapshotReplayTest {

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1L, 2L, 3L, 42L, 1234L, 98765L, 20240601L, 7L, 11L, 13L})
    void checkpointPlusLogSuffixEqualsFullLog(long seed, @TempDir Path tmp) throws Exception {
        checkpointPlusLogSuffix(seed, tmp, false);
    }

    /** The same with spare lending on: lent marks survive the store, and restored leaders evict as live ones do. */
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1L, 42L, 20240601L, 777L})
    void withSpareLendingCheckpointPlusLogSuffixEqualsFullLog(long seed, @TempDir Path tmp) throws Exception {
        checkpointPlusLogSuffix(seed, tmp, true);
    }

    private static void checkpointPlusLogSuffix(long seed, Path tmp, boolean lendSpares) throws Exception {
        Random r = new Random(seed);
        Sim sim = Sim.run(Sim.randomHistory(r, 120), lendSpares);
        List<Sim.Entry> log = sim.log();
        assertTrue(log.size() > 10, "history too short to be interesting: " + log.size() + " entries");
        int cut = r.nextInt(log.size() + 1);

        ClusterState full = new ClusterState();
        List<Event> applied = new ArrayList<>();
        String hashAtCut = null;
        try (StateStore store = StateStore.open(tmp.resolve("db"))) {
            for (int i = 0; i < log.size(); i++) {
                if (i == cut) {
                    store.checkpoint(tmp.resolve("cp"));
                    hashAtCut = full.stateHash();
                }
                Sim.Entry e = log.get(i);
                ApplyResult res = Applier.apply(full, e.batch(), e.term(), e.index());
                store.write(full, res);
                applied.addAll(res.events());
                if (i % 17 == 0) assertRoundTrip(full, store);
            }
            if (cut == log.size()) {
                store.checkpoint(tmp.resolve("cp"));
                hashAtCut = full.stateHash();
            }
            assertEquals(sim.replicaA().stateHash(), full.stateHash(), "replay of the log differs from the simulation");
            assertRoundTrip(full, store);
            assertEquals(applied, store.events("", "", 0, StateStore.MAX_EVENTS_PER_QUERY), "stored event log");
        }

        try (StateStore cp = StateStore.open(tmp.resolve("cp"))) {
            ClusterState restored = cp.load();
            assertEquals(hashAtCut, restored.stateHash(), "checkpoint holds the state at entry " + cut);
            assertEquals(cut == 0 ? 0 : log.get(cut - 1).index(), restored.appliedIndex(), "checkpoint's applied index");
            for (int i = cut; i < log.size(); i++) {
                Sim.Entry e = log.get(i);
                cp.write(restored, Applier.apply(restored, e.batch(), e.term(), e.index()));
            }
            assertEquals(full.stateHash(), restored.stateHash(), "checkpoint + suffix vs full log (cut at " + cut + ")");
            assertRoundTrip(full, cp);
            assertEquals(applied, cp.events("", "", 0, StateStore.MAX_EVENTS_PER_QUERY), "event log after suffix");
            assertSameDecisions(full, restored, r, lendSpares);
        }
        try (StateStore reopened = StateStore.open(tmp.resolve("db"))) {
            assertRoundTrip(full, reopened);
        }
    }

    /** A new leader on the restored state decides exactly as one on the state that never left memory. */
    static void assertSameDecisions(ClusterState live, ClusterState restored, Random r, boolean lendSpares) {
        long term = live.appliedTerm() + 1;
        Controller a = new Controller(live, new FirstFitPolicy(), term, lendSpares);
        Controller b = new Controller(restored, new FirstFitPolicy(), term, lendSpares);
        for (int i = 0; i < 60; i++) {
            Command cmd = Sim.commandFor(Sim.randomGenes(r), a.view());
            CommandResult ra = a.handle(cmd, 1_800_000_000_000L + i);
            CommandResult rb = b.handle(cmd, 1_800_000_000_000L + i);
            assertEquals(ra, rb, "decision on " + cmd.getBodyCase() + " differs after restore");
            assertEquals(a.view().stateHash(), b.view().stateHash());
        }
    }

    /** A fresh load() of the store equals the in-memory state: hash, counters, position, and a consistent inventory. */
    static void assertRoundTrip(ClusterState expected, StateStore store) throws Exception {
        ClusterState loaded = store.load();
        assertEquals(expected.stateHash(), loaded.stateHash(), "load() hash at index " + expected.appliedIndex());
        assertEquals(expected.meta(), loaded.meta(), "load() meta");
        assertEquals(expected.jobs(), loaded.jobs());
        assertEquals(expected.nodes(), loaded.nodes());
        InvariantChecker.checkAtRest(loaded);
        for (String job : expected.inventory().holdingJobs()) {
            assertEquals(expected.inventory().cardsOf(job), loaded.inventory().cardsOf(job), "inventory of " + job);
        }
        assertEquals(expected.inventory().holdingJobs(), loaded.inventory().holdingJobs());
        assertEquals(expected.inventory().lentJobs(), loaded.inventory().lentJobs(), "lent jobs");
        for (String sn : expected.inventory().supernodeIds()) {
            assertEquals(expected.inventory().spareRule(sn), loaded.inventory().spareRule(sn), "spare rule of " + sn);
        }
    }
}
