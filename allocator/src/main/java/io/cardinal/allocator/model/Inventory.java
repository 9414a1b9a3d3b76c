package io.cardinal.allocator.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Every card of the cluster and who holds it. One writer mutates it (the state machine's apply thread, or the
 * controller's speculative copy); policies only read it. Iteration order is by id everywhere, so two replicas
 * that applied the same events see the same order.
 *
 * <p>Invariants checked on every mutation: a card has at most one holder; a card is given to a holder only while
 * healthy, its node online and not cordoned.
 */
public final class Inventory {
    private final TreeMap<String, NodeState> nodes = new TreeMap<>();
    private final TreeMap<String, SupernodeState> supernodes = new TreeMap<>();
    private final Map<String, List<CardRef>> cardsByJob = new HashMap<>();

    /** A spare rule: keep {@code cards} cards, or {@code percent}% of the supernode's cards, out of normal placement. */
    public record SpareRule(int cards, int percent) {
        public SpareRule {
            if (cards < 0) throw new IllegalArgumentException("spare cards must be >= 0, got " + cards);
            if (percent < 0 || percent > 100) throw new IllegalArgumentException("spare percent must be 0..100, got " + percent);
        }

        int spareCount(int supernodeCards) {
            return Math.max(cards, (int) ((long) supernodeCards * percent / 100));
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

        NodeState(String nodeId) {
            this.nodeId = nodeId;
        }

        NodeState copy() {
            NodeState n = new NodeState(nodeId);
            n.supernodeId = supernodeId;
            n.tiers = tiers;
            n.online = online;
            n.cordoned = cordoned;
            n.models = models.clone();
            n.memoryMib = memoryMib.clone();
            n.healthy = healthy.clone();
            n.holders = holders.clone();
            return n;
        }

        boolean usable(int i) {
            return online && !cordoned && healthy[i] && holders[i] == null;
        }
    }

    private static final class SupernodeState {
        final TreeMap<String, NodeState> nodes = new TreeMap<>();
        SpareRule spareRule = new SpareRule(0, 0);
    }

    public Inventory copy() {
        Inventory c = new Inventory();
        for (NodeState n : nodes.values()) {
            NodeState nc = n.copy();
            c.nodes.put(nc.nodeId, nc);
            c.supernodes.computeIfAbsent(nc.supernodeId, k -> new SupernodeState()).nodes.put(nc.nodeId, nc);
        }
        for (Map.Entry<String, SupernodeState> e : supernodes.entrySet()) {
            c.supernodes.computeIfAbsent(e.getKey(), k -> new SupernodeState()).spareRule = e.getValue().spareRule;
        }
        for (Map.Entry<String, List<CardRef>> e : cardsByJob.entrySet()) c.cardsByJob.put(e.getKey(), new ArrayList<>(e.getValue()));
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
            SupernodeState old = supernodes.get(n.supernodeId);
            old.nodes.remove(n.nodeId);
        } else {
            n = new NodeState(spec.nodeId());
            nodes.put(n.nodeId, n);
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
        for (CardSpec c : spec.cards()) {
            n.models[c.index()] = c.model();
            n.memoryMib[c.index()] = c.memoryMib();
            n.healthy[c.index()] = c.healthy();
        }
        supernodes.computeIfAbsent(n.supernodeId, k -> new SupernodeState()).nodes.put(n.nodeId, n);
    }

    public void setNodeOnline(String nodeId, boolean online) {
        node(nodeId).online = online;
    }

    public void setNodeCordoned(String nodeId, boolean cordoned) {
        node(nodeId).cordoned = cordoned;
    }

    public void setCardHealthy(CardRef card, boolean healthy) {
        NodeState n = node(card.nodeId());
        checkIndex(n, card);
        n.healthy[card.index()] = healthy;
    }

    public void setSpareRule(String supernodeId, SpareRule rule) {
        supernodes.computeIfAbsent(supernodeId, k -> new SupernodeState()).spareRule = Objects.requireNonNull(rule);
    }

    /**
     * Gives every card of {@code placement} to {@code holder}, or none of them. The job must hold nothing yet:
     * callers release the previous attempt first.
     */
    public void allocate(Holder holder, Placement placement) {
        if (cardsByJob.containsKey(holder.jobId())) {
            throw new AllocationConflict("job " + holder.jobId() + " already holds cards; release them before allocating");
        }
        List<CardRef> cards = placement.cards();
        java.util.HashSet<CardRef> seen = new java.util.HashSet<>();
        for (CardRef c : cards) {
            if (!seen.add(c)) throw new AllocationConflict("placement for " + holder + " names card " + c + " twice");
            NodeState n = nodes.get(c.nodeId());
            if (n == null) throw new AllocationConflict("placement for " + holder + " names unknown node " + c.nodeId());
            if (c.index() >= n.holders.length) throw new AllocationConflict("placement for " + holder + " names unknown card " + c);
            if (n.holders[c.index()] != null) {
                throw new AllocationConflict("card " + c + " is held by " + n.holders[c.index()] + ", cannot give it to " + holder);
            }
            if (!n.healthy[c.index()]) throw new AllocationConflict("card " + c + " is unhealthy, cannot give it to " + holder);
            if (!n.online) throw new AllocationConflict("card " + c + " is on offline node, cannot give it to " + holder);
            if (n.cordoned) throw new AllocationConflict("card " + c + " is on cordoned node, cannot give it to " + holder);
        }
        for (CardRef c : cards) nodes.get(c.nodeId()).holders[c.index()] = holder;
        cardsByJob.put(holder.jobId(), new ArrayList<>(cards));
    }

    /** Frees every card the job holds; returns them (empty when it held none). */
    public List<CardRef> release(String jobId) {
        List<CardRef> cards = cardsByJob.remove(jobId);
        if (cards == null) return List.of();
        for (CardRef c : cards) {
            NodeState n = nodes.get(c.nodeId());
            Holder h = n.holders[c.index()];
            if (h == null || !h.jobId().equals(jobId)) {
                throw new AllocationConflict("card " + c + " was recorded for job " + jobId + " but is held by " + h);
            }
            n.holders[c.index()] = null;
        }
        return Collections.unmodifiableList(cards);
    }

    // ---- reads -----------------------------------------------------------------------------------------------

    public boolean hasNode(String nodeId) {
        return nodes.containsKey(nodeId);
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
        return cards == null ? List.of() : Collections.unmodifiableList(cards);
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

    /** How many usable cards of the supernode are held back from normal placement. */
    public int spareCount(String supernodeId) {
        SupernodeState s = supernodes.get(supernodeId);
        if (s == null) return 0;
        int total = 0;
        for (NodeState n : s.nodes.values()) total += n.holders.length;
        return s.spareRule.spareCount(total);
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

    /**
     * The card's status. Spares are not fixed cards: the last {@code spareCount} usable cards of a supernode (in
     * (node, index) order) are shown as SPARE, and normal placement leaves that many usable cards free.
     */
    public CardStatus status(CardRef card) {
        NodeState n = node(card.nodeId());
        checkIndex(n, card);
        int i = card.index();
        if (n.holders[i] != null) return CardStatus.ALLOCATED;
        if (!n.healthy[i]) return CardStatus.UNHEALTHY;
        if (!n.online) return CardStatus.OFFLINE;
        if (n.cordoned) return CardStatus.CORDONED;
        int spares = spareCount(n.supernodeId);
        if (spares > 0) {
            List<CardRef> usable = usableCards(n.supernodeId);
            int pos = usable.indexOf(card);
            if (pos >= usable.size() - spares) return CardStatus.SPARE;
        }
        return CardStatus.FREE;
    }

    public int totalCards() {
        int total = 0;
        for (NodeState n : nodes.values()) total += n.holders.length;
        return total;
    }

    public int allocatedCards() {
        int total = 0;
        for (List<CardRef> c : cardsByJob.values()) total += c.size();
        return total;
    }

    private NodeState node(String nodeId) {
        NodeState n = nodes.get(nodeId);
        if (n == null) throw new IllegalArgumentException("unknown node " + nodeId);
        return n;
    }

    private static void checkIndex(NodeState n, CardRef card) {
        if (card.index() >= n.holders.length) {
            throw new IllegalArgumentException("node " + n.nodeId + " has " + n.holders.length + " cards, no card " + card.index());
        }
    }
}
