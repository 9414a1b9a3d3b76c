package io.cardinal.allocator.policy;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.SupernodeRule;
import io.cardinal.allocator.model.TaskCards;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Lending spare cards. A supernode's spare cards (the count its spare rule keeps out of normal placement) are idle
 * until a replacement needs them. A <b>lent placement</b> lets a waiting job run on them meanwhile, on these terms:
 *
 * <ul>
 *   <li>The job cannot be placed outside spares, and fits with them: in one supernode unless its rule is ANY. It is
 *       allocated with the lent mark ({@code Inventory.allocate(holder, placement, true)}) and keeps it until it
 *       releases its cards.</li>
 *   <li>A lent job's cards stand in for its supernode's spare cards: normal placement leaves free only the spare
 *       count less the cards lent jobs hold there ({@code Inventory.freeSpareCount}), so cards that free up later
 *       are not held back idle while the lent job covers the spares. Either way the spare count is always there,
 *       as free cards or as cards an eviction gives back.</li>
 *   <li>When a job loses a card, its replacement is first decided as without lending ({@code policy.replace}). If
 *       that keeps it in its supernode, no lent job is touched. Otherwise, if the replacement would be better with
 *       the lent jobs' cards free (kept in its supernode, or kept in place at all, or placed at all), the fewest lent
 *       jobs that give it that outcome are evicted first (the caller stops them, they lose their progress since
 *       their last checkpoint and wait again), and the replacement takes their cards. So lent jobs never make a
 *       replacement worse than it would be with their cards free (same node and same supernode count alike; at
 *       most {@link #MAX_CANDIDATES} lent jobs are considered).</li>
 * </ul>
 *
 * <p>Both are pure functions of the inventory (no clock, no randomness), like the policies they call; candidates
 * are tried in a fixed order (lent jobs in the failed tasks' supernodes, then in the job's other supernodes, then
 * elsewhere; fewest cards first; job id), at most {@link #MAX_CANDIDATES} of them.
 */
public final class SpareLending {
    /** Replacement outcomes, best first: where the affected tasks went, or that the job could not be placed. */
    public static final int SAME_NODE = 0;
    public static final int SAME_SUPERNODE = 1;
    public static final int OTHER_SUPERNODE = 2;
    /** A task that lost nothing moved: the whole job was placed again. */
    public static final int FULL = 3;
    public static final int NOT_PLACED = 4;
    /** Lent jobs considered for eviction per replacement (each trial is one replacement decision). */
    public static final int MAX_CANDIDATES = 64;

    private SpareLending() {
    }

    /** A replacement and the lent jobs to evict before it is applied (empty: none), in the order they were chosen. */
    public record Outcome(Decision decision, List<String> evicted) {
        public Outcome {
            java.util.Objects.requireNonNull(decision, "decision");
            evicted = List.copyOf(evicted);
        }
    }

    /**
     * A lent placement for {@code req}, chosen by {@code policy.placeWithSpares}: a REQUIRED or PREFERRED job as a
     * REQUIRED job of one supernode (its cards there, spares included), an ANY job wherever the policy puts it.
     * NotPlaced when it does not fit even with spares, or when it fits outside spares (then it is a normal
     * placement, and {@code policy.place} is the call).
     */
    public static Decision placeLent(PlacementPolicy policy, Inventory inv, PlacementRequest req) {
        // An ANY job takes its lent cards wherever the policy puts it; the others stay in one supernode.
        PlacementRequest lentReq = req.rule() == SupernodeRule.ANY ? req : oneSupernode(req);
        if (policy.place(inv, lentReq) instanceof Decision.Placed) {
            return new Decision.NotPlaced("no lent placement: the job fits outside spares");
        }
        return lentOn(policy, inv, lentReq);
    }

    private static PlacementRequest oneSupernode(PlacementRequest req) {
        return new PlacementRequest(req.jobId(), req.tenant(), req.priority(), req.tasks(), req.cardsPerTask(),
                req.cardModels(), SupernodeRule.REQUIRED, 1, req.submitOrder());
    }

    private static Decision lentOn(PlacementPolicy policy, Inventory inv, PlacementRequest one) {
        Decision d = policy.placeWithSpares(inv, one);
        if (!(d instanceof Decision.Placed p)) {
            return new Decision.NotPlaced("no lent placement: " + d.reason());
        }
        Map<String, Integer> lent = spareCardsTaken(inv, p.placement());
        int total = 0;
        for (int x : lent.values()) total += x;
        if (total == 0) return new Decision.NotPlaced("no lent placement: the job fits outside spares");
        return new Decision.Placed(p.placement(), "lent " + total + " spare card(s) of " + String.join(", ", lent.keySet())
                + " (evicted when a replacement needs them); " + p.reason());
    }

    /**
     * Per supernode the placement takes cards from, how many of them are spare cards: those beyond the usable cards
     * outside its spare count. Only the supernodes where that is more than zero, in id order. Cards the placement
     * names that are already held (kept cards of a replacement) do not count.
     */
    public static Map<String, Integer> spareCardsTaken(Inventory inv, Placement placement) {
        Map<String, Integer> taken = new TreeMap<>();
        for (TaskCards t : placement.tasks()) {
            String sn = inv.nodeView(t.nodeId()).supernodeId();
            for (int i : t.cardIndices()) if (inv.holder(new CardRef(t.nodeId(), i)) == null) taken.merge(sn, 1, Integer::sum);
        }
        Map<String, Integer> out = new TreeMap<>();
        for (var e : taken.entrySet()) {
            int outside = Math.max(0, inv.usableCardCount(e.getKey()) - inv.freeSpareCount(e.getKey()));
            int fromSpares = e.getValue() - outside;
            if (fromSpares > 0) out.put(e.getKey(), fromSpares);
        }
        return out;
    }

    /**
     * The replacement for a job that lost {@code lost} cards, evicting lent jobs when that gives a better outcome
     * (see the class comment). The decision is valid on {@code inventory} once the evicted jobs' cards are released;
     * {@code inventory} is not changed.
     */
    public static Outcome replace(PlacementPolicy policy, Inventory inventory, PlacementRequest req, Placement current, Set<CardRef> lost) {
        Decision first = policy.replace(inventory, req, current, lost);
        int firstOutcome = outcome(inventory, req, current, lost, first);
        if (firstOutcome <= SAME_SUPERNODE) return new Outcome(first, List.of());
        List<String> candidates = candidates(inventory, req, current, lost);
        if (candidates.isEmpty()) return new Outcome(first, List.of());
        Inventory work = inventory.copy();
        Map<String, Holder> holders = new HashMap<>();
        Map<String, List<CardRef>> cards = new HashMap<>();
        for (String j : candidates) {
            List<CardRef> held = work.cardsOf(j);
            holders.put(j, work.holder(held.get(0)));
            cards.put(j, work.release(j));
        }
        int best = outcome(work, req, current, lost, policy.replace(work, req, current, lost));
        // Evict to keep the job in its supernode (what spares are for), or to do better than the first answer when
        // even that cannot: never for a same-node over a same-supernode replacement.
        int goal = Math.max(best, SAME_SUPERNODE);
        if (goal >= firstOutcome) return new Outcome(first, List.of());
        for (String j : candidates) work.restore(holders.get(j), cards.get(j), true);
        // Add candidates in order until the goal is met, then give back each one not needed, the last added first.
        List<String> chosen = new ArrayList<>();
        for (String j : candidates) {
            work.release(j);
            chosen.add(j);
            if (outcome(work, req, current, lost, policy.replace(work, req, current, lost)) <= goal) break;
        }
        for (int i = chosen.size() - 1; i >= 0 && chosen.size() > 1; i--) {
            String j = chosen.get(i);
            work.restore(holders.get(j), cards.get(j), true);
            if (outcome(work, req, current, lost, policy.replace(work, req, current, lost)) <= goal) chosen.remove(i);
            else work.release(j);
        }
        // Decide once more on a fresh copy with exactly the evicted jobs' cards free: the answer the caller applies.
        Inventory after = inventory.copy();
        for (String j : chosen) after.release(j);
        Decision d = policy.replace(after, req, current, lost);
        if (outcome(after, req, current, lost, d) > goal) {
            throw new IllegalStateException("evicting " + chosen + " did not give replacement outcome " + goal + " for " + req.jobId());
        }
        String reason = "evicted lent job(s) " + chosen + " to take back their cards; " + d.reason();
        Decision out = d instanceof Decision.Placed p ? new Decision.Placed(p.placement(), reason) : new Decision.NotPlaced(reason);
        return new Outcome(out, chosen);
    }

    /**
     * How good a replacement decision is ({@link #SAME_NODE} .. {@link #NOT_PLACED}): the farthest an affected task
     * (one with a lost or no longer keepable card) moved, or {@link #FULL} when a task that lost nothing moved.
     */
    public static int outcome(Inventory inv, PlacementRequest req, Placement current, Set<CardRef> lost, Decision d) {
        if (!(d instanceof Decision.Placed p)) return NOT_PLACED;
        Placement after = p.placement();
        if (after.tasks().size() != current.tasks().size()) return FULL;
        int worst = SAME_NODE;
        for (int t = 0; t < current.tasks().size(); t++) {
            TaskCards a = current.tasks().get(t);
            TaskCards b = after.tasks().get(t);
            if (a.equals(b)) continue;
            if (!affected(inv, req, a, lost)) return FULL;
            int kind;
            if (a.nodeId().equals(b.nodeId())) kind = SAME_NODE;
            else if (inv.hasNode(a.nodeId()) && inv.nodeView(a.nodeId()).supernodeId().equals(inv.nodeView(b.nodeId()).supernodeId())) {
                kind = SAME_SUPERNODE;
            } else {
                kind = OTHER_SUPERNODE;
            }
            worst = Math.max(worst, kind);
        }
        return worst;
    }

    private static boolean affected(Inventory inv, PlacementRequest req, TaskCards t, Set<CardRef> lost) {
        if (!inv.hasNode(t.nodeId()) || t.cardIndices().size() != req.cardsPerTask()) return true;
        for (int i : t.cardIndices()) {
            CardRef ref = new CardRef(t.nodeId(), i);
            if (lost.contains(ref) || !inv.keepableFor(ref, req.jobId())) return true;
        }
        return false;
    }

    /** Lent jobs other than the job itself, in eviction-trial order, at most {@link #MAX_CANDIDATES}. */
    private static List<String> candidates(Inventory inv, PlacementRequest req, Placement current, Set<CardRef> lost) {
        List<String> lent = inv.lentJobs();
        if (lent.isEmpty() || (lent.size() == 1 && lent.get(0).equals(req.jobId()))) return List.of();
        Set<String> failedIn = new HashSet<>();
        Set<String> usedIn = new HashSet<>();
        for (TaskCards t : current.tasks()) {
            if (!inv.hasNode(t.nodeId())) continue;
            String sn = inv.nodeView(t.nodeId()).supernodeId();
            usedIn.add(sn);
            if (affected(inv, req, t, lost)) failedIn.add(sn);
        }
        record Candidate(String jobId, int near, int cards) {
        }
        List<Candidate> all = new ArrayList<>();
        for (String j : lent) {
            if (j.equals(req.jobId())) continue;
            List<CardRef> held = inv.cardsOf(j);
            int near = 2;
            for (CardRef c : held) {
                String sn = inv.nodeView(c.nodeId()).supernodeId();
                if (failedIn.contains(sn)) {
                    near = 0;
                    break;
                }
                if (usedIn.contains(sn)) near = 1;
            }
            all.add(new Candidate(j, near, held.size()));
        }
        all.sort(Comparator.comparingInt(Candidate::near).thenComparingInt(Candidate::cards).thenComparing(Candidate::jobId));
        List<String> out = new ArrayList<>();
        for (Candidate c : all.subList(0, Math.min(MAX_CANDIDATES, all.size()))) out.add(c.jobId());
        return out;
    }
}
