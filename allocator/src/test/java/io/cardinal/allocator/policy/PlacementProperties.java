package io.cardinal.allocator.policy;

import io.cardinal.allocator.Clusters;
import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Every policy, on random clusters and request sequences: gang all or nothing, only usable non-spare cards, the
 * topology rule, one owner per card (Inventory.allocate would throw), determinism, and sane replacements.
 * jqwik prints the failing seed; the run itself is seeded so failures reproduce.
 */
class PlacementProperties {

    @Property(tries = 200, seed = "20261123")
    void policiesKeepTheInvariants(@ForAll long seed) {
        for (String name : Policies.NAMES) runScenario(Policies.byName(name), seed);
    }

    private static void runScenario(PlacementPolicy policy, long seed) {
        Random rnd = new Random(seed);
        Inventory inv = Clusters.random(rnd);
        Map<String, PlacementRequest> running = new HashMap<>();
        for (int step = 0; step < 25; step++) {
            String tag = policy.name() + " seed " + seed + " step " + step;
            int action = rnd.nextInt(10);
            if (action < 6) {
                PlacementRequest req = Clusters.randomRequest(rnd, "j" + step);
                int before = inv.allocatedCards();
                Decision d = policy.place(inv, req);
                Decision again = policy.place(inv.copy(), req);
                assertEquals(d, again, tag + ": not deterministic");
                assertEquals(before, inv.allocatedCards(), tag + ": place mutated the inventory");
                if (d instanceof Decision.Placed p) {
                    assertNull(Clusters.check(inv, req, p.placement(), false), tag + ": " + req);
                    inv.allocate(new Holder(req.jobId(), 1), p.placement());
                    running.put(req.jobId(), req);
                }
            } else if (action < 8 && !running.isEmpty()) {
                List<String> ids = new ArrayList<>(new java.util.TreeSet<>(running.keySet()));
                String job = ids.get(rnd.nextInt(ids.size()));
                PlacementRequest req = running.get(job);
                List<CardRef> cards = inv.cardsOf(job);
                CardRef failed = cards.get(rnd.nextInt(cards.size()));
                inv.setCardHealthy(failed, false);
                Placement current = rebuild(inv, req, cards);
                Decision d = policy.replace(inv, req, current, Set.of(failed));
                assertEquals(d, policy.replace(inv.copy(), req, current, Set.of(failed)), tag + ": replace not deterministic");
                inv.release(job);
                if (d instanceof Decision.Placed p) {
                    // After release, the kept cards are usable again: check against the released state.
                    assertNull(Clusters.check(inv, req, p.placement(), true), tag + ": replace " + req);
                    for (CardRef c : p.placement().cards()) {
                        if (c.equals(failed)) throw new AssertionError(tag + ": replacement kept the failed card");
                    }
                    inv.allocate(new Holder(job, 2), p.placement());
                } else {
                    running.remove(job);
                }
            } else if (!running.isEmpty()) {
                String job = new java.util.TreeSet<>(running.keySet()).first();
                inv.release(job);
                running.remove(job);
            }
        }
    }

    /** The placement a job holds, tasks cut from its card list in order. */
    static Placement rebuild(Inventory inv, PlacementRequest req, List<CardRef> cards) {
        List<io.cardinal.allocator.model.TaskCards> tasks = new ArrayList<>();
        for (int t = 0; t < req.tasks(); t++) {
            List<Integer> idx = new ArrayList<>();
            String node = cards.get(t * req.cardsPerTask()).nodeId();
            for (int i = 0; i < req.cardsPerTask(); i++) idx.add(cards.get(t * req.cardsPerTask() + i).index());
            tasks.add(new io.cardinal.allocator.model.TaskCards(t, node, idx));
        }
        return new Placement(tasks);
    }
}
