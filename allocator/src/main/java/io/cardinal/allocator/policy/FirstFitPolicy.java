package io.cardinal.allocator.policy;

import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.SupernodeRule;

/**
 * The baseline: walk supernodes and nodes in id order and take the first usable cards that fit each task.
 * It honours the supernode rule, the supernode cap and spare rules, and nothing more.
 */
public final class FirstFitPolicy extends WholeJobPolicy {
    public static final String NAME = "first-fit";

    public FirstFitPolicy() {
        super(NAME, "first-fit moves the whole job");
    }

    @Override
    Decision placeOn(Inventory inv, PlacementRequest req, boolean useSpares) {
        View v = new View(inv, req, useSpares);
        if (req.rule() != SupernodeRule.ANY) {
            for (int s = 0; s < v.supernodes; s++) {
                if (v.capacityTasks[s] >= v.tasks) {
                    View.Plan plan = new View.Plan();
                    v.take(plan, s, v.idOrder(s), v.tasks);
                    return new Decision.Placed(new Placement(v.materialize(plan)), "first fit in supernode " + inv.supernodeIdAt(s));
                }
            }
            if (req.rule() == SupernodeRule.REQUIRED) {
                return new Decision.NotPlaced(v.whyNot("no single supernode has " + req.tasks() + " x "
                        + req.cardsPerTask() + " usable cards" + Policies.models(req)));
            }
        }
        return spanInOrder(v, "first fit");
    }

    /** Fills supernodes in id order, nodes in id order, up to the supernode cap. */
    static Decision spanInOrder(View v, String label) {
        int cap = v.cap();
        View.Plan plan = new View.Plan();
        int used = 0;
        for (int s = 0; s < v.supernodes && plan.tasks < v.tasks && used < cap; s++) {
            if (v.capacityTasks[s] == 0) continue;
            if (v.take(plan, s, v.idOrder(s), v.tasks - plan.tasks) > 0) used++;
        }
        if (plan.tasks == v.tasks) {
            return new Decision.Placed(new Placement(v.materialize(plan)), label + " across " + used + " supernode(s)");
        }
        return new Decision.NotPlaced(v.whyNot("not enough usable cards: need " + v.tasks + " x " + v.cardsPerTask
                + Policies.models(v.req) + (cap != Integer.MAX_VALUE ? " within " + cap + " supernode(s)" : "")));
    }
}
