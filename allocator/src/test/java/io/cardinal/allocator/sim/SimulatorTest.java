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
    void aJobSpreadOverSupernodesItCouldAvoidRunsSlowerAndCountsLessUsefulCardTime() {
        // Two supernodes of 2 nodes x 8 cards; node models sn000: A, B and sn001: B, A. X and Y (1 x 8 of model B,
        // 3,600 s) take the two B nodes, one in each supernode. C (2 x 8, any model, PREFERRED, 7,200 s) fits one
        // supernode but only one node is free in each. Spread slowdown 2.
        Inventory inv = new Inventory();
        inv.upsertNode(Clusters.node("sn000", "sn000-n000", List.of(), 8, "A"));
        inv.upsertNode(Clusters.node("sn000", "sn000-n001", List.of(), 8, "B"));
        inv.upsertNode(Clusters.node("sn001", "sn001-n000", List.of(), 8, "B"));
        inv.upsertNode(Clusters.node("sn001", "sn001-n001", List.of(), 8, "A"));
        List<SimJob> jobs = List.of(
                new SimJob("X", 0, 3_600_000, 1, 8, Set.of("B"), 0, "t", SupernodeRule.PREFERRED, 0),
                new SimJob("Y", 0, 3_600_000, 1, 8, Set.of("B"), 0, "t", SupernodeRule.PREFERRED, 0),
                job("C", 0, 7200, 2, 8));
        Simulator.Config slow = new Simulator.Config(600_000, 60_000, 600_000, true, 100, 100, false, false, 2.0);

        // first-fit spreads C at once over the two A nodes: 7,200 s of work take 14,400 s. All 32 cards are busy
        // 0..3,600 s, 16 then until 14,400 s: util (32 x 3,600 + 16 x 10,800) / (32 x 14,400) = 0.625. Useful
        // card-time: X and Y 2 x 8 x 3,600 = 57,600, C 16 / 2 x 14,400 = 115,200: 172,800 / 460,800 = 0.375.
        // ETTR counts interruptions only: nothing was interrupted, 1.0. C was not placed in one supernode: 2 of 3.
        Workload w = workload(inv, jobs, List.of());
        Simulator.Result ff = Simulator.run(w, Policies.byName("first-fit"), false, slow, 1, 8);
        assertEquals(14_400.0 / 3600, ff.makespanHours(), 1e-9);
        assertEquals(0.625, ff.utilizationMean(), 1e-9);
        assertEquals(0.375, ff.usefulBetween(0, 4), 1e-9);
        assertEquals(1.0, ff.ettr(), 1e-9);
        assertEquals(2.0 / 3, ff.placedInOneShare(), 1e-9);
        assertEquals(1, ff.spreadSlowed());

        // Without the slowdown the same placement ends at 7,200 s and every busy card is useful.
        Simulator.Result flat = Simulator.run(w, Policies.byName("first-fit"), false, slow.withSpreadSlowdown(1.0), 1, 8);
        assertEquals(2.0, flat.makespanHours(), 1e-9);
        assertEquals(flat.utilizationMean(), flat.usefulBetween(0, 2), 1e-9);
        assertEquals(0, flat.spreadSlowed());

        // Cardinal waits for one supernode: one is expected in 3,600 s, within 100% of C's 7,200 s (waiting ends it
        // at 10,800 s, spreading at 14,400 s). X and Y 0..3,600 s, C 3,600..10,800 s in one supernode: 16 of 32 cards
        // all along, util = useful = 0.5; C waited 3,600 s.
        Simulator.Result c = Simulator.run(w, Policies.byName("cardinal"), false, slow, 1, 8);
        assertEquals(3.0, c.makespanHours(), 1e-9);
        assertEquals(0.5, c.utilizationMean(), 1e-9);
        assertEquals(0.5, c.usefulBetween(0, 3), 1e-9);
        assertEquals(1.0, c.placedInOneShare(), 1e-9);
        assertEquals(3600.0, c.delayP99Seconds(), 1e-9);
        assertEquals(0, c.spreadSlowed());

        // A transient fault on a card of C (sn000-n000) at 5,000 s under first-fit: 2,500 s of progress, 2,400 s
        // saved (checkpoints every 600 s of progress), 100 s of progress (200 s of wall time) lost; 60 s restart;
        // the last 4,800 s of work take 9,600 s: C ends at 5,000 + 60 + 9,600 = 14,660 s. Useful card-time:
        // 57,600 (X, Y) + 8 x (4,800 + 9,600) = 172,800 of 32 x 14,660. ETTR: productive wall 14,400 of C's 14,660
        // and X's and Y's 3,600: (57,600 + 16 x 14,400) / (57,600 + 16 x 14,660).
        Workload faulty = workload(inv, jobs, List.of(new Workload.Failure(5_000_000, "sn000-n000", 2, false)));
        Simulator.Result t = Simulator.run(faulty, Policies.byName("first-fit"), false, slow, 1, 8);
        assertEquals(14_660.0 / 3600, t.makespanHours(), 1e-9);
        assertEquals(172_800.0 / (32 * 14_660.0), t.usefulBetween(0, 14_660.0 / 3600), 1e-9);
        assertEquals((57_600.0 + 16 * 14_400) / (57_600.0 + 16 * 14_660), t.ettr(), 1e-9);
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
