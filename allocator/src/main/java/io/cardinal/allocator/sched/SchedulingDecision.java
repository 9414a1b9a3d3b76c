package io.cardinal.allocator.sched;

import io.cardinal.allocator.model.Placement;

import java.util.Objects;

/** One step of a scheduling pass. The controller applies them in list order. */
public sealed interface SchedulingDecision {
    String jobId();

    String reason();

    /**
     * Give the job these cards (after the Preempt decisions listed before it, if any). {@code lent}: the placement
     * takes spare cards lent to it (see {@code policy.SpareLending}); the job must be allocated with the lent mark
     * and is evicted when a replacement needs those cards.
     */
    record Place(String jobId, Placement placement, String reason, boolean lent) implements SchedulingDecision {
        public Place {
            Objects.requireNonNull(jobId);
            Objects.requireNonNull(placement);
            Objects.requireNonNull(reason);
        }

        public Place(String jobId, Placement placement, String reason) {
            this(jobId, placement, reason, false);
        }
    }

    /** Stop {@code jobId} (back to pending) so that {@code forJobId} can be placed. */
    record Preempt(String jobId, String forJobId, String reason) implements SchedulingDecision {
        public Preempt {
            Objects.requireNonNull(jobId);
            Objects.requireNonNull(forJobId);
            Objects.requireNonNull(reason);
        }
    }

    /** The job stays pending; the reason is shown to users. */
    record Wait(String jobId, String reason) implements SchedulingDecision {
        public Wait {
            Objects.requireNonNull(jobId);
            Objects.requireNonNull(reason);
        }
    }
}
