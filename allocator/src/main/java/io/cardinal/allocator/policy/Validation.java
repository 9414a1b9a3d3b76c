package io.cardinal.allocator.policy;

import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.PlacementRequest;

import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;

/** Requests that can never be placed on this cluster, whatever the load: the reason, or null. */
public final class Validation {
    private Validation() {
    }

    public static String check(Inventory inv, PlacementRequest req) {
        long need = (long) req.tasks() * req.cardsPerTask();
        Set<String> modelsSeen = new HashSet<>();
        long cardsOfModel = 0;
        int nodeCardsMax = 0;
        for (int s = 0; s < inv.supernodeCount(); s++) {
            for (int k = 0; k < inv.nodeCountAt(s); k++) {
                String model = inv.nodeModelAt(s, k);
                int cards = inv.nodeCardsAt(s, k);
                if (model == null) {
                    // mixed node: count its cards of accepted models one by one
                    int accepted = 0;
                    String nodeId = inv.nodeIdAt(s, k);
                    for (int i = 0; i < cards; i++) {
                        String m = inv.model(new io.cardinal.allocator.model.CardRef(nodeId, i));
                        modelsSeen.add(m);
                        if (req.acceptsModel(m)) accepted++;
                    }
                    cardsOfModel += accepted;
                    nodeCardsMax = Math.max(nodeCardsMax, accepted);
                } else {
                    modelsSeen.add(model);
                    if (req.acceptsModel(model)) {
                        cardsOfModel += cards;
                        nodeCardsMax = Math.max(nodeCardsMax, cards);
                    }
                }
            }
        }
        String models = req.cardModels().isEmpty() ? "" : " of model " + String.join("|", new TreeSet<>(req.cardModels()));
        if (!req.cardModels().isEmpty()) {
            Set<String> unknown = new TreeSet<>(req.cardModels());
            unknown.removeAll(modelsSeen);
            if (unknown.size() == req.cardModels().size()) {
                return "unknown card model " + String.join("|", unknown) + " (the cluster has " + new TreeSet<>(modelsSeen) + ")";
            }
        }
        if (need > cardsOfModel) {
            return "request needs " + need + " cards" + models + ", the cluster has " + cardsOfModel;
        }
        if (req.cardsPerTask() > nodeCardsMax) {
            return "a task needs " + req.cardsPerTask() + " cards on one node, the largest node has " + nodeCardsMax + models;
        }
        return null;
    }
}
