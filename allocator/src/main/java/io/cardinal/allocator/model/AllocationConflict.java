package io.cardinal.allocator.model;

/** An allocation that would break an invariant (a card with two holders, an unusable card, ...). */
public final class AllocationConflict extends RuntimeException {
    public AllocationConflict(String message) {
        super(message);
    }
}
