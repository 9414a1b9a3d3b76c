package io.cardinal.allocator.sim;

import io.cardinal.allocator.model.Inventory;

import java.util.List;

/**
 * A cluster, the jobs that arrive on it (sorted by submit time, then id) and the card failures that hit it.
 * {@code spareCardsPerSupernode} is applied (for the policies that keep spares) to supernodes of at least
 * {@code spareMinSupernodeCards} cards.
 */
public record Workload(String name, Inventory cluster, List<SimJob> jobs, List<Failure> failures, int spareCardsPerSupernode,
                       int spareMinSupernodeCards, List<String> notes) {
    public Workload {
        jobs = List.copyOf(jobs);
        failures = List.copyOf(failures);
        notes = List.copyOf(notes);
    }

    /**
     * A failure of one card at a time. {@code permanent}: the card is broken (GPU/HBM) and comes back after
     * repair; otherwise the interruption is transient and the job restarts on the same cards.
     */
    public record Failure(long atMillis, String nodeId, int cardIndex, boolean permanent) {
    }
}
