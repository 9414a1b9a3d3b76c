package io.cardinal.allocator.sched;

import io.cardinal.allocator.model.CardRef;

import java.util.List;
import java.util.Objects;

/**
 * A job holding cards. {@code estimatedEndMillis} is when it is expected to end (start + time limit, stamped by
 * the leader), 0 when unknown.
 */
public record RunningJob(String jobId, String tenant, int priority, long submitOrder, List<CardRef> cards,
                         long estimatedEndMillis) {
    public RunningJob {
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(tenant, "tenant");
        cards = List.copyOf(cards);
    }

    public RunningJob(String jobId, String tenant, int priority, long submitOrder, List<CardRef> cards) {
        this(jobId, tenant, priority, submitOrder, cards, 0);
    }
}
