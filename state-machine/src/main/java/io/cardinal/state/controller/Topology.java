package io.cardinal.state.controller;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Inventory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@link JobSpecRules} needs of the topology (matching cards per node and each node's supernode, per set of
 * card models), computed once and kept until a node registers: a submit then costs O(nodes), not O(cards).
 * Health and holders do not matter here, so card failures and placements leave it valid. Controller-thread only.
 */
final class Topology {
    /** At most this many model sets are remembered; beyond, the cache starts over. */
    static final int MAX_MODEL_SETS = 256;

    record Counts(int[] matching, int[] supernodeOf, int supernodes) {
    }

    private final Map<List<String>, Counts> bySet = new HashMap<>();

    void invalidate() {
        bySet.clear();
    }

    Counts counts(Inventory inv, List<String> models) {
        Counts c = bySet.get(models);
        if (c != null) return c;
        if (bySet.size() >= MAX_MODEL_SETS) bySet.clear();
        List<String> nodes = inv.nodeIds();
        Map<String, Integer> supernodeIndex = new HashMap<>();
        int[] matching = new int[nodes.size()];
        int[] supernodeOf = new int[nodes.size()];
        for (int n = 0; n < nodes.size(); n++) {
            String nodeId = nodes.get(n);
            supernodeOf[n] = supernodeIndex.computeIfAbsent(inv.nodeView(nodeId).supernodeId(), k -> supernodeIndex.size());
            int count = inv.cardCount(nodeId);
            for (int i = 0; i < count; i++) {
                if (models.isEmpty() || models.contains(inv.model(new CardRef(nodeId, i)))) matching[n]++;
            }
        }
        c = new Counts(matching, supernodeOf, supernodeIndex.size());
        bySet.put(List.copyOf(models), c);
        return c;
    }
}
