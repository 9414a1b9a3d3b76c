package io.cardinal.allocator.model;

import java.util.Objects;

/** One card: its node and its index inside that node. */
public record CardRef(String nodeId, int index) implements Comparable<CardRef> {
    public CardRef {
        Objects.requireNonNull(nodeId, "nodeId");
        if (index < 0) throw new IllegalArgumentException("card index must be >= 0, got " + index);
    }

    @Override
    public int compareTo(CardRef o) {
        int c = nodeId.compareTo(o.nodeId);
        return c != 0 ? c : Integer.compare(index, o.index);
    }

    @Override
    public String toString() {
        return nodeId + "/" + index;
    }
}
