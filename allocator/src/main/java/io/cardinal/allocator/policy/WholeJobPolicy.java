package io.cardinal.allocator.policy;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;

import java.util.Set;

/**
 * A baseline policy: one placement rule, used with or without spares, and a failure moves the whole job (as in
 * the schedulers these baselines stand for). Subclasses give the rule.
 */
abstract class WholeJobPolicy implements PlacementPolicy {
    private final String name;
    private final String replaceReason;

    WholeJobPolicy(String name, String replaceReason) {
        this.name = name;
        this.replaceReason = replaceReason;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final Decision place(Inventory inventory, PlacementRequest request) {
        return placeOn(inventory, request, false);
    }

    @Override
    public final Decision placeWithSpares(Inventory inventory, PlacementRequest request) {
        return placeOn(inventory, request, true);
    }

    @Override
    public final Decision replace(Inventory inventory, PlacementRequest request, Placement current, Set<CardRef> lost) {
        return Replacement.full(this, inventory, request, lost, replaceReason);
    }

    /** The placement rule; {@code useSpares} lets it take cards spare rules hold back. */
    abstract Decision placeOn(Inventory inv, PlacementRequest req, boolean useSpares);
}
