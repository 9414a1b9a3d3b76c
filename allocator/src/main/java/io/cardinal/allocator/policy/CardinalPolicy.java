package io.cardinal.allocator.policy;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.SupernodeRule;
import io.cardinal.allocator.model.TaskCards;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Cardinal's placement: the smallest domain that fits, then the choice inside it that strands the fewest cards.
 *
 * <p>Domains, smallest first: one node; one supernode; the fewest supernodes under the nearest common tier. A
 * REQUIRED job stops after one supernode, the supernode cap bounds the last step.
 *
 * <p>Score inside a domain size (lower is better, ties by the next item): (1) the increase in stranded cards of
 * the supernode, where stranded = usable non-spare cards that cannot serve the typical next request
 * ({@code typicalTasks x typicalCardsPerTask}, see {@link Fragmentation}); (2) the supernode's free budget left
 * (best fit); (3) id order. Inside a supernode, tasks go to the node whose leftover strands the fewest cards
 * ({@code usable mod typicalCardsPerTask}), then the node with the fewest usable cards.
 *
 * <p>Replacement after a failure keeps every unaffected task where it is. An affected task gets, in order: usable
 * cards on its own node; a node of its own supernode (spares allowed, they exist for this); a node of a supernode
 * the job already uses, then of the supernode nearest by tier (free cards only, within the topology rule and
 * cap). When some task cannot be placed so, the whole job is placed again (spares allowed); when that fails too,
 * the decision says why and the job waits.
 */
public final class CardinalPolicy implements PlacementPolicy {
    public static final String NAME = "cardinal";

    private final int typicalTasks;
    private final int typicalCardsPerTask;
    private final boolean preferredWaitsForOne;
    /** Test oracle: score every supernode on its nodes (the plan itself) instead of its histogram. */
    private boolean scoreFromNodes;

    /** Typical next request of one 8-card task: a whole node of the common 8-card server. */
    public CardinalPolicy() {
        this(1, 8);
    }

    public CardinalPolicy(int typicalTasks, int typicalCardsPerTask) {
        this(typicalTasks, typicalCardsPerTask, true);
    }

    /**
     * @param preferredWaitsForOne when true, a PREFERRED job that one supernode of this cluster could hold (once its
     *     cards free up) is not spread over several: it waits, and the scheduler's head reservation makes sure it
     *     gets one. When false, PREFERRED spreads as soon as no single supernode has room now.
     */
    public CardinalPolicy(int typicalTasks, int typicalCardsPerTask, boolean preferredWaitsForOne) {
        this.preferredWaitsForOne = preferredWaitsForOne;
        if (typicalTasks < 1 || typicalCardsPerTask < 1) {
            throw new IllegalArgumentException("typical request must be >= 1 x 1, got " + typicalTasks + " x " + typicalCardsPerTask);
        }
        this.typicalTasks = typicalTasks;
        this.typicalCardsPerTask = typicalCardsPerTask;
    }

    @Override
    public String name() {
        return NAME;
    }

    /**
     * Makes this policy score candidate supernodes by planning on their nodes, as before the histograms: slower,
     * and the same decisions. Tests compare the two.
     */
    CardinalPolicy scoringFromNodes() {
        scoreFromNodes = true;
        return this;
    }

    @Override
    public Decision place(Inventory inventory, PlacementRequest request) {
        return placeOn(inventory, request, false, preferredWaitsForOne);
    }

    @Override
    public Decision placeSpread(Inventory inventory, PlacementRequest request) {
        return placeOn(inventory, request, false, false);
    }

    @Override
    public Decision placeWithSpares(Inventory inventory, PlacementRequest request) {
        return placeOn(inventory, request, true, preferredWaitsForOne);
    }

    // ---- placement ---------------------------------------------------------------------------------------------

    private Decision placeOn(Inventory inv, PlacementRequest req, boolean useSpares, boolean waitForOne) {
        View v = new View(inv, req, useSpares);
        int need = v.tasks * v.cardsPerTask;
        // One node, then one supernode. Candidates are scored from their histograms (the plan's outcome depends
        // only on the usable counts of the nodes it takes, not on which nodes); only the winner's nodes are read.
        long bestKey = Long.MAX_VALUE;
        int bestS = -1;
        int[] scratch = new int[v.histWidth];
        for (int s = 0; s < v.supernodes; s++) {
            if (v.capacityTasks[s] < v.tasks) continue;
            long key = scoreFromNodes ? supernodeKeyFromNodes(v, s, need) : supernodeKey(v, s, need, scratch);
            if (key < bestKey) {
                bestKey = key;
                bestS = s;
            }
        }
        if (bestS >= 0) {
            View.Plan bestPlan = planOneSupernode(v, bestS, need);
            String where = bestPlan.takes.size() == 1 ? "one node " + inv.nodeIdAt(bestS, bestPlan.takes.get(0)[1])
                    : "one supernode";
            return new Decision.Placed(new Placement(v.materialize(bestPlan)),
                    where + " in " + inv.supernodeIdAt(bestS) + " (best fit, stranded cards " + signed((int) ((bestKey >>> 32) & 0x3FFFFFFF) - (1 << 20)) + ")");
        }
        if (req.rule() == SupernodeRule.REQUIRED) {
            return new Decision.NotPlaced(v.whyNot("no single supernode has " + req.tasks() + " x " + req.cardsPerTask()
                    + " usable cards" + Policies.models(req) + " outside spares"));
        }
        if (req.rule() == SupernodeRule.PREFERRED && waitForOne && someSupernodeCouldHold(inv, req, useSpares)) {
            return new Decision.NotPlaced("PREFERRED job waits for one supernode: no supernode has " + req.tasks() + " x "
                    + req.cardsPerTask() + " usable cards" + Policies.models(req) + " now, but one will when cards free up");
        }
        return placeAcross(v);
    }

    /**
     * The rank of supernode s for the whole job (lower is better): (rank: one node 0, several 1) << 62 | (increase of
     * stranded cards + 2^20) << 32 | budget left. Computed from the supernode's histogram, replaying
     * {@link #bestSingleNode} and {@link #planInside} on bucket counts: O(buckets x steps), no node read.
     */
    long supernodeKey(View v, int s, int need, int[] left) {
        int[] h = v.hist;
        int base = s * v.histWidth;
        int width = v.histWidth;
        int c = v.cardsPerTask;
        long slots = 0;
        for (int x = typicalCardsPerTask; x < width; x++) slots += (long) h[base + x] * (x / typicalCardsPerTask);
        int before = strandedFromSlots(slots, v.budgetCards[s]);
        int rank;
        // bestSingleNode: the usable count x >= need (some node has it) whose leftover strands fewest, then smallest.
        int single = -1;
        long singleKey = Long.MAX_VALUE;
        for (int x = need; x < width; x++) {
            if (h[base + x] == 0 || (x / c) < v.tasks) continue;
            long key = ((long) (nodeStranded(x - need) - nodeStranded(x) + (1 << 20)) << 32) | x;
            if (key < singleKey) {
                singleKey = key;
                single = x;
            }
        }
        if (single >= 0) {
            rank = 0;
            slots -= single / typicalCardsPerTask - (single - need) / typicalCardsPerTask;
        } else {
            // planInside on bucket counts: each of its steps takes one node of the chosen bucket. While every
            // non-empty bucket's node fits whole (x / c <= rest and budget / c), no key changes from one step to
            // the next, so the same bucket wins again: those steps are taken at once.
            rank = 1;
            System.arraycopy(h, base, left, 0, width);
            int budget = v.budgetCards[s];
            int taken = 0;
            int guard = v.inv.nodeCountAt(s) + 1;
            while (taken < v.tasks && guard-- > 0) {
                int bestX = -1;
                long bestKey = Long.MAX_VALUE;
                int rest = v.tasks - taken;
                int maxSlots = 0;
                for (int x = c; x < width; x++) {
                    if (left[x] == 0) continue;
                    maxSlots = x / c;
                    int m = Math.min(Math.min(x / c, rest), budget / c);
                    if (m <= 0) continue;
                    long key = ((long) (nodeStranded(x - m * c) - nodeStranded(x) + (1 << 20)) << 32) | x;
                    if (key < bestKey) {
                        bestKey = key;
                        bestX = x;
                    }
                }
                if (bestX < 0) break;
                int m = Math.min(Math.min(bestX / c, rest), budget / c);
                int room = Math.min(rest, budget / c);
                int steps = room >= maxSlots ? Math.min(left[bestX], (room - maxSlots) / m + 1) : 1;
                left[bestX] -= steps;
                slots -= (long) steps * (bestX / typicalCardsPerTask - (bestX - m * c) / typicalCardsPerTask);
                budget -= steps * m * c;
                taken += steps * m;
                guard -= steps - 1;
            }
        }
        int delta = strandedFromSlots(slots, v.budgetCards[s] - need) - before;
        return supernodeKey(rank, delta, v.budgetCards[s] - need);
    }

    /** {@link #supernodeKey(View, int, int, int[])} by planning on the nodes of s (the test oracle). */
    long supernodeKeyFromNodes(View v, int s, int need) {
        View.Plan plan = new View.Plan();
        int rank;
        int k = bestSingleNode(v, s, need);
        if (k >= 0) {
            plan.add(s, k, v.tasks);
            rank = 0;
        } else {
            planInside(v, s, v.tasks, plan);
            rank = 1;
        }
        int[] u = v.usable(s);
        long slots = typicalSlots(u);
        int before = strandedFromSlots(slots, v.budgetCards[s]);
        for (int[] t : plan.takes) {
            int x = u[t[1]];
            slots -= x / typicalCardsPerTask - (x - t[2] * v.cardsPerTask) / typicalCardsPerTask;
        }
        int delta = strandedFromSlots(slots, v.budgetCards[s] - need) - before;
        return supernodeKey(rank, delta, v.budgetCards[s] - need);
    }

    private static long supernodeKey(int rank, int delta, long leftover) {
        return ((long) rank << 62) | ((long) (delta + (1 << 20)) << 32) | leftover;
    }

    /** The whole job in supernode s: on its best single node, else spread over its nodes by {@link #planInside}. */
    private View.Plan planOneSupernode(View v, int s, int need) {
        View.Plan plan = new View.Plan();
        int k = bestSingleNode(v, s, need);
        if (k >= 0) plan.add(s, k, v.tasks);
        else planInside(v, s, v.tasks, plan);
        return plan;
    }

    /** Would some supernode hold the job if every card of it were free (healthy cards of nodes online)? */
    private static boolean someSupernodeCouldHold(Inventory inv, PlacementRequest req, boolean useSpares) {
        long need = (long) req.tasks() * req.cardsPerTask();
        for (int s = 0; s < inv.supernodeCount(); s++) {
            int budget = inv.totalCardsAt(s) - (useSpares ? 0 : inv.spareCountAt(s));
            if (budget < need) continue;
            long slots = 0;
            for (int k = 0; k < inv.nodeCountAt(s) && slots < req.tasks(); k++) {
                String model = inv.nodeModelAt(s, k);
                if (model != null && !req.acceptsModel(model)) continue;
                slots += inv.nodeCardsAt(s, k) / req.cardsPerTask();
            }
            if (slots >= req.tasks()) return true;
        }
        return false;
    }

    /** Fewest supernodes under the nearest common tier. */
    private Decision placeAcross(View v) {
        Inventory inv = v.inv;
        int cap = v.cap();
        // Domains: each distinct tier path prefix (the inventory keeps them, in path order), with the supernodes
        // that can hold a task; a domain's depth is that of its last such entry.
        int bestCount = Integer.MAX_VALUE;
        int bestDepth = -1;
        long bestSpare = Long.MAX_VALUE;
        int[] bestChoice = null;
        String bestDomain = null;
        int[] members = new int[0];
        for (int dom = 0; dom < inv.tierDomainCount(); dom++) {
            int entries = inv.tierDomainSizeAt(dom);
            if (members.length < entries) members = new int[Math.max(entries, 2 * members.length)];
            int size = 0;
            int depth = -1;
            for (int i = 0; i < entries; i++) {
                int s = inv.tierDomainSupernodeAt(dom, i);
                if (v.capacityTasks[s] == 0) continue;
                members[size++] = s;
                depth = inv.tierDomainDepthAt(dom, i);
            }
            if (size == 0) continue;
            int[] m = members;
            int[] byCapDesc = View.sortBy(size, i -> -v.capacityTasks[m[i]]);
            int left = v.tasks;
            int count = 0;
            for (int i : byCapDesc) {
                if (left <= 0) break;
                left -= v.capacityTasks[members[i]];
                count++;
            }
            if (left > 0 || count > cap) continue;
            // The count-1 largest, then the smallest supernode that covers what is left (best fit).
            int[] choice = new int[count];
            int remaining = v.tasks;
            for (int j = 0; j < count - 1; j++) {
                choice[j] = members[byCapDesc[j]];
                remaining -= v.capacityTasks[choice[j]];
            }
            int last = -1;
            for (int j = count - 1; j < byCapDesc.length; j++) {
                int s = members[byCapDesc[j]];
                if (v.capacityTasks[s] >= remaining && (last < 0 || v.capacityTasks[s] <= v.capacityTasks[last])) last = s;
            }
            choice[count - 1] = last;
            long spare = 0;
            for (int s : choice) spare += v.capacityTasks[s];
            spare -= v.tasks;
            boolean better = count < bestCount
                    || (count == bestCount && depth > bestDepth)
                    || (count == bestCount && depth == bestDepth && spare < bestSpare);
            if (better) {
                bestCount = count;
                bestDepth = depth;
                bestSpare = spare;
                bestChoice = choice;
                bestDomain = inv.tierDomainPathAt(dom);
            }
        }
        if (bestChoice == null) {
            return new Decision.NotPlaced(v.whyNot("not enough usable cards outside spares: need " + v.tasks + " x "
                    + v.cardsPerTask + Policies.models(v.req) + (cap != Integer.MAX_VALUE ? " within " + cap + " supernode(s)" : "")));
        }
        View.Plan plan = new View.Plan();
        for (int s : bestChoice) planInside(v, s, Math.min(v.capacityTasks[s], v.tasks - plan.tasks), plan);
        if (plan.tasks != v.tasks) throw new IllegalStateException("planned " + plan.tasks + " of " + v.tasks + " tasks");
        return new Decision.Placed(new Placement(v.materialize(plan)), bestCount + " supernode(s) under "
                + (bestDomain.isEmpty() ? "the cluster" : "tier " + bestDomain) + " (fewest supernodes, nearest tier)");
    }

    /** The node of supernode s that can hold all {@code need} cards and strands the fewest, or -1. */
    private int bestSingleNode(View v, int s, int need) {
        int[] u = v.usable(s);
        int best = -1;
        long bestKey = Long.MAX_VALUE;
        for (int k = 0; k < u.length; k++) {
            if (u[k] < need || (u[k] / v.cardsPerTask) < v.tasks) continue;
            long key = ((long) (nodeStranded(u[k] - need) - nodeStranded(u[k]) + (1 << 20)) << 32) | u[k];
            if (key < bestKey) {
                bestKey = key;
                best = k;
            }
        }
        return best;
    }

    /**
     * Chooses {@code want} tasks inside supernode s on {@code u} (a scratch copy of usable cards, updated): each
     * step takes as many tasks as fit from the node whose leftover strands the fewest cards, then the fullest.
     * Nodes are bucketed by usable count so a step costs O(distinct counts), not O(nodes).
     */
    private void planInside(View v, int s, int want, View.Plan plan) {
        int[] u = v.usable(s);
        int c = v.cardsPerTask;
        int maxU = 0;
        for (int x : u) maxU = Math.max(maxU, x);
        // bucket[x] = nodes with x usable cards, in id order
        int[] counts = new int[maxU + 2];
        for (int x : u) counts[x + 1]++;
        for (int x = 1; x < counts.length; x++) counts[x] += counts[x - 1];
        int[] start = counts.clone();
        int[] order = new int[u.length];
        int[] fill = counts.clone();
        for (int k = 0; k < u.length; k++) order[fill[u[k]]++] = k;
        int[] next = start; // next unused node of each bucket
        int budget = v.budgetCards[s];
        int taken = 0;
        int guard = u.length + 1;
        while (taken < want && guard-- > 0) {
            int bestX = -1;
            long bestKey = Long.MAX_VALUE;
            int rest = want - taken;
            for (int x = c; x <= maxU; x++) {
                if (next[x] >= counts[x + 1]) continue;
                int m = Math.min(Math.min(x / c, rest), budget / c);
                if (m <= 0) continue;
                long key = ((long) (nodeStranded(x - m * c) - nodeStranded(x) + (1 << 20)) << 32) | x;
                if (key < bestKey) {
                    bestKey = key;
                    bestX = x;
                }
            }
            if (bestX < 0) break;
            int k = order[next[bestX]++];
            int m = Math.min(Math.min(bestX / c, rest), budget / c);
            plan.add(s, k, m);
            budget -= m * c;
            taken += m;
        }
    }

    private int nodeStranded(int usableCards) {
        return usableCards % typicalCardsPerTask;
    }

    /** Typical tasks the nodes could hold, ignoring the budget. */
    private long typicalSlots(int[] u) {
        long slots = 0;
        for (int x : u) slots += x / typicalCardsPerTask;
        return slots;
    }

    /** Stranded cards (see {@link Fragmentation}) from typical-task slots and the card budget. */
    private int strandedFromSlots(long slots, int budgetCards) {
        if (budgetCards <= 0) return 0;
        long usableSlots = Math.min(slots, budgetCards / typicalCardsPerTask);
        long copies = usableSlots / typicalTasks;
        return (int) Math.max(0, budgetCards - copies * typicalTasks * typicalCardsPerTask);
    }

    private static String signed(int x) {
        return x > 0 ? "+" + x : Integer.toString(x);
    }

    // ---- replacement -------------------------------------------------------------------------------------------

    @Override
    public Decision replace(Inventory inv, PlacementRequest req, Placement current, Set<CardRef> lost) {
        if (current.tasks().size() != req.tasks()) {
            return Replacement.full(this, inv, req, lost, "current placement has " + current.tasks().size()
                    + " tasks, request " + req.tasks());
        }
        int c = req.cardsPerTask();
        Set<CardRef> claimed = new HashSet<>();
        java.util.Map<String, Integer> freshByNode = new java.util.HashMap<>();
        List<Integer> affected = new ArrayList<>();
        Set<Integer> jobSupernodes = new java.util.TreeSet<>();
        for (TaskCards t : current.tasks()) {
            boolean bad = !inv.hasNode(t.nodeId()) || t.cardIndices().size() != c;
            if (!bad) {
                for (int i : t.cardIndices()) {
                    CardRef ref = new CardRef(t.nodeId(), i);
                    if (lost.contains(ref) || !keepable(inv, ref, req.jobId())) bad = true;
                }
            }
            if (bad) affected.add(t.task());
            else {
                jobSupernodes.add(inv.locate(t.nodeId())[0]);
                // Cards the job already holds are not usable, so only unheld kept cards need claiming.
                for (int i : t.cardIndices()) {
                    CardRef ref = new CardRef(t.nodeId(), i);
                    if (inv.holder(ref) == null) claim(claimed, freshByNode, ref);
                }
            }
        }
        if (affected.isEmpty()) return new Decision.Placed(current, "no task lost a card; placement kept");
        int[] claimedIn = new int[inv.supernodeCount()];
        List<TaskCards> out = new ArrayList<>(current.tasks());
        int sameNode = 0;
        int sameSupernode = 0;
        int otherSupernode = 0;
        int cap = req.maxSupernodes() == 0 ? Integer.MAX_VALUE : req.maxSupernodes();
        for (int task : affected) {
            TaskCards old = current.tasks().get(task);
            int[] home = inv.hasNode(old.nodeId()) ? inv.locate(old.nodeId()) : null;
            // (a) the same node: keep its good cards, add usable ones.
            if (home != null) {
                List<Integer> kept = new ArrayList<>();
                for (int i : old.cardIndices()) {
                    CardRef ref = new CardRef(old.nodeId(), i);
                    if (!lost.contains(ref) && keepable(inv, ref, req.jobId()) && !claimed.contains(ref)) kept.add(i);
                }
                List<Integer> fresh = freeOn(inv, req, home[0], home[1], c - kept.size(), claimed);
                if (kept.size() + fresh.size() == c && inv.nodeAvailable(old.nodeId())) {
                    for (int i : kept) if (inv.holder(new CardRef(old.nodeId(), i)) == null) claim(claimed, freshByNode, new CardRef(old.nodeId(), i));
                    for (int i : fresh) claim(claimed, freshByNode, new CardRef(old.nodeId(), i));
                    kept.addAll(fresh);
                    java.util.Collections.sort(kept);
                    claimedIn[home[0]] += fresh.size();
                    out.set(task, new TaskCards(task, old.nodeId(), kept));
                    jobSupernodes.add(home[0]);
                    sameNode++;
                    continue;
                }
            }
            // (b) another node of its supernode, spares allowed.
            if (home != null) {
                TaskCards moved = moveInto(inv, req, home[0], task, claimed, freshByNode, claimedIn, true);
                if (moved != null) {
                    out.set(task, moved);
                    jobSupernodes.add(home[0]);
                    sameSupernode++;
                    continue;
                }
            }
            // (c) the nearest other supernode within the rule and the cap, free cards only.
            TaskCards moved = null;
            if (req.rule() != SupernodeRule.REQUIRED || jobSupernodes.isEmpty()) {
                for (int s : nearest(inv, home == null ? -1 : home[0], jobSupernodes)) {
                    boolean adds = !jobSupernodes.contains(s);
                    if (adds && jobSupernodes.size() + 1 > cap) continue;
                    if (adds && req.rule() == SupernodeRule.REQUIRED && !jobSupernodes.isEmpty()) continue;
                    moved = moveInto(inv, req, s, task, claimed, freshByNode, claimedIn, false);
                    if (moved != null) {
                        jobSupernodes.add(s);
                        break;
                    }
                }
            }
            if (moved == null) {
                return Replacement.full(this, inv, req, lost, "task " + task + " has no replacement within its topology rule");
            }
            out.set(task, moved);
            otherSupernode++;
        }
        Set<String> spanned = new HashSet<>();
        for (TaskCards t : out) spanned.add(inv.nodeView(t.nodeId()).supernodeId());
        if ((req.rule() == SupernodeRule.REQUIRED && spanned.size() > 1) || spanned.size() > cap) {
            return Replacement.full(this, inv, req, lost, "local replacement would span " + spanned.size() + " supernodes");
        }
        return new Decision.Placed(new Placement(out), "replaced " + affected.size() + " task(s): " + sameNode
                + " on the same node, " + sameSupernode + " in the same supernode, " + otherSupernode + " in another supernode");
    }

    private static boolean keepable(Inventory inv, CardRef ref, String jobId) {
        return inv.keepableFor(ref, jobId);
    }

    private static List<Integer> freeOn(Inventory inv, PlacementRequest req, int s, int k, int want, Set<CardRef> claimed) {
        if (want <= 0) return new ArrayList<>();
        String nodeId = inv.nodeIdAt(s, k);
        List<Integer> out = new ArrayList<>(want);
        for (int i : inv.nodeUsableIndicesAt(s, k, req.cardModels(), Integer.MAX_VALUE)) {
            if (out.size() == want) break;
            if (!claimed.contains(new CardRef(nodeId, i))) out.add(i);
        }
        return out;
    }

    /** A whole task on the best-fit node of supernode s, or null. */
    private TaskCards moveInto(Inventory inv, PlacementRequest req, int s, int task, Set<CardRef> claimed,
                               java.util.Map<String, Integer> freshByNode, int[] claimedIn, boolean useSpares) {
        int c = req.cardsPerTask();
        int budget = inv.usableCardsAt(s) - claimedIn[s] - (useSpares ? 0 : inv.freeSpareCountAt(s));
        if (budget < c) return null;
        int bestK = -1;
        long bestKey = Long.MAX_VALUE;
        for (int k = 0; k < inv.nodeCountAt(s); k++) {
            int u = inv.nodeUsableAt(s, k, req.cardModels());
            if (u < c) continue;
            u -= freshByNode.getOrDefault(inv.nodeIdAt(s, k), 0);
            if (u < c) continue;
            long key = ((long) (nodeStranded(u - c) - nodeStranded(u) + (1 << 20)) << 32) | u;
            if (key < bestKey) {
                bestKey = key;
                bestK = k;
            }
        }
        if (bestK < 0) return null;
        List<Integer> idx = freeOn(inv, req, s, bestK, c, claimed);
        String nodeId = inv.nodeIdAt(s, bestK);
        for (int i : idx) claim(claimed, freshByNode, new CardRef(nodeId, i));
        claimedIn[s] += c;
        return new TaskCards(task, nodeId, idx);
    }

    private static void claim(Set<CardRef> claimed, java.util.Map<String, Integer> freshByNode, CardRef ref) {
        if (claimed.add(ref)) freshByNode.merge(ref.nodeId(), 1, Integer::sum);
    }

    /** Supernodes other than {@code home}: those the job uses, then by shared tier depth with home, then id order. */
    private static int[] nearest(Inventory inv, int home, Set<Integer> jobSupernodes) {
        List<String> homeTiers = home < 0 ? List.of() : inv.tiersAt(home);
        int n = inv.supernodeCount();
        int[] order = View.sortBy(n, s -> {
            if (s == home) return 1001; // last, then cut off
            if (jobSupernodes.contains(s)) return -1;
            List<String> t = inv.tiersAt(s);
            int shared = 0;
            while (shared < t.size() && shared < homeTiers.size() && t.get(shared).equals(homeTiers.get(shared))) shared++;
            return 1000 - shared;
        });
        return java.util.Arrays.copyOf(order, Math.max(0, home < 0 ? n : n - 1));
    }
}
