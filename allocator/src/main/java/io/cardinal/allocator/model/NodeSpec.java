package io.cardinal.allocator.model;

import java.util.List;
import java.util.Objects;

/**
 * A node (one agent) in a supernode. {@code tiers} are optional domains above the supernode, outermost
 * first (for example {@code ["pod-1", "rack-3"]}).
 */
public record NodeSpec(String nodeId, String supernodeId, List<String> tiers, List<CardSpec> cards) {
    public NodeSpec {
        Objects.requireNonNull(nodeId, "nodeId");
        Objects.requireNonNull(supernodeId, "supernodeId");
        tiers = List.copyOf(tiers);
        for (String t : tiers) {
            // An empty name would make the tier domain of every such supernode the cluster's, counted twice.
            if (t.isBlank()) throw new IllegalArgumentException("node " + nodeId + ": tier names must not be empty, got " + tiers);
        }
        cards = List.copyOf(cards);
        for (int i = 0; i < cards.size(); i++) {
            if (cards.get(i).index() != i) {
                throw new IllegalArgumentException("node " + nodeId + ": card indices must be 0..n-1 in order, card "
                        + i + " has index " + cards.get(i).index());
            }
        }
    }
}
