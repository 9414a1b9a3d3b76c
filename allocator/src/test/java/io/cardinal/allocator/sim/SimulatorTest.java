package io.cardinal.allocator.sim;

import io.cardinal.allocator.Clusters;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.SupernodeRule;
import io.cardinal.allocator.policy.Policies;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Tiny workloads whose utilization, delays and ETTR are worked out by hand below. */
class SimulatorTest {
    private static final Simulator.Config CFG = new Simulator.Config(600_000, 60_000, 600_000, true, 100);

    static SimJob job(String id, long submitS, long durationS, int tasks, int perTask) {
        return new SimJob(id, submitS * 1000, durationS * 1000, tasks, perTask, Set.of(), 0, "t", SupernodeRule.PREFERRED, 0);
    }

    static Workload workload(Inventory inv, List<SimJob> jobs, List<Workload.Failure> failures) {
        return new Workload("tiny", inv, jobs, failures, 0, 1, List.of());
    }

    @Test
    void twoNodeJobsThenOneTwoNodeJob() {
        // 16 cards. A and B (8 cards each) run 0..10 s: 100%. C (16 cards) waits 10 s, runs 10..20 s: 100%.
        // Utilization 100%; delays 0, 0, 10 s -> p50 0 s, p99 10 s (nearest rank of 3 values).
        Inventory inv = Clusters.uniform(1, 2, 8, "A", 0);
        Workload w = workload(inv, List.of(job("A", 0, 10, 1, 8), job("B", 0, 10, 1, 8), job("C", 0, 10, 2, 8)), List.of());
        for (String p : Policies.NAMES) {
            Simulator.Result r = Simulator.run(w, Policies.byName(p), false, CFG, 1, 8);
            assertEquals(1.0, r.utilizationMean(), 1e-9, p);
            assertEquals(0.0, r.delayP50Seconds(), 1e-9, p);
            assertEquals(10.0, r.delayP99Seconds(), 1e-9, p);
            assertEquals(3, r.finished(), p);
            assertEquals(20.0 / 3600, r.makespanHours(), 1e-9, p);
            assertEquals(1.0, r.ettr(), 1e-9, p);
            assertEquals(1.0, r.placedInOneShare(), 1e-9, p);
        }
    }

    @Test
    void aWholeClusterJobWaitsBehindASmallOne() {
        // D (4 cards) runs 0..10 s: 4/16 = 25%. E (16 cards) waits until 10 s, runs 10..30 s: 100%.
        // Mean utilization = (0.25 x 10 + 1.0 x 20) / 30 = 0.75. While E waits (0..10 s) utilization is 25%.
        Inventory inv = Clusters.uniform(1, 2, 8, "A", 0);
        Workload w = workload(inv, List.of(job("D", 0, 10, 1, 4), job("E", 0, 20, 2, 8)), List.of());
        Simulator.Result r = Simulator.run(w, Policies.byName("cardinal"), false, CFG, 2, 8);
        assertEquals(0.75, r.utilizationMean(), 1e-9);
        assertEquals(0.25, r.utilizationSaturated(), 1e-9);
        assertEquals(10.0 / 3600, r.saturatedHours(), 1e-9);
        assertEquals(10.0, r.delayP99Seconds(), 1e-9);
        // Stranded while E waits: 12 free cards, the median request 2 x 8 needs two whole nodes, one node is whole:
        // 12 cards stranded of 16.
        assertEquals(12.0 / 16, r.strandedShare(), 1e-9);
    }

    @Test
    void transientFailureLosesWorkSinceTheCheckpointAndPaysALocalRestart() {
        // One 8-card job of 3,600 s, checkpoints every 600 s. A transient fault at 1,500 s: 1,200 s saved, 300 s
        // lost, 60 s restart; it ends at 1,500 + 60 + 2,400 = 3,960 s. ETTR = 3,600 / 3,960.
        Inventory inv = Clusters.uniform(1, 1, 8, "A", 0);
        Workload w = workload(inv, List.of(job("J", 0, 3600, 1, 8)), List.of(new Workload.Failure(1_500_000, "sn000-n000", 3, false)));
        Simulator.Result r = Simulator.run(w, Policies.byName("first-fit"), false, CFG, 1, 8);
        assertEquals(3600.0 / 3960, r.ettr(), 1e-9);
        assertEquals(1, r.replacements().transientRestarts());
    }

    @Test
    void lostCardOnASpareBackedSupernodeIsReplacedLocallyByCardinalAndFullyByBaselines() {
        // Two supernodes of 2 nodes; spare rule 8 cards on each. Job J (8 cards) loses a card at 1,000 s.
        // Cardinal: the spare node of the same supernode, restart 60 s: ends 1,000 + 60 + (3,600 - 600) = 4,060 s.
        // First-fit (no spares kept): the whole job moves, restart 600 s: ends 1,000 + 600 + 3,000 = 4,600 s.
        Inventory inv = Clusters.uniform(2, 2, 8, "A", 0);
        List<SimJob> jobs = List.of(job("J", 0, 3600, 1, 8));
        Workload w = new Workload("tiny", inv, jobs, List.of(new Workload.Failure(1_000_000, "sn000-n000", 0, true)), 8, 1, List.of());
        Simulator.Result c = Simulator.run(w, Policies.byName("cardinal"), true, CFG, 1, 8);
        assertEquals(1, c.replacements().sameSupernode());
        assertEquals(3600.0 / 4060, c.ettr(), 1e-9);
        Simulator.Result f = Simulator.run(w, Policies.byName("first-fit"), false, CFG, 1, 8);
        assertEquals(1, f.replacements().fullReplacement());
        assertEquals(3600.0 / 4600, f.ettr(), 1e-9);
    }

    @Test
    void aLentSpareNodeRunsAWaitingJobUntilAReplacementEvictsIt() {
        // One supernode of 3 nodes x 8 cards, 8 spare cards. A (2 x 8) and B (1 x 8) arrive at 0, 3,600 s each.
        // A card of A fails for good at 1,000 s. Checkpoints every 600 s; restart 60 s local, 600 s full.
        Inventory inv = Clusters.uniform(1, 3, 8, "A", 0);
        List<SimJob> jobs = List.of(job("A", 0, 3600, 2, 8), job("B", 0, 3600, 1, 8));
        List<Workload.Failure> failure = List.of(new Workload.Failure(1_000_000, "sn000-n000", 0, true));
        Workload w = new Workload("tiny", inv, jobs, failure, 8, 1, List.of());

        // Lending: A takes n000 + n001, B is lent the spare node n002 at 0 (all 24 cards busy). At 1,000 s A's
        // replacement needs a node of its supernode: B is evicted (it saved 600 s of its 1,000, loses 400 s) and A
        // moves its task to n002: A ends 1,000 + 60 + (3,600 - 600) = 4,060 s. B cannot run meanwhile (n000 has 7
        // good cards); it starts again at 4,060 s, pays the 600 s full restart and runs its last 3,000 s: ends 7,660 s.
        // Utilization: (24 x 1,000 + 16 x 3,060 + 8 x 3,600) / (24 x 7,660) = 101,760 / 183,840.
        // ETTR: (16 + 8) x 3,600 / (16 x 4,060 + 8 x 7,660) = 86,400 / 126,240. Delays: both started at 0.
        Simulator.Result lent = Simulator.run(w, Policies.byName("cardinal"), true, CFG.withLendSpares(true), 1, 8);
        assertEquals(1, lent.lentPlacements());
        assertEquals(1, lent.lentEvictions());
        assertEquals(1, lent.replacements().sameSupernode());
        assertEquals(101_760.0 / 183_840, lent.utilizationMean(), 1e-9);
        assertEquals(7660.0 / 3600, lent.makespanHours(), 1e-9);
        assertEquals(86_400.0 / 126_240, lent.ettr(), 1e-9);
        assertEquals(0.0, lent.delayP99Seconds(), 1e-9);

        // Without lending: B waits for A (the spare node stays free and takes A's task at 1,000 s); B runs
        // 4,060..7,660 s with no restart. Utilization (16 x 4,060 + 8 x 3,600) / (24 x 7,660) = 93,760 / 183,840;
        // ETTR 86,400 / 93,760; B waited 4,060 s.
        Simulator.Result off = Simulator.run(w, Policies.byName("cardinal"), true, CFG, 1, 8);
        assertEquals(0, off.lentPlacements());
        assertEquals(0, off.lentEvictions());
        assertEquals(1, off.replacements().sameSupernode());
        assertEquals(93_760.0 / 183_840, off.utilizationMean(), 1e-9);
        assertEquals(86_400.0 / 93_760, off.ettr(), 1e-9);
        assertEquals(4060.0, off.delayP99Seconds(), 1e-9);

        // No failure: B runs on the lent node 0..3,600 s next to A, nobody is evicted: 100% for 3,600 s (without
        // lending: (16 x 3,600 + 8 x 3,600) / (24 x 7,200) = 50%).
        Workload calm = new Workload("tiny", inv, jobs, List.of(), 8, 1, List.of());
        Simulator.Result calmLent = Simulator.run(calm, Policies.byName("cardinal"), true, CFG.withLendSpares(true), 1, 8);
        assertEquals(1.0, calmLent.utilizationMean(), 1e-9);
        assertEquals(1.0, calmLent.makespanHours(), 1e-9);
        assertEquals(0, calmLent.lentEvictions());
        assertEquals(0.5, Simulator.run(calm, Policies.byName("cardinal"), true, CFG, 1, 8).utilizationMean(), 1e-9);
    }

    @Test
    void sameSeedSameResult() {
        SyntheticWorkload.Params p = new SyntheticWorkload.Params(7, 2048, 384, 72, 0.25, 60, 1.2, true, 0);
        Workload a = SyntheticWorkload.generate(p);
        Workload b = SyntheticWorkload.generate(p);
        assertEquals(a.jobs(), b.jobs());
        assertEquals(a.failures(), b.failures());
        Simulator.Result ra = Simulator.run(a, Policies.byName("cardinal"), true, CFG, 4, 8);
        Simulator.Result rb = Simulator.run(b, Policies.byName("cardinal"), true, CFG, 4, 8);
        assertEquals(ra.utilizationMean(), rb.utilizationMean());
        assertEquals(ra.replacements(), rb.replacements());
    }
}
