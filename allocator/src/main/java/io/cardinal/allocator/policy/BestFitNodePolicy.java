package io.cardinal.allocator.policy;

import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.SupernodeRule;

import java.util.Arrays;

/**
 * Node-level best fit, blind to supernodes (as a plain Kubernetes "most allocated" scorer): every task goes to
 * the node with the fewest usable cards that still holds it, anywhere in the cluster. A REQUIRED job is kept in
 * the first supernode (id order) that can hold it; a result that breaks the supernode cap falls back to first fit.
 */
public final class BestFitNodePolicy extends WholeJobPolicy {
    public static final String NAME = "best-fit-node";

    public BestFitNodePolicy() {
        super(NAME, "best-fit-node moves the whole job");
    }

    @Override
    Decision placeOn(Inventory inv, PlacementRequest req, boolean useSpares) {
        View v = new View(inv, req, useSpares);
        int c = v.cardsPerTask;
        if (req.rule() == SupernodeRule.REQUIRED) {
            for (int s = 0; s < v.supernodes; s++) {
                if (v.capacityTasks[s] >= v.tasks) {
                    View.Plan plan = new View.Plan();
                    v.take(plan, s, v.bestFitOrder(s), v.tasks);
                    return new Decision.Placed(new Placement(v.materialize(plan)), "best-fit nodes in supernode " + inv.supernodeIdAt(s));
                }
            }
            return new Decision.NotPlaced(v.whyNot("no single supernode has " + req.tasks() + " x " + c + " usable cards" + Policies.models(req)));
        }
        if (v.capacityTotal() < v.tasks) {
            return new Decision.NotPlaced(v.whyNot("not enough usable cards: need " + v.tasks + " x " + c + Policies.models(req)));
        }
        // Every node that can hold a task, fewest usable cards first; key packs (usable, supernode, node).
        int n = 0;
        // A supernode that can hold no task has no node that can (capacity counts them), so its nodes need no read.
        for (int s = 0; s < v.supernodes; s++) {
            if (v.capacityTasks[s] > 0) for (int u : v.usable(s)) if (u >= c) n++;
        }
        long[] keys = new long[n];
        int i = 0;
        for (int s = 0; s < v.supernodes; s++) {
            if (v.capacityTasks[s] == 0) continue;
            int[] u = v.usable(s);
            for (int k = 0; k < u.length; k++) {
                if (u[k] >= c) keys[i++] = ((long) u[k] << 40) | ((long) s << 20) | k;
            }
        }
        Arrays.sort(keys);
        View.Plan plan = new View.Plan();
        for (long key : keys) {
            if (plan.tasks == v.tasks) break;
            int s = (int) ((key >>> 20) & 0xFFFFF);
            int k = (int) (key & 0xFFFFF);
            v.take(plan, s, new int[] {k}, v.tasks - plan.tasks);
        }
        if (plan.tasks == v.tasks && plan.supernodesUsed() <= v.cap()) {
            return new Decision.Placed(new Placement(v.materialize(plan)), "best-fit nodes across " + plan.supernodesUsed() + " supernode(s)");
        }
        return FirstFitPolicy.spanInOrder(new View(inv, req, useSpares), "best-fit-node over cap, first fit");
    }
}
