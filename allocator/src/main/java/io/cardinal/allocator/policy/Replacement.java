package io.cardinal.allocator.policy;

import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.PlacementRequest;

/** Shared replacement fallbacks. */
final class Replacement {
    private Replacement() {
    }

    /**
     * Frees the job's cards on a copy and places it again from scratch (spares allowed). O(cards) for the copy:
     * only the slow path.
     */
    static Decision full(PlacementPolicy policy, Inventory inventory, PlacementRequest request,
                         java.util.Set<io.cardinal.allocator.model.CardRef> lost, String why) {
        Inventory view = inventory.copy();
        view.release(request.jobId());
        for (io.cardinal.allocator.model.CardRef c : lost) if (view.hasNode(c.nodeId())) view.setCardHealthy(c, false);
        Decision d = policy.placeWithSpares(view, request);
        if (d instanceof Decision.Placed p) return new Decision.Placed(p.placement(), "full re-placement (" + why + "): " + p.reason());
        return new Decision.NotPlaced("cannot re-place job " + request.jobId() + ", it waits: " + d.reason());
    }
}
