package io.cardinal.allocator.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Every card of the cluster and who holds it. One writer mutates it (the state machine's apply thread, or the
 * controller's speculative copy); policies only read it. Iteration order is by id everywhere, so two replicas
 * that applied the same events see the same order. Not thread-safe: reads may rebuild a cached index.
 *
 * <p>Invariants checked on every mutation: a card has at most one holder; a card is given to a holder only while
 * healthy, its node online and not cordoned.
 *
 * <p>Counters kept incrementally so that policies never scan every card: per node the healthy unheld cards, per
 * supernode the usable cards (healthy, unheld, node online and not cordoned), the total, and a histogram of its
 * nodes by usable cards per model class ({@link #usableHistogramAt}), so that a policy can size up a supernode
 * without reading its nodes. The index-based reads ({@link #supernodeCount()}, {@link #nodeUsableAt}, ...) are
 * valid until the next topology change ({@link #upsertNode}); policies use them inside one call.
 */
public final class Inventory {
    private final TreeMap<String, NodeState> nodes = new TreeMap<>();
    /** The same nodes, for O(1) lookups by id. */
    private final HashMap<String, NodeState> nodesById = new HashMap<>();
    private final TreeMap<String, SupernodeState> supernodes = new TreeMap<>();
    private final Map<String, List<CardRef>> cardsByJob = new HashMap<>();
    /**
     * Jobs that run on lent spare cards (see {@code policy.SpareLending}): they may be evicted when a replacement
     * needs the cards. The mark lasts until the job releases its cards.
     */
    private final HashSet<String> lentJobs = new HashSet<>();
    private int cardsAllocated;
    private int cardsTotal;
    /** Supernodes in id order, each with its nodes in id order; rebuilt after a topology change. */
    private SupernodeState[] index;
    /** The most cards of any node; rebuilt with {@link #index}. */
    private int nodeCardsMax;
    /**
     * Tier domains, rebuilt with {@link #index}: every distinct path prefix of supernode tiers (joined by "/", the
     * empty path is the cluster) in path order; per domain its (supernode index, depth) pairs, supernodes in index
     * order and each supernode's prefixes innermost first.
     */
    private String[] domainPaths;
    private int[][] domainSupernodes;
    private int[][] domainDepths;

    /** A spare rule: keep {@code cards} cards, or {@code percent}% of the supernode's cards, out of normal placement. */
    public record SpareRule(int cards, int percent) {
        public SpareRule {
            if (cards < 0) throw new IllegalArgumentException("spare cards must be >= 0, got " + cards);
            if (percent < 0 || percent > 100) throw new IllegalArgumentException("spare percent must be 0..100, got " + percent);
        }

        public int spareCount(int supernodeCards) {
            return Math.min(supernodeCards, Math.max(cards, (int) ((long) supernodeCards * percent / 100)));
        }
    }

    /** A read-only view of a node. */
    public record NodeView(String nodeId, String supernodeId, List<String> tiers, boolean online, boolean cordoned,
                           int cardCount) {
    }

    private static final class NodeState {
        final String nodeId;
        String supernodeId;
        List<String> tiers;
        boolean online = true;
        boolean cordoned;
        String[] models;
        long[] memoryMib;
        boolean[] healthy;
        Holder[] holders;
        /** Healthy cards nobody holds (counted whether or not the node is online). */
        int cardsFreeHealthy;
        /** The model of every card when they are all the same, else null. */
        String singleModel;
        /** Index of this node's model class (its singleModel, or "mixed") in its supernode's histograms. */
        int modelClass;
        SupernodeState supernode;
        int supernodeIndex;
        int nodeIndex;

        NodeState(String nodeId) {
            this.nodeId = nodeId;
        }

        NodeState copy() {
            NodeState n = new NodeState(nodeId);
            n.supernodeId = supernodeId;
            n.tiers = tiers;
            n.online = online;
            n.cordoned = cordoned;
            n.models = models; // never mutated in place: upsertNode replaces the array
            n.memoryMib = memoryMib;
            n.healthy = healthy.clone();
            n.holders = holders.clone();
            n.cardsFreeHealthy = cardsFreeHealthy;
            n.singleModel = singleModel;
            n.modelClass = modelClass;
            return n;
        }

        boolean available() {
            return online && !cordoned;
        }

        boolean usable(int i) {
            return online && !cordoned && healthy[i] && holders[i] == null;
        }

        int cardsUsable() {
            return available() ? cardsFreeHealthy : 0;
        }

        int cardsUsable(Set<String> acceptedModels) {
            if (!available() || cardsFreeHealthy == 0) return 0;
            if (acceptedModels.isEmpty()) return cardsFreeHealthy;
            if (singleModel != null) return acceptedModels.contains(singleModel) ? cardsFreeHealthy : 0;
            int count = 0;
            for (int i = 0; i < holders.length; i++) {
                if (healthy[i] && holders[i] == null && acceptedModels.contains(models[i])) count++;
            }
            return count;
        }
    }

    private static final class SupernodeState {
        final String supernodeId;
        final TreeMap<String, NodeState> nodes = new TreeMap<>();
        SpareRule spareRule = new SpareRule(0, 0);
        int cardsTotal;
        int cardsUsable;
        NodeState[] nodeArray = new NodeState[0];
        List<String> tiers = List.of();
        /**
         * Nodes by usable cards, per model class: classHists[c][x] = nodes of class c with x usable cards (every
         * node counts once, unavailable nodes at 0). Class c holds the nodes whose cards are all of model
         * classModels[c], or of mixed models when that is null. Classes are never removed (a supernode has few).
         */
        String[] classModels = new String[0];
        int[][] classHists = new int[0][];
        /** The sum of classHists: nodes by usable cards of any model. */
        int[] usableHist = new int[1];
        /** Nodes of mixed models (their usable cards of given models need a node read). */
        int mixedNodes;

        SupernodeState(String supernodeId) {
            this.supernodeId = supernodeId;
        }

        /** Cards of lent jobs on this supernode's nodes: they stand in for spare cards (eviction gives them back). */
        int lentCards;

        int spareCount() {
            return spareRule.spareCount(cardsTotal);
        }

        int freeSpareCount() {
            return Math.max(0, spareCount() - lentCards);
        }

        void copySummariesFrom(SupernodeState src) {
            classModels = src.classModels.clone();
            classHists = new int[src.classHists.length][];
            for (int c = 0; c < classHists.length; c++) classHists[c] = src.classHists[c].clone();
            usableHist = src.usableHist.clone();
            mixedNodes = src.mixedNodes;
        }

        /** Counts node n (not yet counted) in this supernode under its current usable cards and model. */
        void addNode(NodeState n) {
            int c = classOf(n.singleModel);
            n.modelClass = c;
            int width = n.holders.length + 1;
            if (classHists[c].length < width) classHists[c] = java.util.Arrays.copyOf(classHists[c], width);
            if (usableHist.length < width) usableHist = java.util.Arrays.copyOf(usableHist, width);
            int u = n.cardsUsable();
            classHists[c][u]++;
            usableHist[u]++;
            cardsUsable += u;
            if (n.singleModel == null) mixedNodes++;
        }

        /** Takes node n out of the counts, as they were when its usable cards were {@code usable}. */
        void removeNode(NodeState n, int usable) {
            classHists[n.modelClass][usable]--;
            usableHist[usable]--;
            cardsUsable -= usable;
            if (n.singleModel == null) mixedNodes--;
        }

        /** Moves node n from the bucket of {@code before} usable cards to its current one. */
        void usableChanged(NodeState n, int before) {
            int after = n.cardsUsable();
            if (after == before) return;
            int[] h = classHists[n.modelClass];
            h[before]--;
            h[after]++;
            usableHist[before]--;
            usableHist[after]++;
            cardsUsable += after - before;
        }

        private int classOf(String model) {
            for (int c = 0; c < classModels.length; c++) if (Objects.equals(classModels[c], model)) return c;
            classModels = java.util.Arrays.copyOf(classModels, classModels.length + 1);
            classModels[classModels.length - 1] = model;
            classHists = java.util.Arrays.copyOf(classHists, classHists.length + 1);
            classHists[classHists.length - 1] = new int[1];
            return classModels.length - 1;
        }
    }

    public Inventory copy() {
        Inventory c = new Inventory();
        for (NodeState n : nodes.values()) {
            NodeState nc = n.copy();
            c.nodes.put(nc.nodeId, nc);
            c.nodesById.put(nc.nodeId, nc);
            SupernodeState sc = c.supernodes.computeIfAbsent(nc.supernodeId, SupernodeState::new);
            sc.nodes.put(nc.nodeId, nc);
            nc.supernode = sc;
        }
        for (Map.Entry<String, SupernodeState> e : supernodes.entrySet()) {
            SupernodeState src = e.getValue();
            SupernodeState sc = c.supernodes.computeIfAbsent(e.getKey(), SupernodeState::new);
            sc.spareRule = src.spareRule;
            sc.cardsTotal = src.cardsTotal;
            sc.cardsUsable = src.cardsUsable;
            sc.lentCards = src.lentCards;
            sc.copySummariesFrom(src);
        }
        c.cardsByJob.putAll(cardsByJob); // lists are immutable
        c.lentJobs.addAll(lentJobs);
        c.cardsAllocated = cardsAllocated;
        c.cardsTotal = cardsTotal;
        return c;
    }

    // ---- mutations -------------------------------------------------------------------------------------------

    /** Adds a node, or replaces its topology and cards when it registers again. Held cards must still exist. */
    public void upsertNode(NodeSpec spec) {
        NodeState n = nodes.get(spec.nodeId());
        if (n != null) {
            for (int i = spec.cards().size(); i < n.holders.length; i++) {
                if (n.holders[i] != null) {
                    throw new AllocationConflict("node " + spec.nodeId() + " re-registered without card " + i
                            + " which is held by " + n.holders[i]);
                }
            }
            SupernodeState old = n.supernode;
            old.lentCards -= lentCardsOn(n);
            old.cardsTotal -= n.holders.length;
            old.removeNode(n, n.cardsUsable());
            cardsTotal -= n.holders.length;
            old.nodes.remove(n.nodeId);
        } else {
            n = new NodeState(spec.nodeId());
            nodes.put(n.nodeId, n);
            nodesById.put(n.nodeId, n);
        }
        int count = spec.cards().size();
        Holder[] holders = new Holder[count];
        if (n.holders != null) System.arraycopy(n.holders, 0, holders, 0, Math.min(count, n.holders.length));
        n.supernodeId = spec.supernodeId();
        n.tiers = spec.tiers();
        n.models = new String[count];
        n.memoryMib = new long[count];
        n.healthy = new boolean[count];
        n.holders = holders;
        String single = count == 0 ? null : spec.cards().get(0).model();
        int freeHealthy = 0;
        for (CardSpec c : spec.cards()) {
            n.models[c.index()] = c.model();
            n.memoryMib[c.index()] = c.memoryMib();
            n.healthy[c.index()] = c.healthy();
            if (c.healthy() && holders[c.index()] == null) freeHealthy++;
            if (single != null && !single.equals(c.model())) single = null;
        }
        n.singleModel = single;
        n.cardsFreeHealthy = freeHealthy;
        SupernodeState sn = supernodes.computeIfAbsent(n.supernodeId, SupernodeState::new);
        sn.nodes.put(n.nodeId, n);
        n.supernode = sn;
        sn.cardsTotal += count;
        sn.lentCards += lentCardsOn(n);
        sn.addNode(n);
        cardsTotal += count;
        index = null;
    }

    private int lentCardsOn(NodeState n) {
        if (lentJobs.isEmpty()) return 0;
        int k = 0;
        for (Holder h : n.holders) if (h != null && lentJobs.contains(h.jobId())) k++;
        return k;
    }

    private void markLent(String jobId, List<CardRef> cards) {
        lentJobs.add(jobId);
        countLent(cards, 1);
    }

    /** Counts the job's cards as lent on their supernodes (+1) or no longer (-1). */
    private void countLent(List<CardRef> cards, int sign) {
        for (CardRef c : cards) nodesById.get(c.nodeId()).supernode.lentCards += sign;
    }

    public void setNodeOnline(String nodeId, boolean online) {
        NodeState n = node(nodeId);
        int before = n.cardsUsable();
        n.online = online;
        n.supernode.usableChanged(n, before);
    }

    public void setNodeCordoned(String nodeId, boolean cordoned) {
        NodeState n = node(nodeId);
        int before = n.cardsUsable();
        n.cordoned = cordoned;
        n.supernode.usableChanged(n, before);
    }

    public void setCardHealthy(CardRef card, boolean healthy) {
        NodeState n = node(card.nodeId());
        checkIndex(n, card);
        int i = card.index();
        if (n.healthy[i] == healthy) return;
        int before = n.cardsUsable();
        n.healthy[i] = healthy;
        if (n.holders[i] == null) n.cardsFreeHealthy += healthy ? 1 : -1;
        n.supernode.usableChanged(n, before);
    }

    public void setSpareRule(String supernodeId, SpareRule rule) {
        Objects.requireNonNull(rule, "rule");
        SupernodeState sn = supernodes.get(supernodeId);
        if (sn == null) {
            sn = new SupernodeState(supernodeId);
            supernodes.put(supernodeId, sn);
            index = null;
        }
        sn.spareRule = rule;
    }

    /**
     * Gives every card of {@code placement} to {@code holder}, or none of them. The job must hold nothing yet:
     * callers release the previous attempt first.
     */
    public void allocate(Holder holder, Placement placement) {
        allocateCards(holder, placement.cards());
    }

    /**
     * As {@link #allocate(Holder, Placement)}; {@code lent}: the job runs on lent spare cards and may be evicted when
     * a replacement needs them ({@link #isLent}), until it releases its cards.
     */
    public void allocate(Holder holder, Placement placement, boolean lent) {
        allocateCards(holder, placement.cards());
        if (lent) markLent(holder.jobId(), cardsByJob.get(holder.jobId()));
    }

    /** As {@link #allocate(Holder, Placement)}, from a plain card list (used to restore a job's cards). */
    public void allocateCards(Holder holder, List<CardRef> cards) {
        if (cardsByJob.containsKey(holder.jobId())) {
            throw new AllocationConflict("job " + holder.jobId() + " already holds cards; release them before allocating");
        }
        HashSet<CardRef> seen = new HashSet<>(cards.size() * 2);
        for (CardRef c : cards) {
            if (!seen.add(c)) throw new AllocationConflict("placement for " + holder + " names card " + c + " twice");
            NodeState n = nodesById.get(c.nodeId());
            if (n == null) throw new AllocationConflict("placement for " + holder + " names unknown node " + c.nodeId());
            if (c.index() >= n.holders.length) throw new AllocationConflict("placement for " + holder + " names unknown card " + c);
            if (n.holders[c.index()] != null) {
                throw new AllocationConflict("card " + c + " is held by " + n.holders[c.index()] + ", cannot give it to " + holder);
            }
            if (!n.healthy[c.index()]) throw new AllocationConflict("card " + c + " is unhealthy, cannot give it to " + holder);
            if (!n.online) throw new AllocationConflict("card " + c + " is on offline node, cannot give it to " + holder);
            if (n.cordoned) throw new AllocationConflict("card " + c + " is on cordoned node, cannot give it to " + holder);
        }
        for (CardRef c : cards) {
            NodeState n = nodesById.get(c.nodeId());
            int before = n.cardsUsable();
            n.holders[c.index()] = holder;
            n.cardsFreeHealthy--;
            n.supernode.usableChanged(n, before);
        }
        cardsByJob.put(holder.jobId(), List.copyOf(cards));
        cardsAllocated += cards.size();
    }

    /**
     * Puts back cards a job held before, undoing a speculative {@link #release} on a copy. Unlike allocate it does
     * not require the cards to be healthy or their node available (the job held them while they were), only free.
     */
    public void restore(Holder holder, List<CardRef> cards) {
        if (cardsByJob.containsKey(holder.jobId())) {
            throw new AllocationConflict("job " + holder.jobId() + " already holds cards; cannot restore");
        }
        for (CardRef c : cards) {
            NodeState n = nodesById.get(c.nodeId());
            if (n == null || c.index() >= n.holders.length) throw new AllocationConflict("restore names unknown card " + c);
            if (n.holders[c.index()] != null) throw new AllocationConflict("card " + c + " is held by " + n.holders[c.index()]);
        }
        for (CardRef c : cards) {
            NodeState n = nodesById.get(c.nodeId());
            int before = n.cardsUsable();
            n.holders[c.index()] = holder;
            if (n.healthy[c.index()]) n.cardsFreeHealthy--;
            n.supernode.usableChanged(n, before);
        }
        cardsByJob.put(holder.jobId(), List.copyOf(cards));
        cardsAllocated += cards.size();
    }

    /** As {@link #restore(Holder, List)}, putting back the job's lent mark too when it had one. */
    public void restore(Holder holder, List<CardRef> cards, boolean lent) {
        restore(holder, cards);
        if (lent) markLent(holder.jobId(), cards);
    }

    /** Frees every card the job holds; returns them (empty when it held none). */
    public List<CardRef> release(String jobId) {
        List<CardRef> cards = cardsByJob.get(jobId);
        if (cards == null) return List.of();
        for (CardRef c : cards) {
            Holder h = nodesById.get(c.nodeId()).holders[c.index()];
            if (h == null || !h.jobId().equals(jobId)) {
                throw new AllocationConflict("card " + c + " was recorded for job " + jobId + " but is held by " + h);
            }
        }
        cardsByJob.remove(jobId);
        if (lentJobs.remove(jobId)) countLent(cards, -1);
        for (CardRef c : cards) {
            NodeState n = nodesById.get(c.nodeId());
            int before = n.cardsUsable();
            n.holders[c.index()] = null;
            if (n.healthy[c.index()]) n.cardsFreeHealthy++;
            n.supernode.usableChanged(n, before);
        }
        cardsAllocated -= cards.size();
        return cards;
    }

    // ---- reads -----------------------------------------------------------------------------------------------

    public boolean hasNode(String nodeId) {
        return nodesById.containsKey(nodeId);
    }

    public NodeView nodeView(String nodeId) {
        NodeState n = node(nodeId);
        return new NodeView(n.nodeId, n.supernodeId, n.tiers, n.online, n.cordoned, n.holders.length);
    }

    /** Node ids in id order. */
    public List<String> nodeIds() {
        return List.copyOf(nodes.keySet());
    }

    /** Supernode ids in id order. */
    public List<String> supernodeIds() {
        return List.copyOf(supernodes.keySet());
    }

    /** Node ids of one supernode in id order. */
    public List<String> nodesOf(String supernodeId) {
        SupernodeState s = supernodes.get(supernodeId);
        return s == null ? List.of() : List.copyOf(s.nodes.keySet());
    }

    public int cardCount(String nodeId) {
        return node(nodeId).holders.length;
    }

    public String model(CardRef card) {
        NodeState n = node(card.nodeId());
        checkIndex(n, card);
        return n.models[card.index()];
    }

    public long memoryMib(CardRef card) {
        NodeState n = node(card.nodeId());
        checkIndex(n, card);
        return n.memoryMib[card.index()];
    }

    public boolean healthy(CardRef card) {
        NodeState n = node(card.nodeId());
        checkIndex(n, card);
        return n.healthy[card.index()];
    }

    public Holder holder(CardRef card) {
        NodeState n = node(card.nodeId());
        checkIndex(n, card);
        return n.holders[card.index()];
    }

    /** True when the card could be given to a job right now (ignoring spare rules). */
    public boolean usable(CardRef card) {
        NodeState n = node(card.nodeId());
        checkIndex(n, card);
        return n.usable(card.index());
    }

    /** Cards the job holds, in allocation order; empty when none. */
    public List<CardRef> cardsOf(String jobId) {
        List<CardRef> cards = cardsByJob.get(jobId);
        return cards == null ? List.of() : cards;
    }

    /** True when the job holds cards on a lent placement (evictable when a replacement needs them). */
    public boolean isLent(String jobId) {
        return lentJobs.contains(jobId);
    }

    /** Jobs holding lent placements, in id order. */
    public List<String> lentJobs() {
        List<String> ids = new ArrayList<>(lentJobs);
        Collections.sort(ids);
        return ids;
    }

    /** Job ids that hold cards, in id order. */
    public List<String> holdingJobs() {
        List<String> ids = new ArrayList<>(cardsByJob.keySet());
        Collections.sort(ids);
        return ids;
    }

    public SpareRule spareRule(String supernodeId) {
        SupernodeState s = supernodes.get(supernodeId);
        return s == null ? new SpareRule(0, 0) : s.spareRule;
    }

    /** The supernode's spare count: how many cards its spare rule keeps for replacements. */
    public int spareCount(String supernodeId) {
        SupernodeState s = supernodes.get(supernodeId);
        return s == null ? 0 : s.spareCount();
    }

    /**
     * How many usable cards of the supernode normal placement must leave free: its spare count less the cards lent
     * jobs hold there (lent cards stand in for spares, an eviction gives them back), at least 0. Equal to
     * {@link #spareCount} when nothing is lent.
     */
    public int freeSpareCount(String supernodeId) {
        SupernodeState s = supernodes.get(supernodeId);
        return s == null ? 0 : s.freeSpareCount();
    }

    /** Cards held by lent jobs on the supernode's nodes. */
    public int lentCardCount(String supernodeId) {
        SupernodeState s = supernodes.get(supernodeId);
        return s == null ? 0 : s.lentCards;
    }

    /** Usable cards of a supernode, in (node, index) order. */
    public List<CardRef> usableCards(String supernodeId) {
        SupernodeState s = supernodes.get(supernodeId);
        if (s == null) return List.of();
        List<CardRef> out = new ArrayList<>();
        for (NodeState n : s.nodes.values()) {
            for (int i = 0; i < n.holders.length; i++) if (n.usable(i)) out.add(new CardRef(n.nodeId, i));
        }
        return out;
    }

    /** How many usable cards the supernode has (spares included). */
    public int usableCardCount(String supernodeId) {
        SupernodeState s = supernodes.get(supernodeId);
        return s == null ? 0 : s.cardsUsable;
    }

    /**
     * The card's status. Spares are not fixed cards: the last {@code freeSpareCount} usable cards of a supernode (in
     * (node, index) order) are shown as SPARE, and normal placement leaves that many usable cards free (the spare
     * count, less cards of lent jobs, which stand in for spares).
     */
    public CardStatus status(CardRef card) {
        NodeState n = node(card.nodeId());
        checkIndex(n, card);
        int i = card.index();
        if (n.holders[i] != null) return CardStatus.ALLOCATED;
        if (!n.healthy[i]) return CardStatus.UNHEALTHY;
        if (!n.online) return CardStatus.OFFLINE;
        if (n.cordoned) return CardStatus.CORDONED;
        int spares = n.supernode.freeSpareCount();
        if (spares == 0) return CardStatus.FREE;
        // Walk usable cards from the end of the supernode until `spares` have been counted.
        int seen = 0;
        for (NodeState m : n.supernode.nodes.descendingMap().values()) {
            for (int k = m.holders.length - 1; k >= 0; k--) {
                if (!m.usable(k)) continue;
                if (m == n && k == i) return CardStatus.SPARE;
                if (++seen == spares) return CardStatus.FREE;
            }
        }
        return CardStatus.FREE;
    }

    public int totalCards() {
        return cardsTotal;
    }

    public int allocatedCards() {
        return cardsAllocated;
    }

    /** Usable cards in the whole cluster, spares included. */
    public int usableCardCount() {
        int total = 0;
        for (SupernodeState s : supernodes.values()) total += s.cardsUsable;
        return total;
    }

    // ---- index-based reads for policies (valid until the next upsertNode) --------------------------------------

    public int supernodeCount() {
        return index().length;
    }

    public String supernodeIdAt(int s) {
        return index()[s].supernodeId;
    }

    /** Tiers above the supernode, outermost first (those of its first node). */
    public List<String> tiersAt(int s) {
        return index()[s].tiers;
    }

    public int totalCardsAt(int s) {
        return index()[s].cardsTotal;
    }

    /** Usable cards of supernode {@code s}, spares included, any model. */
    public int usableCardsAt(int s) {
        return index()[s].cardsUsable;
    }

    public int spareCountAt(int s) {
        return index()[s].spareCount();
    }

    /** {@link #freeSpareCount(String)} of supernode s: the usable cards normal placement must leave free there. */
    public int freeSpareCountAt(int s) {
        return index()[s].freeSpareCount();
    }

    public int nodeCountAt(int s) {
        return index()[s].nodeArray.length;
    }

    public String nodeIdAt(int s, int k) {
        return index()[s].nodeArray[k].nodeId;
    }

    public int nodeCardsAt(int s, int k) {
        return index()[s].nodeArray[k].holders.length;
    }

    /** Usable cards of node k of supernode s whose model is accepted ({@code models} empty accepts any). */
    public int nodeUsableAt(int s, int k, Set<String> models) {
        return index()[s].nodeArray[k].cardsUsable(models);
    }

    /** The first {@code limit} usable card indices of node k of supernode s with an accepted model. */
    public List<Integer> nodeUsableIndicesAt(int s, int k, Set<String> models, int limit) {
        NodeState n = index()[s].nodeArray[k];
        List<Integer> out = new ArrayList<>(Math.min(limit, n.holders.length));
        if (!n.available()) return out;
        for (int i = 0; i < n.holders.length && out.size() < limit; i++) {
            if (n.healthy[i] && n.holders[i] == null && (models.isEmpty() || models.contains(n.models[i]))) out.add(i);
        }
        return out;
    }

    /** The most cards any node has (0 without nodes): histograms have {@code nodeCardsMax() + 1} buckets. */
    public int nodeCardsMax() {
        index();
        return nodeCardsMax;
    }

    /**
     * Writes into {@code hist[offset + x]}, for x = 0..{@link #nodeCardsMax()}, how many nodes of supernode s have x
     * usable cards of an accepted model ({@code models} empty accepts any), in O(model classes x buckets) without
     * reading a node. Returns false, leaving {@code hist} unchanged, when that needs a node read: the supernode has
     * nodes of mixed models and {@code models} is not empty.
     */
    public boolean usableHistogramAt(int s, Set<String> models, int[] hist, int offset) {
        SupernodeState sn = index()[s];
        int width = nodeCardsMax + 1;
        if (models.isEmpty()) {
            int[] h = sn.usableHist;
            int n = Math.min(width, h.length);
            System.arraycopy(h, 0, hist, offset, n);
            java.util.Arrays.fill(hist, offset + n, offset + width, 0);
            return true;
        }
        if (sn.mixedNodes > 0) return false;
        java.util.Arrays.fill(hist, offset, offset + width, 0);
        int counted = 0;
        for (int c = 0; c < sn.classModels.length; c++) {
            if (sn.classModels[c] == null || !models.contains(sn.classModels[c])) continue;
            int[] h = sn.classHists[c]; // may be longer than width (nodes re-registered smaller): zeros there
            for (int x = 1, end = Math.min(width, h.length); x < end; x++) {
                hist[offset + x] += h[x];
                counted += h[x];
            }
        }
        hist[offset] = sn.nodeArray.length - counted; // nodes of other models have none of the accepted ones
        return true;
    }

    /** The model of every card of node k of supernode s when they are all the same, else null. */
    public String nodeModelAt(int s, int k) {
        return index()[s].nodeArray[k].singleModel;
    }

    /** Tier domains: distinct path prefixes of the supernodes' tiers, "" (the cluster) included. */
    public int tierDomainCount() {
        index();
        return domainPaths.length;
    }

    /** Domains in path order: the tier path prefix joined by "/" ("" = the cluster). */
    public String tierDomainPathAt(int d) {
        index();
        return domainPaths[d];
    }

    /** How many (supernode, depth) entries domain d has. */
    public int tierDomainSizeAt(int d) {
        index();
        return domainSupernodes[d].length;
    }

    /** Entry i of domain d: a supernode index (entries in supernode order). */
    public int tierDomainSupernodeAt(int d, int i) {
        index();
        return domainSupernodes[d][i];
    }

    /** Entry i of domain d: how many tiers of that supernode the domain's path covers. */
    public int tierDomainDepthAt(int d, int i) {
        index();
        return domainDepths[d][i];
    }

    /** True when the node is online and not cordoned. */
    public boolean nodeAvailable(String nodeId) {
        return node(nodeId).available();
    }

    /** True when the card exists, is healthy, its node available, and it is unheld or held by {@code jobId}. */
    public boolean keepableFor(CardRef card, String jobId) {
        NodeState n = nodesById.get(card.nodeId());
        if (n == null || card.index() >= n.holders.length) return false;
        Holder h = n.holders[card.index()];
        return (h == null || h.jobId().equals(jobId)) && n.healthy[card.index()] && n.available();
    }

    /** {s, k} of a node, for the index-based reads. */
    public int[] locate(String nodeId) {
        index();
        NodeState n = node(nodeId);
        return new int[] {n.supernodeIndex, n.nodeIndex};
    }

    private SupernodeState[] index() {
        SupernodeState[] idx = index;
        if (idx != null) return idx;
        idx = supernodes.values().toArray(new SupernodeState[0]);
        int cardsMax = 0;
        for (NodeState n : nodes.values()) cardsMax = Math.max(cardsMax, n.holders.length);
        nodeCardsMax = cardsMax;
        TreeMap<String, List<int[]>> domains = new TreeMap<>();
        for (int s = 0; s < idx.length; s++) {
            SupernodeState sn = idx[s];
            sn.nodeArray = sn.nodes.values().toArray(new NodeState[0]);
            sn.tiers = sn.nodeArray.length == 0 ? List.of() : sn.nodeArray[0].tiers;
            for (int k = 0; k < sn.nodeArray.length; k++) {
                sn.nodeArray[k].supernodeIndex = s;
                sn.nodeArray[k].nodeIndex = k;
            }
            for (int d = sn.tiers.size(); d >= 0; d--) {
                domains.computeIfAbsent(String.join("/", sn.tiers.subList(0, d)), x -> new ArrayList<>()).add(new int[] {s, d});
            }
        }
        domainPaths = domains.keySet().toArray(new String[0]);
        domainSupernodes = new int[domainPaths.length][];
        domainDepths = new int[domainPaths.length][];
        for (int d = 0; d < domainPaths.length; d++) {
            List<int[]> members = domains.get(domainPaths[d]);
            domainSupernodes[d] = new int[members.size()];
            domainDepths[d] = new int[members.size()];
            for (int i = 0; i < members.size(); i++) {
                domainSupernodes[d][i] = members.get(i)[0];
                domainDepths[d][i] = members.get(i)[1];
            }
        }
        index = idx;
        return idx;
    }

    private NodeState node(String nodeId) {
        NodeState n = nodesById.get(nodeId);
        if (n == null) throw new IllegalArgumentException("unknown node " + nodeId);
        return n;
    }

    private static void checkIndex(NodeState n, CardRef card) {
        if (card.index() >= n.holders.length) {
            throw new IllegalArgumentException("node " + n.nodeId + " has " + n.holders.length + " cards, no card " + card.index());
        }
    }
}
