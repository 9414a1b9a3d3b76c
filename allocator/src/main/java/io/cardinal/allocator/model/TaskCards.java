package io.cardinal.allocator.model;

import java.util.List;
import java.util.Objects;

/** The cards of one task; a task never spans nodes. */
public record TaskCards(int task, String nodeId, List<Integer> cardIndices) {
    public TaskCards {
        Objects.requireNonNull(nodeId, "nodeId");
        cardIndices = List.copyOf(cardIndices);
        if (task < 0) throw new IllegalArgumentException("task must be >= 0");
    }
}
