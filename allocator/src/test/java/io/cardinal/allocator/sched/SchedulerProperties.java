package io.cardinal.allocator.sched;

import io.cardinal.allocator.Clusters;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.policy.Policies;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

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
        Random rnd = new Random(seed);
        Inventory inv = Clusters.random(rnd);
        Map<String, TenantQuota> quotas = new HashMap<>();
        for (int t = 0; t < 3; t++) {
            if (rnd.nextInt(3) > 0) quotas.put("t" + t, new TenantQuota("t" + t, rnd.nextInt(20), rnd.nextBoolean() ? "c" : null, rnd.nextInt(10)));
        }
        String policy = Policies.NAMES.get(rnd.nextInt(Policies.NAMES.size()));
        Scheduler scheduler = new Scheduler(Policies.byName(policy));
        Map<String, RunningJob> running = new HashMap<>();
        Map<String, PlacementRequest> requests = new HashMap<>();
        List<PendingJob> pending = new ArrayList<>();
        for (int round = 0; round < 6; round++) {
            for (int i = 0; i < 4; i++) {
                PlacementRequest r = Clusters.randomRequest(rnd, "j" + round + "-" + i);
                requests.put(r.jobId(), r);
                pending.add(new PendingJob(r));
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
                    assertNull(Clusters.check(inv, r, p.placement(), false), "seed " + seed + " " + policy + ": " + r);
                    inv.allocate(new Holder(r.jobId(), 1), p.placement());
                    running.put(r.jobId(), new RunningJob(r.jobId(), r.tenant(), r.priority(), r.submitOrder(), p.placement().cards()));
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
