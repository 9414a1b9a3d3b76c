package io.cardinal.allocator.policy;

import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.SupernodeRule;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;

/**
 * Volcano HyperNode tiers: tier 1 is a supernode, tier 2 its innermost tier (rack), and so on out to the cluster.
 * The job goes to the lowest tier that has a hypernode able to hold it; among those the most allocated hypernode
 * (binpack), and inside it the most allocated nodes first, whatever supernode they are in. No spares, and a failure
 * moves the whole job.
 */
public final class VolcanoTierPolicy extends WholeJobPolicy {
    public static final String NAME = "volcano-tier";

    public VolcanoTierPolicy() {
        super(NAME, "volcano-tier reschedules the whole job");
    }

    @Override
    Decision placeOn(Inventory inv, PlacementRequest req, boolean useSpares) {
        View v = new View(inv, req, useSpares);
        int maxDepth = 0;
        for (int s = 0; s < v.supernodes; s++) maxDepth = Math.max(maxDepth, inv.tiersAt(s).size());
        int topTier = req.rule() == SupernodeRule.REQUIRED ? 1 : maxDepth + 2;
        for (int tier = 1; tier <= topTier; tier++) {
            TreeMap<String, List<Integer>> hypernodes = new TreeMap<>();
            for (int s = 0; s < v.supernodes; s++) hypernodes.computeIfAbsent(key(inv, s, tier), x -> new ArrayList<>()).add(s);
            // Candidates that can hold the job, most allocated first.
            List<List<Integer>> candidates = new ArrayList<>();
            for (List<Integer> members : hypernodes.values()) {
                long cap = 0;
                for (int s : members) cap += v.capacityTasks[s];
                if (cap >= v.tasks) candidates.add(members);
            }
            candidates.sort((a, b) -> {
                int c = Double.compare(allocatedShare(inv, b), allocatedShare(inv, a));
                return c != 0 ? c : Integer.compare(a.get(0), b.get(0));
            });
            for (List<Integer> members : candidates) {
                View w = new View(inv, req, useSpares);
                View.Plan plan = binpack(w, members);
                if (plan.tasks == w.tasks && plan.supernodesUsed() <= w.cap()) {
                    return new Decision.Placed(new Placement(w.materialize(plan)),
                            "tier " + tier + " hypernode " + (tier == 1 ? inv.supernodeIdAt(members.get(0)) : key(inv, members.get(0), tier))
                                    + ", binpack over " + plan.supernodesUsed() + " supernode(s)");
                }
            }
        }
        return new Decision.NotPlaced(v.whyNot("no hypernode can hold " + req.tasks() + " x " + req.cardsPerTask()
                + Policies.models(req) + (req.rule() == SupernodeRule.REQUIRED ? " in one supernode" : "")));
    }

    private static View.Plan binpack(View w, List<Integer> members) {
        int c = w.cardsPerTask;
        List<long[]> nodes = new ArrayList<>();
        for (int s : members) {
            for (int k = 0; k < w.usable(s).length; k++) {
                if (w.usable(s)[k] < c) continue;
                long freeShare = (long) w.usable(s)[k] * 1_000_000L / Math.max(1, w.inv.nodeCardsAt(s, k));
                nodes.add(new long[] {freeShare, s, k});
            }
        }
        long[][] arr = nodes.toArray(new long[0][]);
        Arrays.sort(arr, (a, b) -> {
            for (int i = 0; i < 3; i++) if (a[i] != b[i]) return Long.compare(a[i], b[i]);
            return 0;
        });
        View.Plan plan = new View.Plan();
        for (long[] n : arr) {
            if (plan.tasks == w.tasks) break;
            w.take(plan, (int) n[1], new int[] {(int) n[2]}, w.tasks - plan.tasks);
        }
        return plan;
    }

    private static double allocatedShare(Inventory inv, List<Integer> members) {
        long total = 0;
        long usable = 0;
        for (int s : members) {
            total += inv.totalCardsAt(s);
            usable += inv.usableCardsAt(s);
        }
        return total == 0 ? 0 : (double) (total - usable) / total;
    }

    /** The hypernode of supernode s at a tier: 1 = itself, 2 = innermost tier path, ..., last = the cluster. */
    private static String key(Inventory inv, int s, int tier) {
        if (tier == 1) return "sn:" + inv.supernodeIdAt(s);
        List<String> tiers = inv.tiersAt(s);
        int keep = Math.max(0, tiers.size() - (tier - 2));
        return "t:" + String.join("/", tiers.subList(0, keep));
    }
}
