package io.cardinal.allocator.policy;

import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.SupernodeRule;

/**
 * Slurm {@code topology/block}: a block is a supernode; block levels are aligned groups of 2^l consecutive blocks
 * (id order). The job goes to the smallest level with a group that can hold it, to the group with the fewest
 * free task slots that still fits (best fit), and inside it fills the tightest blocks first, nodes best fit.
 * No spares, and a failure moves the whole job.
 */
public final class SlurmBlockPolicy extends WholeJobPolicy {
    public static final String NAME = "slurm-block";

    public SlurmBlockPolicy() {
        super(NAME, "slurm-block requeues the whole job");
    }

    @Override
    Decision placeOn(Inventory inv, PlacementRequest req, boolean useSpares) {
        View v = new View(inv, req, useSpares);
        int cap = v.cap();
        int maxLevelSize = req.rule() == SupernodeRule.REQUIRED ? 1 : Integer.highestOneBit(Math.max(1, v.supernodes)) * 2;
        for (int size = 1; size <= maxLevelSize; size *= 2) {
            int bestStart = -1;
            long bestFree = Long.MAX_VALUE;
            for (int start = 0; start < v.supernodes; start += size) {
                long free = 0;
                for (int s = start; s < Math.min(v.supernodes, start + size); s++) free += v.capacityTasks[s];
                if (free >= v.tasks && free < bestFree && blocksNeeded(v, start, size) <= cap) {
                    bestFree = free;
                    bestStart = start;
                }
            }
            if (bestStart < 0) continue;
            int start = bestStart;
            int end = Math.min(v.supernodes, start + size);
            int[] blocks = View.sortBy(end - start, i -> v.capacityTasks[start + i]);
            View.Plan plan = new View.Plan();
            for (int b : blocks) {
                int s = start + b;
                if (plan.tasks == v.tasks) break;
                if (v.capacityTasks[s] == 0) continue;
                v.take(plan, s, v.bestFitOrder(s), v.tasks - plan.tasks);
            }
            return new Decision.Placed(new Placement(v.materialize(plan)),
                    "block level " + Integer.numberOfTrailingZeros(size) + ", " + plan.supernodesUsed() + " block(s) from " + inv.supernodeIdAt(start));
        }
        return new Decision.NotPlaced(v.whyNot("no block group can hold " + req.tasks() + " x " + req.cardsPerTask()
                + Policies.models(req) + (req.rule() == SupernodeRule.REQUIRED ? " in one supernode" : "")));
    }

    /** Blocks the tightest-first fill of a group would touch. */
    private static int blocksNeeded(View v, int start, int size) {
        int end = Math.min(v.supernodes, start + size);
        int[] blocks = View.sortBy(end - start, i -> v.capacityTasks[start + i]);
        int left = v.tasks;
        int used = 0;
        for (int b : blocks) {
            if (left <= 0) break;
            int c = v.capacityTasks[start + b];
            if (c == 0) continue;
            left -= c;
            used++;
        }
        return used;
    }
}
