package io.cardinal.state.controller;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.policy.PlacementPolicy;
import io.cardinal.protocol.v1.CardHealthChanged;
import io.cardinal.protocol.v1.CardInfo;
import io.cardinal.protocol.v1.CordonNode;
import io.cardinal.protocol.v1.DeclareNodeLost;
import io.cardinal.protocol.v1.DrainNode;
import io.cardinal.protocol.v1.Event;
import io.cardinal.protocol.v1.JobFailed;
import io.cardinal.protocol.v1.JobInterrupted;
import io.cardinal.protocol.v1.JobRecord;
import io.cardinal.protocol.v1.NodeCordoned;
import io.cardinal.protocol.v1.NodeDrained;
import io.cardinal.protocol.v1.NodeLost;
import io.cardinal.protocol.v1.NodeRecord;
import io.cardinal.protocol.v1.NodeRegistered;
import io.cardinal.protocol.v1.NodeUncordoned;
import io.cardinal.protocol.v1.RegisterNode;
import io.cardinal.protocol.v1.Reply;
import io.cardinal.protocol.v1.ReportCardHealth;
import io.cardinal.state.Placements;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/** Node commands: registration, cordon/drain, card health and node loss, each with the job restarts it implies. */
final class Nodes {
    static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,128}");
    static final int MAX_CARDS_PER_NODE = 1024;

    private final Batch b;
    private final Jobs jobs;

    Nodes(Batch b, PlacementPolicy policy, Jobs jobs) {
        this.b = b;
        this.jobs = jobs;
    }

    /** Tiers above a supernode (pod, row, hall...); more levels than this is a malformed registration. */
    static final int MAX_TIERS = 16;

    void register(RegisterNode r, Reply.Builder reply) {
        if (!ID.matcher(r.getNodeId()).matches()) throw Rejection.invalid("nodeId: 1..128 of [A-Za-z0-9._-], got \"" + r.getNodeId() + "\"");
        if (!ID.matcher(r.getSupernodeId()).matches()) throw Rejection.invalid("supernodeId: 1..128 of [A-Za-z0-9._-], got \"" + r.getSupernodeId() + "\"");
        if (r.getTiersCount() > MAX_TIERS) throw Rejection.invalid("tiers: at most " + MAX_TIERS + " levels above the supernode, got " + r.getTiersCount());
        for (int i = 0; i < r.getTiersCount(); i++) {
            if (!ID.matcher(r.getTiers(i)).matches()) throw Rejection.invalid("tiers[" + i + "]: 1..128 of [A-Za-z0-9._-], got \"" + r.getTiers(i) + "\"");
        }
        if (r.getCardsCount() < 1 || r.getCardsCount() > MAX_CARDS_PER_NODE) {
            throw Rejection.invalid("cards: a node has 1.." + MAX_CARDS_PER_NODE + " cards, got " + r.getCardsCount());
        }
        for (int i = 0; i < r.getCardsCount(); i++) {
            CardInfo c = r.getCards(i);
            if (c.getIndex() != i) throw Rejection.invalid("cards[" + i + "].index: must be " + i + ", got " + c.getIndex());
            if (c.getModel().isEmpty()) throw Rejection.invalid("cards[" + i + "].model: required");
            if (c.getMemoryMib() < 0) throw Rejection.invalid("cards[" + i + "].memoryMib: must be >= 0");
        }
        NodeRecord old = b.view.nodes().get(r.getNodeId());
        long epoch = old == null ? 1 : old.getEpoch() + 1;
        if (old != null) {
            // A node that registers again ran its work under the old epoch: that work is void.
            for (Map.Entry<String, Set<CardRef>> e : jobsOn(r.getNodeId()).entrySet()) {
                JobRecord j = b.view.jobs().get(e.getKey());
                interruptOnly(j, e.getValue(), "node " + r.getNodeId() + " registered again (epoch " + epoch + ")");
            }
        }
        b.add(Event.newBuilder().setNodeRegistered(NodeRegistered.newBuilder().setNodeId(r.getNodeId())
                .setSupernodeId(r.getSupernodeId()).setEpoch(epoch).addAllCards(r.getCardsList())
                .addAllTiers(r.getTiersList()).setAgentAddress(r.getAgentAddress())));
        reply.setMessage("epoch " + epoch).setEpoch(epoch);
        jobs.schedulePass();
    }

    void cordon(CordonNode c, Reply.Builder reply) {
        NodeRecord n = node(c.getNodeId());
        if (!n.getCordoned()) {
            b.add(Event.newBuilder().setNodeCordoned(NodeCordoned.newBuilder().setNodeId(n.getNodeId())
                    .setReason(c.getReason().isEmpty() ? "cordoned by operator" : c.getReason())));
        } else {
            reply.setMessage("already cordoned");
        }
    }

    void uncordon(io.cardinal.protocol.v1.UncordonNode u, Reply.Builder reply) {
        NodeRecord n = node(u.getNodeId());
        if (n.getCordoned()) {
            b.add(Event.newBuilder().setNodeUncordoned(NodeUncordoned.newBuilder().setNodeId(n.getNodeId())));
            jobs.schedulePass();
        } else {
            reply.setMessage("not cordoned");
        }
    }

    /** Cordons the node and moves every job off it (restart elsewhere from the last checkpoint). */
    void drain(DrainNode d, Reply.Builder reply) {
        NodeRecord n = node(d.getNodeId());
        String reason = d.getReason().isEmpty() ? "drained by operator" : d.getReason();
        if (!n.getCordoned()) {
            b.add(Event.newBuilder().setNodeCordoned(NodeCordoned.newBuilder().setNodeId(n.getNodeId()).setReason(reason)));
        }
        for (Map.Entry<String, Set<CardRef>> e : jobsOn(n.getNodeId()).entrySet()) {
            jobs.restart(b.view.jobs().get(e.getKey()), e.getValue(), "node " + n.getNodeId() + " drained: " + reason, 0, 0);
        }
        b.add(Event.newBuilder().setNodeDrained(NodeDrained.newBuilder().setNodeId(n.getNodeId()).setReason(reason)));
    }

    void cardHealth(ReportCardHealth r, Reply.Builder reply) {
        NodeRecord n = node(r.getCard().getNodeId());
        int idx = r.getCard().getIndex();
        if (idx < 0 || idx >= n.getCardsCount()) {
            throw Rejection.notFound("node " + n.getNodeId() + " has cards 0.." + (n.getCardsCount() - 1) + ", no card " + idx);
        }
        if (n.getCards(idx).getHealthy() == r.getHealthy()) {
            reply.setMessage("card already " + (r.getHealthy() ? "healthy" : "unhealthy"));
            return;
        }
        CardRef card = new CardRef(n.getNodeId(), idx);
        Holder holder = b.view.inventory().holder(card);
        String reason = r.getReason().isEmpty() ? (r.getHealthy() ? "card healthy again" : "card failed") : r.getReason();
        b.add(Event.newBuilder().setCardHealthChanged(CardHealthChanged.newBuilder()
                .setCard(Placements.toProto(card)).setHealthy(r.getHealthy()).setReason(reason)));
        if (holder != null && !r.getHealthy()) {
            jobs.restart(b.view.jobs().get(holder.jobId()), Set.of(card), "card " + card + " failed: " + reason,
                    r.getDetectedMs(), lastStep(r.getProgressList(), holder.jobId()));
            if (holder.jobId() != null) reply.setJobId(holder.jobId());
        }
        jobs.schedulePass();
    }

    void lost(DeclareNodeLost l, Reply.Builder reply) {
        NodeRecord n = node(l.getNodeId());
        if (l.getEpoch() != 0 && l.getEpoch() != n.getEpoch()) {
            throw Rejection.conflict("node " + n.getNodeId() + " is at epoch " + n.getEpoch() + ", not " + l.getEpoch()
                    + "; the report is stale");
        }
        if (!n.getOnline()) {
            reply.setMessage("already lost");
            return;
        }
        String reason = l.getReason().isEmpty() ? "node lost" : l.getReason();
        Map<String, Set<CardRef>> held = jobsOn(n.getNodeId());
        b.add(Event.newBuilder().setNodeLost(NodeLost.newBuilder().setNodeId(n.getNodeId()).setEpoch(n.getEpoch()).setReason(reason)));
        for (Map.Entry<String, Set<CardRef>> e : held.entrySet()) {
            jobs.restart(b.view.jobs().get(e.getKey()), e.getValue(), "node " + n.getNodeId() + " lost: " + reason,
                    l.getDetectedMs(), lastStep(l.getProgressList(), e.getKey()));
        }
        jobs.schedulePass();
    }

    /**
     * Interrupts a job whose node registered again; the scheduling pass after the registration restarts it. With its
     * restart budget used up it fails instead, as {@link Jobs#restart} does.
     */
    private static long lastStep(java.util.List<io.cardinal.protocol.v1.JobProgress> progress, String jobId) {
        for (var p : progress) if (p.getJobId().equals(jobId)) return p.getStep();
        return 0;
    }

    private void interruptOnly(JobRecord j, Set<CardRef> lost, String reason) {
        if (j.getRestarts() >= j.getSpec().getMaxRestarts()) {
            b.add(Event.newBuilder().setJobFailed(JobFailed.newBuilder().setJobId(j.getJobId()).setAttempt(j.getAttempt())
                    .setReason(reason + "; restart budget of " + j.getSpec().getMaxRestarts() + " used up")));
            return;
        }
        var ev = JobInterrupted.newBuilder().setJobId(j.getJobId()).setAttempt(j.getAttempt()).setReason(reason);
        for (CardRef c : lost) ev.addLostCards(Placements.toProto(c));
        b.add(Event.newBuilder().setJobInterrupted(ev));
    }

    /** Jobs holding cards on the node, in job id order, with those cards. */
    private Map<String, Set<CardRef>> jobsOn(String nodeId) {
        Inventory inv = b.view.inventory();
        Map<String, Set<CardRef>> out = new TreeMap<>();
        for (int i = 0; i < inv.cardCount(nodeId); i++) {
            Holder h = inv.holder(new CardRef(nodeId, i));
            if (h != null) out.computeIfAbsent(h.jobId(), k -> new TreeSet<>()).add(new CardRef(nodeId, i));
        }
        return out;
    }

    private NodeRecord node(String id) {
        if (id.isEmpty()) throw Rejection.invalid("nodeId: required");
        NodeRecord n = b.view.nodes().get(id);
        if (n == null) throw Rejection.notFound("no node " + id + "; 'cardinal node list' shows the nodes");
        return n;
    }
}
