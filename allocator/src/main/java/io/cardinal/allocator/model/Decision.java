package io.cardinal.allocator.model;

import java.util.Objects;

/** The outcome of a placement or replacement: cards, or the reason there are none. */
public sealed interface Decision permits Decision.Placed, Decision.NotPlaced {
    String reason();

    record Placed(Placement placement, String reason) implements Decision {
        public Placed {
            Objects.requireNonNull(placement, "placement");
            Objects.requireNonNull(reason, "reason");
        }
    }

    record NotPlaced(String reason) implements Decision {
        public NotPlaced {
            Objects.requireNonNull(reason, "reason");
        }
    }
}
