package io.cardinal.allocator.model;

import java.util.Objects;

/** A card as a node reports it. */
public record CardSpec(int index, String model, long memoryMib, boolean healthy) {
    public CardSpec {
        Objects.requireNonNull(model, "model");
        if (index < 0) throw new IllegalArgumentException("card index must be >= 0, got " + index);
    }
}
