package io.cardinal.allocator.policy;

import io.cardinal.allocator.model.PlacementRequest;

import java.util.List;
import java.util.TreeSet;

/** The registry of placement policies by name. */
public final class Policies {
    /** Every policy, baselines first, in the order reports list them. */
    public static final List<String> NAMES = List.of(FirstFitPolicy.NAME, BestFitNodePolicy.NAME, SlurmBlockPolicy.NAME,
            VolcanoTierPolicy.NAME, CardinalPolicy.NAME);

    private Policies() {
    }

    /** The policy of that name; throws IllegalArgumentException naming the known ones. */
    public static PlacementPolicy byName(String name) {
        return switch (name) {
            case FirstFitPolicy.NAME -> new FirstFitPolicy();
            case BestFitNodePolicy.NAME -> new BestFitNodePolicy();
            case SlurmBlockPolicy.NAME -> new SlurmBlockPolicy();
            case VolcanoTierPolicy.NAME -> new VolcanoTierPolicy();
            case CardinalPolicy.NAME -> new CardinalPolicy();
            default -> throw new IllegalArgumentException("unknown policy '" + name + "', known: " + String.join(", ", NAMES));
        };
    }

    static String models(PlacementRequest req) {
        return req.cardModels().isEmpty() ? "" : " of model " + String.join("|", new TreeSet<>(req.cardModels()));
    }
}
