package io.cardinal.allocator.model;

import java.util.Objects;

/** Who holds a card: a job and the attempt number, which is the fencing token. */
public record Holder(String jobId, long attempt) {
    public Holder {
        Objects.requireNonNull(jobId, "jobId");
        if (attempt < 1) throw new IllegalArgumentException("attempt must be >= 1, got " + attempt);
    }
}
