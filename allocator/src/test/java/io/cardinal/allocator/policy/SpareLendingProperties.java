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
import net.jqwik.api.statistics.Statistics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Lending on random cluster states (every policy): lent placements are valid, take spare cards and honour the
 * rule; normal placements leave the spare count free or covered by lent cards; a replacement evicts only lent
 * jobs, only when that makes it better, the fewest needed, and is never worse than with every lent job's cards
 * free; deterministic; without lent jobs it is the policy's own. Seeded (jqwik prints the seed; so do the messages).
 */
class SpareLendingProperties {

    @Property(tries = 300, seed = "20261124")
    void lendingKeepsTheInvariants(@ForAll long seed) {
        for (String name : Policies.NAMES) scenario(Policies.byName(name), seed);
        scenario(new CardinalPolicy(2, 4), seed);
    }

    private static void scenario(PlacementPolicy policy, long seed) {
        Random rnd = new Random(seed);
        Inventory inv = Clusters.randomState(rnd);
        Map<String, PlacementRequest> running = new HashMap<>();
        // The random state's own jobs are plain holders; only the jobs placed here are tracked as requests.
        for (int step = 0; step < 30; step++) {
            String tag = policy.name() + " seed " + seed + " step " + step;
            int action = rnd.nextInt(10);
            if (action < 6) {
                PlacementRequest req = Clusters.randomGangRequest(rnd, "j" + step);
                Decision normal = policy.place(inv, req);
                if (normal instanceof Decision.Placed p) {
                    assertNull(Clusters.check(inv, req, p.placement(), false), tag + ": " + req);
                    inv.allocate(new Holder(req.jobId(), 1), p.placement());
                    assertSparesCoveredWhereTaken(inv, p.placement(), tag);
                    running.put(req.jobId(), req);
                    continue;
                }
                Decision lent = SpareLending.placeLent(policy, inv, req);
                assertEquals(lent, SpareLending.placeLent(policy, inv.copy(), req), tag + ": placeLent not deterministic");
                if (!(lent instanceof Decision.Placed p)) continue;
                assertNull(Clusters.check(inv, req, p.placement(), true), tag + ": lent " + req);
                if (req.rule() != SupernodeRule.ANY) {
                    assertEquals(1, supernodes(inv, p.placement()).size(), tag + ": lent placement of a " + req.rule() + " job spans supernodes");
                }
                int fromSpares = SpareLending.spareCardsTaken(inv, p.placement()).values().stream().mapToInt(Integer::intValue).sum();
                assertTrue(fromSpares > 0, tag + ": a lent placement that takes no spare card");
                inv.allocate(new Holder(req.jobId(), 1), p.placement(), true);
                Statistics.label("lent placements").collect(req.rule());
                running.put(req.jobId(), req);
            } else if (action < 9 && !running.isEmpty()) {
                List<String> ids = new ArrayList<>(new TreeSet<>(running.keySet()));
                String job = ids.get(rnd.nextInt(ids.size()));
                replaceAfterFailure(policy, inv, running, job, rnd, tag);
            } else if (!running.isEmpty()) {
                String job = new TreeSet<>(running.keySet()).first();
                inv.release(job);
                running.remove(job);
            }
        }
    }

    private static void replaceAfterFailure(PlacementPolicy policy, Inventory inv, Map<String, PlacementRequest> running, String job,
                                            Random rnd, String tag) {
        PlacementRequest req = running.get(job);
        List<CardRef> cards = inv.cardsOf(job);
        CardRef failed = cards.get(rnd.nextInt(cards.size()));
        inv.setCardHealthy(failed, false);
        Placement current = rebuild(req, cards);
        Set<CardRef> lost = Set.of(failed);
        boolean wasLent = inv.isLent(job);
        Decision first = policy.replace(inv, req, current, lost);
        int firstOutcome = SpareLending.outcome(inv, req, current, lost, first);
        SpareLending.Outcome o = SpareLending.replace(policy, inv, req, current, lost);
        // Shown in the test output, so that a generator change that stops exercising evictions is seen.
        Statistics.label("replacements").collect(o.evicted().isEmpty() ? "no eviction" : "evicts " + Math.min(o.evicted().size(), 2) + "+");
        assertEquals(o, SpareLending.replace(policy, inv.copy(), req, current, lost), tag + ": not deterministic");
        List<String> lentOthers = new ArrayList<>(inv.lentJobs());
        lentOthers.remove(job);
        assertTrue(lentOthers.containsAll(o.evicted()), tag + ": evicted " + o.evicted() + " not all lent (" + lentOthers + ")");
        assertEquals(new HashSet<>(o.evicted()).size(), o.evicted().size(), tag + ": evicted twice");
        if (lentOthers.isEmpty()) assertEquals(first, o.decision(), tag + ": without lent jobs the replacement is the policy's own");
        if (o.evicted().isEmpty()) {
            assertEquals(first, o.decision(), tag + ": no eviction but a different decision");
        }
        int result = SpareLending.outcome(inv, req, current, lost, o.decision());
        if (firstOutcome <= SpareLending.SAME_SUPERNODE) assertEquals(List.of(), o.evicted(), tag + ": evicted though the job kept its supernode");
        assertTrue(result <= firstOutcome, tag + ": eviction made the replacement worse");
        // Never worse than with every lent job's cards free (same node and same supernode count alike).
        Inventory allFree = inv.copy();
        for (String j : lentOthers) allFree.release(j);
        int best = SpareLending.outcome(allFree, req, current, lost, policy.replace(allFree, req, current, lost));
        int goal = Math.max(best, SpareLending.SAME_SUPERNODE);
        assertTrue(result <= goal, tag + ": outcome " + result + " but " + best + " with every lent job's cards free");
        // The fewest: giving back any one evicted job misses the outcome the eviction was for.
        for (String keep : o.evicted()) {
            Inventory fewer = inv.copy();
            for (String j : o.evicted()) if (!j.equals(keep)) fewer.release(j);
            int without = SpareLending.outcome(fewer, req, current, lost, policy.replace(fewer, req, current, lost));
            assertTrue(without > goal, tag + ": evicting " + keep + " was not needed");
        }
        // Apply: evicted jobs stop, then the replacement takes its cards (allocate throws on a second owner).
        for (String j : o.evicted()) {
            inv.release(j);
            running.remove(j);
        }
        inv.release(job);
        if (o.decision() instanceof Decision.Placed p) {
            assertNull(Clusters.check(inv, req, p.placement(), true), tag + ": replacement " + req);
            assertTrue(p.placement().cards().stream().noneMatch(failed::equals), tag + ": kept the failed card");
            inv.allocate(new Holder(job, 2), p.placement(), wasLent);
        } else {
            assertInstanceOf(Decision.NotPlaced.class, o.decision());
            running.remove(job);
        }
    }

    /** After a normal placement, every supernode it took cards from has its spare count free or covered by lent cards. */
    private static void assertSparesCoveredWhereTaken(Inventory inv, Placement p, String tag) {
        for (String sn : supernodes(inv, p)) {
            assertTrue(inv.usableCardCount(sn) + inv.lentCardCount(sn) >= inv.spareCount(sn), tag + ": normal placement took spare cards of "
                    + sn + " (usable " + inv.usableCardCount(sn) + ", lent " + inv.lentCardCount(sn) + ", spares " + inv.spareCount(sn) + ")");
        }
    }

    private static Set<String> supernodes(Inventory inv, Placement p) {
        Set<String> out = new TreeSet<>();
        for (TaskCards t : p.tasks()) out.add(inv.nodeView(t.nodeId()).supernodeId());
        return out;
    }

    private static Placement rebuild(PlacementRequest req, List<CardRef> cards) {
        List<TaskCards> tasks = new ArrayList<>();
        for (int t = 0; t < req.tasks(); t++) {
            List<Integer> idx = new ArrayList<>();
            for (int i = 0; i < req.cardsPerTask(); i++) idx.add(cards.get(t * req.cardsPerTask() + i).index());
            tasks.add(new TaskCards(t, cards.get(t * req.cardsPerTask()).nodeId(), idx));
        }
        return new Placement(tasks);
    }
}
