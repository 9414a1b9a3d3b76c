package io.cardinal.allocator.policy;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;

import java.util.Set;

/**
 * A placement policy is a pure function of the inventory and the request: the same inputs always give the
 * same decision, with no clock and no randomness. It never mutates the inventory.
 */
public interface PlacementPolicy {
    String name();

    /** Gang placement, all or nothing, out of FREE cards only (never spares). */
    Decision place(Inventory inventory, PlacementRequest request);

    /**
     * New placement for a running job that lost {@code lost} cards. The job's other cards are still held by it
     * in {@code inventory} and may be kept. Spares may be used here. The result names every task of the job;
     * the caller releases the job's cards and allocates the new placement.
     */
    Decision replace(Inventory inventory, PlacementRequest request, Placement current, Set<CardRef> lost);

    /**
     * Gang placement of a PREFERRED job that may be spread over several supernodes now, for a policy that would
     * rather leave it waiting for one ({@link #place} returns NotPlaced then); the scheduler calls it when no
     * supernode is expected to have room soon. Policies that spread PREFERRED jobs anyway need not override it.
     */
    default Decision placeSpread(Inventory inventory, PlacementRequest request) {
        return place(inventory, request);
    }

    /** Gang placement that may also take spare cards (used for a full re-placement after a failure). */
    default Decision placeWithSpares(Inventory inventory, PlacementRequest request) {
        return place(inventory, request);
    }
}
