package io.cardinal.allocator.sim;

import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.SupernodeRule;

import java.util.Objects;
import java.util.Set;

/** One job of a workload: when it arrives, how long it runs on its cards, and its request. */
public record SimJob(String id, long submitMillis, long durationMillis, int tasks, int cardsPerTask, Set<String> cardModels,
                     int priority, String tenant, SupernodeRule rule, int maxSupernodes) {
    public SimJob {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(tenant, "tenant");
        Objects.requireNonNull(rule, "rule");
        cardModels = Set.copyOf(cardModels);
        if (submitMillis < 0) throw new IllegalArgumentException("job " + id + ": submit time must be >= 0");
        if (durationMillis <= 0) throw new IllegalArgumentException("job " + id + ": duration must be > 0");
        if (tasks < 1 || cardsPerTask < 1) throw new IllegalArgumentException("job " + id + ": tasks and cards per task must be >= 1");
    }

    public int cards() {
        return tasks * cardsPerTask;
    }

    public PlacementRequest request(long submitOrder) {
        return new PlacementRequest(id, tenant, priority, tasks, cardsPerTask, cardModels, rule, maxSupernodes, submitOrder);
    }

    public SimJob withSubmit(long millis) {
        return new SimJob(id, millis, durationMillis, tasks, cardsPerTask, cardModels, priority, tenant, rule, maxSupernodes);
    }
}
