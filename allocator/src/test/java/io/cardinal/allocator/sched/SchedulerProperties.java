package io.cardinal.allocator.sched;

import io.cardinal.allocator.Clusters;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.SupernodeRule;
import io.cardinal.allocator.model.TaskCards;
import io.cardinal.allocator.policy.Policies;
import io.cardinal.allocator.policy.SpareLending;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Scheduling passes on random clusters, jobs and quotas, decisions applied in order: quotas never exceeded (own
 * quota plus what the cohort lends), preemption only of strictly lower priority, placements valid, deterministic.
 */
class SchedulerProperties {

    @Property(tries = 200, seed = "20261123")
    void passesKeepQuotaPriorityAndPlacementRules(@ForAll long seed) {
        run(seed, false);
    }

    /**
     * The same with spare lending on: every rule above still holds, a lent placement takes spare cards (in one
     * supernode unless the job is ANY), normal placements leave the spare count free or covered by lent cards.
     */
    @Property(tries = 200, seed = "20261124")
    void passesWithLendingKeepTheRules(@ForAll long seed) {
        run(seed, true);
    }

    /** Lending on a cluster without spare rules has nothing to lend: the same decisions as lending off. */
    @Property(tries = 100, seed = "20261125")
    void lendingWithoutSparesChangesNothing(@ForAll long seed) {
        Random rnd = new Random(seed);
        Inventory inv = Clusters.random(rnd);
        for (String sn : inv.supernodeIds()) inv.setSpareRule(sn, new Inventory.SpareRule(0, 0));
        List<PendingJob> pending = new ArrayList<>();
        for (int i = 0; i < 12; i++) pending.add(new PendingJob(Clusters.randomRequest(rnd, "j" + i), rnd.nextInt(3) * 60_000L));
        String policy = Policies.NAMES.get(rnd.nextInt(Policies.NAMES.size()));
        Scheduler.Options off = Scheduler.Options.defaults();
        Scheduler.Options on = new Scheduler.Options(off.maxJobsConsidered(), off.preemption(), off.backfill(), off.maxVictimsTried(),
                off.localityWaitPercent(), true);
        Scheduler.Input in = new Scheduler.Input(inv, pending, List.of(), Map.of(), 0);
        assertEquals(new Scheduler(Policies.byName(policy), off).schedule(in), new Scheduler(Policies.byName(policy), on).schedule(in),
                "seed " + seed + " " + policy);
    }

    private static void run(long seed, boolean lending) {
        Random rnd = new Random(seed);
        Inventory inv = Clusters.random(rnd);
        Map<String, TenantQuota> quotas = new HashMap<>();
        for (int t = 0; t < 3; t++) {
            if (rnd.nextInt(3) > 0) quotas.put("t" + t, new TenantQuota("t" + t, rnd.nextInt(20), rnd.nextBoolean() ? "c" : null, rnd.nextInt(10)));
        }
        String policy = Policies.NAMES.get(rnd.nextInt(Policies.NAMES.size()));
        Scheduler.Options o = Scheduler.Options.defaults();
        Scheduler scheduler = new Scheduler(Policies.byName(policy), new Scheduler.Options(o.maxJobsConsidered(), o.preemption(), o.backfill(),
                o.maxVictimsTried(), o.localityWaitPercent(), lending));
        Map<String, RunningJob> running = new HashMap<>();
        Map<String, PlacementRequest> requests = new HashMap<>();
        List<PendingJob> pending = new ArrayList<>();
        for (int round = 0; round < 6; round++) {
            for (int i = 0; i < 4; i++) {
                PlacementRequest r = Clusters.randomRequest(rnd, "j" + round + "-" + i);
                requests.put(r.jobId(), r);
                // With lending, run-time estimates too, so that lent jobs may backfill into the head's hold (EASY).
                pending.add(new PendingJob(r, lending ? (1 + rnd.nextInt(5)) * 60_000L : 0));
            }
            Scheduler.Input in = new Scheduler.Input(inv, pending, new ArrayList<>(running.values()), quotas, 0);
            List<SchedulingDecision> ds = scheduler.schedule(in);
            assertEquals(ds, scheduler.schedule(new Scheduler.Input(inv.copy(), pending, new ArrayList<>(running.values()), quotas, 0)),
                    "seed " + seed + ": not deterministic");
            assertEquals(pending.size(), ds.stream().filter(d -> !(d instanceof SchedulingDecision.Preempt)).count());
            java.util.Set<String> placedAfterPreemption = new java.util.HashSet<>();
            for (SchedulingDecision d : ds) if (d instanceof SchedulingDecision.Preempt p) placedAfterPreemption.add(p.forJobId());
            for (SchedulingDecision d : ds) {
                if (d instanceof SchedulingDecision.Preempt p) {
                    RunningJob victim = running.remove(p.jobId());
                    assertTrue(victim.priority() < requests.get(p.forJobId()).priority(), "seed " + seed + ": " + p);
                    inv.release(p.jobId());
                    pending.add(new PendingJob(requests.get(p.jobId())));
                } else if (d instanceof SchedulingDecision.Place p) {
                    PlacementRequest r = requests.get(p.jobId());
                    assertTrue(lending || !p.lent(), "seed " + seed + ": lent placement with lending off");
                    assertNull(Clusters.check(inv, r, p.placement(), p.lent()), "seed " + seed + " " + policy + ": " + r);
                    if (p.lent()) {
                        int fromSpares = SpareLending.spareCardsTaken(inv, p.placement()).values().stream().mapToInt(Integer::intValue).sum();
                        assertTrue(fromSpares > 0, "seed " + seed + ": lent placement takes no spare card: " + p);
                        Set<String> sns = new HashSet<>();
                        for (TaskCards t : p.placement().tasks()) sns.add(inv.nodeView(t.nodeId()).supernodeId());
                        assertTrue(r.rule() == SupernodeRule.ANY || sns.size() == 1, "seed " + seed + ": lent " + r.rule() + " job spans " + sns);
                    }
                    inv.allocate(new Holder(r.jobId(), 1), p.placement(), p.lent());
                    if (!p.lent()) {
                        for (TaskCards t : p.placement().tasks()) {
                            String sn = inv.nodeView(t.nodeId()).supernodeId();
                            assertTrue(inv.usableCardCount(sn) + inv.lentCardCount(sn) >= inv.spareCount(sn),
                                    "seed " + seed + ": normal placement took spare cards of " + sn);
                        }
                    }
                    running.put(r.jobId(), new RunningJob(r.jobId(), r.tenant(), r.priority(), r.submitOrder(), p.placement().cards(),
                            lending ? (1 + rnd.nextInt(10)) * 60_000L : 0));
                    pending.removeIf(x -> x.jobId().equals(r.jobId()));
                    // Preemption never serves borrowing: a job placed after preemptions is within its own quota.
                    TenantQuota tq = quotas.get(r.tenant());
                    if (tq != null && placedAfterPreemption.contains(r.jobId())) {
                        long used = running.values().stream().filter(x -> x.tenant().equals(r.tenant())).mapToLong(x -> x.cards().size()).sum();
                        assertTrue(used <= tq.cards(), "seed " + seed + ": " + r.jobId() + " preempted to borrow: tenant "
                                + r.tenant() + " uses " + used + " of " + tq.cards());
                    }
                }
            }
            checkQuotas(seed, quotas, running);
            // Some jobs end.
            for (String id : new ArrayList<>(new java.util.TreeSet<>(running.keySet()))) {
                if (rnd.nextInt(3) == 0) {
                    inv.release(id);
                    running.remove(id);
                }
            }
        }
    }

    private static void checkQuotas(long seed, Map<String, TenantQuota> quotas, Map<String, RunningJob> running) {
        Map<String, Long> used = new HashMap<>();
        for (RunningJob r : running.values()) used.merge(r.tenant(), (long) r.cards().size(), Long::sum);
        long cohortQuota = 0;
        long cohortUsed = 0;
        for (TenantQuota q : quotas.values()) {
            long u = used.getOrDefault(q.tenant(), 0L);
            long allowed = q.cards() + (q.cohort() == null ? 0 : q.borrowLimitCards());
            assertTrue(u <= allowed, "seed " + seed + ": tenant " + q.tenant() + " uses " + u + " > " + allowed);
            if (q.cohort() != null) {
                cohortQuota += q.cards();
                cohortUsed += u;
            }
        }
        assertTrue(cohortUsed <= cohortQuota || noBorrower(quotas, used), "seed " + seed + ": cohort over quota");
    }

    /** A cohort can be over its total only when no member borrows (impossible: then each is within its own). */
    private static boolean noBorrower(Map<String, TenantQuota> quotas, Map<String, Long> used) {
        return false;
    }
}
