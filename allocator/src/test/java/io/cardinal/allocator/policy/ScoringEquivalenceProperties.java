package io.cardinal.allocator.policy;

import io.cardinal.allocator.Clusters;
import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.PlacementRequest;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Cardinal scores candidate supernodes from the inventory's histograms; scoring them by planning on their nodes
 * (as before the histograms) must give byte-for-byte the same decisions, for several typical requests, with and
 * without spares. jqwik prints the failing seed.
 */
class ScoringEquivalenceProperties {

    @Property(tries = 300, seed = "20261123")
    void histogramScoringDecidesAsNodeScoring(@ForAll long seed) {
        Random rnd = new Random(seed);
        Inventory inv = Clusters.randomState(rnd);
        CardinalPolicy[][] pairs = {
                {new CardinalPolicy(), new CardinalPolicy().scoringFromNodes()},
                {new CardinalPolicy(2, 4), new CardinalPolicy(2, 4).scoringFromNodes()},
                {new CardinalPolicy(1, 3, false), new CardinalPolicy(1, 3, false).scoringFromNodes()},
        };
        for (int r = 0; r < 20; r++) {
            PlacementRequest req = Clusters.randomGangRequest(rnd, "req" + r);
            for (CardinalPolicy[] pair : pairs) {
                String tag = "seed " + seed + " " + req;
                Decision fast = pair[0].place(inv, req);
                assertEquals(pair[1].place(inv, req), fast, tag);
                assertEquals(pair[1].placeWithSpares(inv, req), pair[0].placeWithSpares(inv, req), tag + " with spares");
            }
        }
    }
}
