package io.cardinal.allocator.policy;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.SupernodeRule;
import io.cardinal.allocator.model.TaskCards;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The baseline: walk supernodes and nodes in id order and take the first usable cards that fit each task.
 * It honours the supernode rule, the supernode cap and spare rules, and nothing more.
 */
public final class FirstFitPolicy implements PlacementPolicy {
    public static final String NAME = "first-fit";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Decision place(Inventory inventory, PlacementRequest request) {
        return placeOn(inventory, request, false);
    }

    @Override
    public Decision replace(Inventory inventory, PlacementRequest request, Placement current, Set<CardRef> lost) {
        // First-fit keeps nothing: it frees the job's cards on a copy and places it again, spares allowed.
        Inventory view = inventory.copy();
        view.release(request.jobId());
        return placeOn(view, request, true);
    }

    static Decision placeOn(Inventory inv, PlacementRequest req, boolean useSpares) {
        if (req.rule() != SupernodeRule.ANY) {
            for (String sn : inv.supernodeIds()) {
                List<TaskCards> tasks = new ArrayList<>();
                if (fill(inv, req, sn, useSpares, tasks) == req.tasks()) {
                    return new Decision.Placed(new Placement(tasks), "first fit in supernode " + sn);
                }
            }
            if (req.rule() == SupernodeRule.REQUIRED) {
                return new Decision.NotPlaced("no single supernode has " + req.tasks() + " x " + req.cardsPerTask()
                        + " usable cards" + models(req));
            }
        }
        int cap = req.maxSupernodes() == 0 ? Integer.MAX_VALUE : req.maxSupernodes();
        List<TaskCards> tasks = new ArrayList<>();
        int used = 0;
        for (String sn : inv.supernodeIds()) {
            if (tasks.size() == req.tasks() || used == cap) break;
            int before = tasks.size();
            fill(inv, req, sn, useSpares, tasks);
            if (tasks.size() > before) used++;
        }
        if (tasks.size() == req.tasks()) {
            return new Decision.Placed(new Placement(tasks), "first fit across " + used + " supernode(s)");
        }
        return new Decision.NotPlaced("not enough usable cards: need " + req.tasks() + " x " + req.cardsPerTask()
                + models(req) + (cap != Integer.MAX_VALUE ? " within " + cap + " supernode(s)" : ""));
    }

    /** Adds tasks from one supernode to {@code tasks}; returns how many tasks the list then has. */
    private static int fill(Inventory inv, PlacementRequest req, String supernodeId, boolean useSpares,
                            List<TaskCards> tasks) {
        int budget = inv.usableCards(supernodeId).size() - (useSpares ? 0 : inv.spareCount(supernodeId));
        for (String nodeId : inv.nodesOf(supernodeId)) {
            List<Integer> free = new ArrayList<>();
            int count = inv.cardCount(nodeId);
            for (int i = 0; i < count && tasks.size() < req.tasks(); i++) {
                CardRef c = new CardRef(nodeId, i);
                if (!inv.usable(c) || !req.acceptsModel(inv.model(c))) continue;
                free.add(i);
                if (free.size() == req.cardsPerTask()) {
                    if (budget < req.cardsPerTask()) return tasks.size();
                    tasks.add(new TaskCards(tasks.size(), nodeId, free));
                    budget -= req.cardsPerTask();
                    free = new ArrayList<>();
                }
            }
            if (tasks.size() == req.tasks()) break;
        }
        return tasks.size();
    }

    private static String models(PlacementRequest req) {
        return req.cardModels().isEmpty() ? "" : " of model " + String.join("|", new java.util.TreeSet<>(req.cardModels()));
    }
}
