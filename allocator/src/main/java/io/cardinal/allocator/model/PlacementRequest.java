package io.cardinal.allocator.model;

import java.util.Objects;
import java.util.Set;

/**
 * A gang request: {@code tasks x cardsPerTask} cards, all or nothing. {@code cardModels} empty means any
 * model. {@code maxSupernodes} 0 means no cap. {@code submitOrder} breaks ties by age (smaller is older).
 */
public record PlacementRequest(String jobId, String tenant, int priority, int tasks, int cardsPerTask,
                               Set<String> cardModels, SupernodeRule rule, int maxSupernodes, long submitOrder) {
    public PlacementRequest {
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(tenant, "tenant");
        Objects.requireNonNull(rule, "rule");
        cardModels = Set.copyOf(cardModels);
        if (tasks < 1) throw new IllegalArgumentException("tasks must be >= 1, got " + tasks);
        if (cardsPerTask < 1) throw new IllegalArgumentException("cardsPerTask must be >= 1, got " + cardsPerTask);
        if (maxSupernodes < 0) throw new IllegalArgumentException("maxSupernodes must be >= 0, got " + maxSupernodes);
    }

    public int totalCards() {
        return tasks * cardsPerTask;
    }

    public boolean acceptsModel(String model) {
        return cardModels.isEmpty() || cardModels.contains(model);
    }
}
