package io.cardinal.allocator.policy;

import io.cardinal.allocator.Clusters;
import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.SupernodeRule;
import io.cardinal.allocator.model.TaskCards;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

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

    /**
     * Every candidate's score, not only the winner: big supernodes (up to 150 nodes of 1 to 16 cards, randomly
     * used) so that the histogram replay of the node plan takes many steps over many buckets.
     */
    @Property(tries = 200, seed = "20261123")
    void everySupernodeScoresAsOnItsNodes(@ForAll long seed) {
        Random rnd = new Random(seed);
        Inventory inv = new Inventory();
        int supernodes = 1 + rnd.nextInt(3);
        int job = 0;
        for (int s = 0; s < supernodes; s++) {
            int nodes = 20 + rnd.nextInt(130);
            int cards = rnd.nextBoolean() ? 8 : 0;
            for (int n = 0; n < nodes; n++) {
                String nodeId = "sn" + s + "-n" + String.format("%03d", n);
                inv.upsertNode(Clusters.node("sn" + s, nodeId, List.of(), cards > 0 ? cards : 1 + rnd.nextInt(16), "A"));
                int used = rnd.nextInt(inv.cardCount(nodeId) + 1);
                if (rnd.nextInt(3) == 0 || used == 0) continue;
                List<Integer> idx = new ArrayList<>();
                for (int i = 0; i < used; i++) idx.add(i);
                inv.allocate(new Holder("fill-" + job++, 1), new Placement(List.of(new TaskCards(0, nodeId, idx))));
            }
            if (rnd.nextBoolean()) inv.setSpareRule("sn" + s, new Inventory.SpareRule(rnd.nextInt(16), 0));
        }
        for (int r = 0; r < 30; r++) {
            int cardsPerTask = 1 + rnd.nextInt(rnd.nextBoolean() ? 4 : 16);
            int tasks = 1 + rnd.nextInt(rnd.nextBoolean() ? 8 : 200);
            PlacementRequest req = new PlacementRequest("r" + r, "t", 0, tasks, cardsPerTask, Set.of(), SupernodeRule.ANY, 0, 0);
            CardinalPolicy policy = new CardinalPolicy(1 + rnd.nextInt(3), 1 + rnd.nextInt(16));
            View v = new View(inv, req, rnd.nextBoolean());
            int[] scratch = new int[v.histWidth];
            for (int s = 0; s < v.supernodes; s++) {
                if (v.capacityTasks[s] < v.tasks) continue;
                assertEquals(policy.supernodeKeyFromNodes(v, s, tasks * cardsPerTask), policy.supernodeKey(v, s, tasks * cardsPerTask, scratch),
                        "seed " + seed + " " + req + " supernode " + s);
            }
        }
    }
}
