package io.cardinal.allocator.sched;

import io.cardinal.allocator.model.PlacementRequest;

import java.util.Objects;

/**
 * A job waiting for cards. Id, tenant, priority and submit order are those of the request.
 * {@code estimatedRunMillis} is the user's run-time estimate (a time limit), 0 when unknown: only jobs with an
 * estimate may backfill into cards held for the head of the queue, and only when they end before those cards
 * would be needed.
 */
public record PendingJob(PlacementRequest request, long estimatedRunMillis) {
    public PendingJob {
        Objects.requireNonNull(request, "request");
        if (estimatedRunMillis < 0) throw new IllegalArgumentException("estimatedRunMillis must be >= 0");
    }

    public PendingJob(PlacementRequest request) {
        this(request, 0);
    }

    public String jobId() {
        return request.jobId();
    }
}
