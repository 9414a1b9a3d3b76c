package io.cardinal.allocator.sched;

import io.cardinal.allocator.Clusters;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.SupernodeRule;
import io.cardinal.allocator.policy.CardinalPolicy;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SchedulerTest {
    private final Scheduler scheduler = new Scheduler(new CardinalPolicy());
    private final Scheduler noPreemption = new Scheduler(new CardinalPolicy(), new Scheduler.Options(1000, false, true, 256));

    static PlacementRequest job(String id, String tenant, int priority, int tasks, int cardsPerTask, long submit) {
        return new PlacementRequest(id, tenant, priority, tasks, cardsPerTask, Set.of(), SupernodeRule.PREFERRED, 0, submit);
    }

    /** Places {@code r} on inv and returns it as a running job. */
    static RunningJob run(Inventory inv, PlacementRequest r) {
        Placement p = Clusters.placed(new CardinalPolicy().place(inv, r));
        inv.allocate(new Holder(r.jobId(), 1), p);
        return new RunningJob(r.jobId(), r.tenant(), r.priority(), r.submitOrder(), p.cards());
    }

    static List<String> kinds(List<SchedulingDecision> ds) {
        List<String> out = new ArrayList<>();
        for (SchedulingDecision d : ds) out.add(d.getClass().getSimpleName() + ":" + d.jobId());
        return out;
    }

    @Test
    void queueOrderIsPriorityThenAge() {
        Inventory inv = Clusters.uniform(1, 1, 8, "A", 0);
        List<PendingJob> pending = List.of(new PendingJob(job("old-low", "t", 0, 1, 8, 1)),
                new PendingJob(job("young-high", "t", 5, 1, 8, 3)), new PendingJob(job("old-high", "t", 5, 1, 8, 2)));
        var ds = scheduler.schedule(new Scheduler.Input(inv, pending, List.of(), Map.of(), 0));
        assertEquals(List.of("Place:old-high", "Wait:young-high", "Wait:old-low"), kinds(ds));
    }

    @Test
    void quotaStopsATenantAndCohortLendsIdleQuota() {
        Inventory inv = Clusters.uniform(1, 4, 8, "A", 0);
        Map<String, TenantQuota> q = Map.of("a", new TenantQuota("a", 8, "c", 8), "b", new TenantQuota("b", 16, "c", 0),
                "solo", new TenantQuota("solo", 8, null, 0));
        List<PendingJob> pending = List.of(new PendingJob(job("a1", "a", 0, 2, 8, 1)), new PendingJob(job("a2", "a", 0, 1, 8, 2)),
                new PendingJob(job("s1", "solo", 0, 2, 8, 3)));
        var ds = scheduler.schedule(new Scheduler.Input(inv, pending, List.of(), q, 0));
        assertEquals(List.of("Place:a1", "Wait:a2", "Wait:s1"), kinds(ds), ds.toString());
        assertTrue(ds.get(1).reason().contains("borrow 16 cards, limit 8"), ds.get(1).reason());
        assertTrue(ds.get(2).reason().contains("quota: tenant solo"), ds.get(2).reason());
    }

    @Test
    void borrowingStopsWhenTheCohortHasNoIdleQuota() {
        Inventory inv = Clusters.uniform(1, 4, 8, "A", 0);
        Map<String, TenantQuota> q = Map.of("a", new TenantQuota("a", 8, "c", 100), "b", new TenantQuota("b", 8, "c", 100));
        RunningJob b = run(inv, job("b1", "b", 0, 1, 8, 0));
        var ds = scheduler.schedule(new Scheduler.Input(inv, List.of(new PendingJob(job("a1", "a", 0, 2, 8, 1))), List.of(b), q, 0));
        assertInstanceOf(SchedulingDecision.Wait.class, ds.get(0));
        assertTrue(ds.get(0).reason().contains("cohort c uses 8 of 16"), ds.get(0).reason());
    }

    @Test
    void preemptionTakesTheFewestLowestYoungestVictims() {
        Inventory inv = Clusters.uniform(1, 4, 8, "A", 0);
        RunningJob p1old = run(inv, job("p1-old", "t", 1, 1, 8, 1));
        RunningJob p1young = run(inv, job("p1-young", "t", 1, 1, 8, 2));
        RunningJob p0 = run(inv, job("p0", "t", 0, 1, 8, 3));
        RunningJob p5 = run(inv, job("p5", "t", 5, 1, 8, 4));
        List<RunningJob> running = List.of(p1old, p1young, p0, p5);
        var ds = scheduler.schedule(new Scheduler.Input(inv, List.of(new PendingJob(job("hi", "t", 3, 2, 8, 9))), running, Map.of(), 0));
        assertEquals(List.of("Preempt:p0", "Preempt:p1-young", "Place:hi"), kinds(ds), ds.toString());
        // Equal priority is never preempted.
        var none = scheduler.schedule(new Scheduler.Input(inv, List.of(new PendingJob(job("eq", "t", 0, 1, 8, 9))), running, Map.of(), 0));
        assertEquals(List.of("Wait:eq"), kinds(none));
    }

    @Test
    void preemptionGivesBackVictimsThatAreNotNeeded() {
        Inventory inv = Clusters.uniform(1, 2, 8, "A", 0);
        RunningJob small = run(inv, job("small", "t", 0, 1, 4, 2)); // youngest, lowest: tried first, but too small alone
        RunningJob big = run(inv, job("big", "t", 1, 1, 8, 1));
        RunningJob rest = run(inv, job("rest", "t", 2, 1, 4, 0));
        var ds = scheduler.schedule(new Scheduler.Input(inv, List.of(new PendingJob(job("hi", "t", 9, 1, 8, 9))),
                List.of(small, big, rest), Map.of(), 0));
        // small (tried first) does not free a whole node; small + big does; then small is given back.
        assertEquals(List.of("Preempt:big", "Place:hi"), kinds(ds), ds.toString());
    }

    @Test
    void borrowingNeverPreempts() {
        Inventory inv = Clusters.uniform(1, 2, 8, "A", 0);
        Map<String, TenantQuota> q = Map.of("a", new TenantQuota("a", 8, "c", 100), "b", new TenantQuota("b", 24, "c", 0));
        RunningJob low = run(inv, job("low", "b", 0, 2, 8, 0));
        var ds = scheduler.schedule(new Scheduler.Input(inv, List.of(new PendingJob(job("a1", "a", 9, 2, 8, 1))), List.of(low), q, 0));
        assertEquals(List.of("Wait:a1"), kinds(ds), ds.toString());
        var ok = scheduler.schedule(new Scheduler.Input(inv, List.of(new PendingJob(job("a2", "a", 9, 1, 8, 1))), List.of(low), q, 0));
        assertEquals(List.of("Preempt:low", "Place:a2"), kinds(ok), ok.toString());
    }

    @Test
    void backfillNeverTakesTheHeadsNodes() {
        Inventory inv = Clusters.uniform(1, 3, 8, "A", 0);
        RunningJob r1 = run(inv, job("r1", "t", 0, 1, 4, 0)); // half of one node
        List<PendingJob> pending = List.of(new PendingJob(job("head", "t", 5, 3, 8, 1)), new PendingJob(job("small", "t", 0, 1, 4, 2)));
        var ds = noPreemption.schedule(new Scheduler.Input(inv, pending, List.of(r1), Map.of(), 0));
        // The head holds all three nodes (it needs them all): the small job must wait.
        assertEquals(List.of("Wait:head", "Wait:small"), kinds(ds), ds.toString());
        assertTrue(ds.get(0).reason().contains("head of the queue"));

        Inventory inv2 = Clusters.uniform(1, 4, 8, "A", 0);
        RunningJob r2 = run(inv2, job("r2", "t", 0, 2, 8, 0));
        RunningJob r3 = run(inv2, job("r3", "t", 0, 1, 4, 0));
        List<PendingJob> p2 = List.of(new PendingJob(job("head", "t", 5, 3, 8, 1)), new PendingJob(job("small", "t", 0, 1, 4, 2)));
        var ds2 = noPreemption.schedule(new Scheduler.Input(inv2, p2, List.of(r2, r3), Map.of(), 0));
        // The head holds the free node and the half-used one, plus one full node; the small job cannot use
        // the held half node. No node is left for it: it waits.
        assertEquals("Wait:small", kinds(ds2).get(1), ds2.toString());
    }

    @Test
    void backfillWithAnEstimateUsesHeldCardsWhenItEndsInTime() {
        Inventory inv = Clusters.uniform(1, 2, 8, "A", 0);
        PlacementRequest r = job("r", "t", 0, 1, 4, 0);
        Placement p = Clusters.placed(new CardinalPolicy().place(inv, r));
        inv.allocate(new Holder("r", 1), p);
        RunningJob running = new RunningJob("r", "t", 0, 0, p.cards(), 10_000);
        List<PendingJob> pending = List.of(new PendingJob(job("head", "t", 5, 2, 8, 1)),
                new PendingJob(job("quick", "t", 0, 1, 4, 2), 5_000), new PendingJob(job("slow", "t", 0, 1, 4, 3), 50_000));
        var ds = noPreemption.schedule(new Scheduler.Input(inv, pending, List.of(running), Map.of(), 1_000));
        assertEquals(List.of("Wait:head", "Place:quick", "Wait:slow"), kinds(ds), ds.toString());
        assertTrue(ds.get(1).reason().contains("backfilled"));
    }

    @Test
    void smallJobsRunInHolesTheHeadDoesNotNeed() {
        Inventory inv = Clusters.uniform(3, 2, 8, "A", 0);
        List<RunningJob> running = new ArrayList<>();
        for (String[] f : new String[][] {{"f0", "sn000-n000"}, {"f1", "sn001-n000"}}) {
            inv.allocate(new Holder(f[0], 1), new Placement(List.of(new io.cardinal.allocator.model.TaskCards(0, f[1], List.of(0, 1, 2, 3, 4, 5, 6, 7)))));
            running.add(new RunningJob(f[0], "t", 9, 0, inv.cardsOf(f[0])));
        }
        inv.allocate(new Holder("f2", 1), new Placement(List.of(new io.cardinal.allocator.model.TaskCards(0, "sn002-n000", List.of(0, 1, 2, 3)))));
        running.add(new RunningJob("f2", "t", 9, 0, inv.cardsOf("f2")));
        PlacementRequest head = new PlacementRequest("head", "t", 5, 2, 8, Set.of(), SupernodeRule.REQUIRED, 0, 1);
        List<PendingJob> pending = List.of(new PendingJob(head), new PendingJob(job("small", "t", 0, 1, 4, 2)),
                new PendingJob(job("small2", "t", 0, 1, 4, 3)), new PendingJob(job("small3", "t", 0, 1, 4, 4)),
                new PendingJob(job("small4", "t", 0, 1, 4, 5)), new PendingJob(job("small5", "t", 0, 1, 4, 6)));
        var ds = scheduler.schedule(new Scheduler.Input(inv, pending, running, Map.of(), 0));
        // The head holds sn002 (the supernode nearest to free); four small jobs fill sn000-n001 and sn001-n001,
        // the fifth would need the held half node of sn002 and waits.
        assertEquals(List.of("Wait:head", "Place:small", "Place:small2", "Place:small3", "Place:small4", "Wait:small5"), kinds(ds), ds.toString());
        for (SchedulingDecision d : ds) {
            if (d instanceof SchedulingDecision.Place p) assertTrue(!p.placement().cards().get(0).nodeId().startsWith("sn002"));
        }
    }

    @Test
    void aTenantWithinItsQuotaReclaimsLentQuotaByPreemption() {
        Inventory inv = Clusters.uniform(1, 4, 8, "A", 0);
        Map<String, TenantQuota> q = Map.of("a", new TenantQuota("a", 16, "c", 0), "b", new TenantQuota("b", 16, "c", 16));
        RunningJob b1 = run(inv, job("b1", "b", 0, 2, 8, 0));
        RunningJob b2 = run(inv, job("b2", "b", 0, 2, 8, 1)); // b borrows 16 of a's idle quota
        var ds = scheduler.schedule(new Scheduler.Input(inv, List.of(new PendingJob(job("a1", "a", 1, 1, 8, 2))), List.of(b1, b2), q, 0));
        assertEquals(List.of("Preempt:b2", "Place:a1"), kinds(ds), ds.toString());
        var same = scheduler.schedule(new Scheduler.Input(inv, List.of(new PendingJob(job("a0", "a", 0, 1, 8, 2))), List.of(b1, b2), q, 0));
        assertEquals(List.of("Wait:a0"), kinds(same), "equal priority: waits");
        assertTrue(same.get(0).reason().contains("lent it out"), same.get(0).reason());
    }

    @Test
    void aJobPreemptsItsOwnTenantsLowerPriorityJobToStayWithinQuota() {
        Inventory inv = Clusters.uniform(1, 4, 8, "A", 0);
        Map<String, TenantQuota> q = Map.of("a", new TenantQuota("a", 16, null, 0));
        RunningJob lowOld = run(inv, job("low-old", "a", 0, 1, 8, 0));
        RunningJob lowYoung = run(inv, job("low-young", "a", 0, 1, 8, 1));
        List<RunningJob> running = List.of(lowOld, lowYoung);
        var ds = scheduler.schedule(new Scheduler.Input(inv, List.of(new PendingJob(job("hi", "a", 5, 1, 8, 2))), running, q, 0));
        // Its quota is full of its own priority-0 jobs; the cluster has room. The youngest of them makes way.
        assertEquals(List.of("Preempt:low-young", "Place:hi"), kinds(ds), ds.toString());
        assertTrue(ds.get(0).reason().contains("priority 0 < 5"), ds.get(0).reason());
    }

    @Test
    void aJobNeverPreemptsItsOwnTenantsJobsOfEqualPriority() {
        Inventory inv = Clusters.uniform(1, 4, 8, "A", 0);
        Map<String, TenantQuota> q = Map.of("a", new TenantQuota("a", 16, null, 0));
        RunningJob same = run(inv, job("same", "a", 5, 2, 8, 0));
        var ds = scheduler.schedule(new Scheduler.Input(inv, List.of(new PendingJob(job("hi", "a", 5, 1, 8, 1))), List.of(same), q, 0));
        assertEquals(List.of("Wait:hi"), kinds(ds), ds.toString());
        assertTrue(ds.get(0).reason().contains("quota: tenant a uses 16 of 16"), ds.get(0).reason());
    }

    @Test
    void aJobNeverPreemptsItsOwnJobsToBorrowBeyondItsQuota() {
        Inventory inv = Clusters.uniform(1, 3, 8, "A", 0);
        // a may borrow up to 100 cards of b's idle quota, but preemption never serves borrowing.
        Map<String, TenantQuota> q = Map.of("a", new TenantQuota("a", 16, "c", 100), "b", new TenantQuota("b", 16, "c", 0));
        RunningJob low = run(inv, job("low", "a", 0, 2, 8, 0));
        // 24 cards: beyond a's own 16 even once "low" stops; it would fit (24 cards, cohort quota 32) only by preempting.
        var ds = scheduler.schedule(new Scheduler.Input(inv, List.of(new PendingJob(job("big", "a", 5, 3, 8, 1))), List.of(low), q, 0));
        assertEquals(List.of("Wait:big"), kinds(ds), ds.toString());
        // 16 cards: the quota would let it borrow, but 8 cards are free; once "low" stops it is within its own quota
        // and fits, so "low" is preempted.
        var ok = scheduler.schedule(new Scheduler.Input(inv, List.of(new PendingJob(job("fits", "a", 5, 2, 8, 1))), List.of(low), q, 0));
        assertEquals(List.of("Preempt:low", "Place:fits"), kinds(ok), ok.toString());
    }

    @Test
    void reclaimTakesBorrowersJobsNeverALendersWithinItsQuota() {
        Inventory inv = Clusters.uniform(1, 6, 8, "A", 0);
        Map<String, TenantQuota> q = Map.of("a", new TenantQuota("a", 16, "c", 0), "b", new TenantQuota("b", 16, "c", 0),
                "d", new TenantQuota("d", 16, "c", 16));
        RunningJob d1 = run(inv, job("d1", "d", 0, 2, 8, 1));
        RunningJob d2 = run(inv, job("d2", "d", 0, 2, 8, 2)); // d borrows a's 16 idle cards
        RunningJob b1 = run(inv, job("b1", "b", 0, 2, 8, 3)); // youngest, but b is within its own quota
        var ds = scheduler.schedule(new Scheduler.Input(inv, List.of(new PendingJob(job("a1", "a", 5, 1, 8, 4))), List.of(d1, d2, b1), q, 0));
        assertEquals(List.of("Preempt:d2", "Place:a1"), kinds(ds), ds.toString());
    }

    /** Runs {@code r} on the given node(s), one task per node, with an estimated end. */
    static RunningJob runOn(Inventory inv, PlacementRequest r, long endMillis, String... nodes) {
        List<io.cardinal.allocator.model.TaskCards> tasks = new ArrayList<>();
        for (String n : nodes) tasks.add(new io.cardinal.allocator.model.TaskCards(tasks.size(), n, List.of(0, 1, 2, 3, 4, 5, 6, 7)));
        Placement p = new Placement(tasks);
        inv.allocate(new Holder(r.jobId(), 1), p);
        return new RunningJob(r.jobId(), r.tenant(), r.priority(), r.submitOrder(), p.cards(), endMillis);
    }

    @Test
    void aPreferredJobWaitsForOneSupernodeOnlyWhileOneFreesUpSoonEnough() {
        Inventory inv = Clusters.uniform(2, 2, 8, "A", 0);
        List<RunningJob> running = List.of(runOn(inv, job("r0", "t", 0, 1, 8, 0), 100_000, "sn000-n000"),
                runOn(inv, job("r1", "t", 0, 1, 8, 1), 100_000, "sn001-n000"));
        // One free node in each supernode; either supernode has room for 2 x 8 at 100 s.
        PlacementRequest pref = job("pref", "t", 0, 2, 8, 2);
        // Runs 1,000 s: waiting 100 s is within 100% of that, so it waits for one supernode.
        var wait = scheduler.schedule(new Scheduler.Input(inv, List.of(new PendingJob(pref, 1_000_000)), running, Map.of(), 0));
        assertEquals(List.of("Wait:pref"), kinds(wait), wait.toString());
        // Runs 90 s: waiting 100 s is beyond 100% of that, so it is spread over the two free nodes now.
        var spread = scheduler.schedule(new Scheduler.Input(inv, List.of(new PendingJob(pref, 90_000)), running, Map.of(), 0));
        assertEquals(List.of("Place:pref"), kinds(spread), spread.toString());
        assertTrue(spread.get(0).reason().contains("spread: no supernode expected to have room for 1 min"), spread.get(0).reason());
        // Without estimates nothing says when a supernode frees up: it waits.
        List<RunningJob> unknown = List.of(new RunningJob("r0", "t", 0, 0, inv.cardsOf("r0")), new RunningJob("r1", "t", 0, 1, inv.cardsOf("r1")));
        var noEstimates = scheduler.schedule(new Scheduler.Input(inv, List.of(new PendingJob(pref, 100_000)), unknown, Map.of(), 0));
        assertEquals(List.of("Wait:pref"), kinds(noEstimates), noEstimates.toString());
    }

    @Test
    void theHeadsHoldCoversItsSupernodesSpares() {
        Inventory inv = Clusters.uniform(1, 4, 8, "A", 0);
        inv.setSpareRule("sn000", new Inventory.SpareRule(8, 0));
        List<RunningJob> running = List.of(runOn(inv, job("r0", "t", 0, 1, 8, 0), 10_000, "sn000-n000"),
                runOn(inv, job("r1", "t", 0, 1, 8, 1), 20_000, "sn000-n001"));
        // Two free nodes, but 8 cards must stay spare: the head (2 x 8) starts when r0 ends at 10 s, so it holds
        // n002, n003 and n000, and a job that ends before 10 s may use a held free node meanwhile.
        PlacementRequest head = new PlacementRequest("head", "t", 5, 2, 8, Set.of(), SupernodeRule.REQUIRED, 0, 2);
        List<PendingJob> pending = List.of(new PendingJob(head, 50_000), new PendingJob(job("quick", "t", 0, 1, 8, 3), 5_000),
                new PendingJob(job("slow", "t", 0, 1, 8, 4), 15_000));
        var ds = noPreemption.schedule(new Scheduler.Input(inv, pending, running, Map.of(), 1_000));
        assertEquals(List.of("Wait:head", "Place:quick", "Wait:slow"), kinds(ds), ds.toString());
        assertTrue(ds.get(0).reason().contains("holds 3 node(s)"), ds.get(0).reason());
    }

    @Test
    void theHeadHoldsTheNodesThatFreeUpLastAmongThoseThatLetItStartEarliest() {
        // n000 is free now, n001 and n002 free up at 10 s, n003 and n004 at 50 s. The head (2 x 8) can start at
        // 10 s either way. Holding the nodes that free up first (n000, n001) leaves nothing for a 100 s job; holding
        // those that free up last (n001, n002) leaves n000 to it, and the head still starts at 10 s.
        PlacementRequest head = new PlacementRequest("head", "t", 5, 2, 8, Set.of(), SupernodeRule.REQUIRED, 0, 5);
        for (boolean latest : new boolean[] {false, true}) {
            Inventory inv = Clusters.uniform(1, 5, 8, "A", 0);
            List<RunningJob> running = List.of(runOn(inv, job("r1", "t", 0, 1, 8, 0), 10_000, "sn000-n001"),
                    runOn(inv, job("r2", "t", 0, 1, 8, 1), 10_000, "sn000-n002"),
                    runOn(inv, job("r3", "t", 0, 1, 8, 2), 50_000, "sn000-n003"),
                    runOn(inv, job("r4", "t", 0, 1, 8, 3), 50_000, "sn000-n004"));
            Scheduler s = new Scheduler(new CardinalPolicy(), new Scheduler.Options(1000, false, true, 256, 50, false, latest));
            List<PendingJob> pending = List.of(new PendingJob(head, 50_000), new PendingJob(job("long", "t", 0, 1, 8, 6), 100_000));
            var ds = s.schedule(new Scheduler.Input(inv, pending, running, Map.of(), 0));
            assertTrue(ds.get(0).reason().contains("holds 2 node(s)"), ds.get(0).reason());
            if (latest) {
                assertEquals(List.of("Wait:head", "Place:long"), kinds(ds), ds.toString());
                assertEquals("sn000-n000", ((SchedulingDecision.Place) ds.get(1)).placement().cards().get(0).nodeId());
            } else {
                assertEquals(List.of("Wait:head", "Wait:long"), kinds(ds), ds.toString());
            }
        }
    }
}
