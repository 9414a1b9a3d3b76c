package io.cardinal.state;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Holder;
import io.cardinal.protocol.v1.CardRecord;
import io.cardinal.protocol.v1.JobRecord;
import io.cardinal.protocol.v1.JobSpec;
import io.cardinal.protocol.v1.JobState;
import io.cardinal.protocol.v1.NodeRecord;
import io.cardinal.protocol.v1.QuotaRecord;
import io.cardinal.protocol.v1.SupernodeRule;
import io.cardinal.protocol.v1.TaskPlacement;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * DESIGN.md's invariants checked from the applied records alone, independently of the Applier's own checks (which
 * are the code under test). Throws AssertionError naming the invariant and what broke it.
 */
public final class InvariantChecker {
    private InvariantChecker() {
    }

    private static void fail(int invariant, String msg) {
        throw new AssertionError("invariant " + invariant + ": " + msg);
    }

    /** Invariants 1-3 at rest, plus the agreement of the derived inventory with the records. */
    public static void checkAtRest(ClusterState s) {
        Map<CardRef, Holder> holders = new HashMap<>();
        for (JobRecord j : s.jobs().values()) {
            boolean holds = ClusterState.holdsCards(j.getState());
            if (j.getLent() != s.inventory().isLent(j.getJobId())) {
                fail(1, "job " + j.getJobId() + " record says lent=" + j.getLent() + ", inventory " + s.inventory().isLent(j.getJobId()));
            }
            if (!holds) {
                if (j.getPlacement().getTasksCount() != 0) fail(1, "job " + j.getJobId() + " in " + j.getState() + " keeps a placement");
                if (!s.inventory().cardsOf(j.getJobId()).isEmpty()) fail(1, "inventory gives cards to " + j.getJobId() + " in " + j.getState());
                continue;
            }
            if (j.getAttempt() < 1) fail(4, "job " + j.getJobId() + " holds cards at attempt " + j.getAttempt());
            if (j.getRestoreStep() > j.getCheckpointStep()) fail(4, "job " + j.getJobId() + " restores from a step never committed");
            checkShape(s, j);
            Holder h = new Holder(j.getJobId(), j.getAttempt());
            for (TaskPlacement t : j.getPlacement().getTasksList()) {
                NodeRecord n = s.nodes().get(t.getNodeId());
                for (int idx : t.getCardIndicesList()) {
                    CardRef c = new CardRef(t.getNodeId(), idx);
                    Holder prev = holders.put(c, h);
                    if (prev != null) fail(1, "card " + c + " held by " + prev + " and " + h);
                    if (!n.getOnline()) fail(2, "card " + c + " of " + j.getJobId() + " is on offline node");
                    if (!n.getCards(idx).getHealthy()) fail(2, "card " + c + " of " + j.getJobId() + " is unhealthy");
                }
            }
            Set<CardRef> inInventory = new TreeSet<>(s.inventory().cardsOf(j.getJobId()));
            Set<CardRef> inRecord = new TreeSet<>();
            for (TaskPlacement t : j.getPlacement().getTasksList()) {
                for (int idx : t.getCardIndicesList()) inRecord.add(new CardRef(t.getNodeId(), idx));
            }
            if (!inInventory.equals(inRecord)) fail(1, "inventory has " + inInventory + " for " + j.getJobId() + ", record " + inRecord);
        }
        for (NodeRecord n : s.nodes().values()) {
            if (s.inventory().cardCount(n.getNodeId()) != n.getCardsCount()) fail(0, "inventory card count of " + n.getNodeId());
            for (CardRecord c : n.getCardsList()) {
                CardRef ref = new CardRef(n.getNodeId(), c.getIndex());
                Holder want = holders.get(ref);
                Holder got = s.inventory().holder(ref);
                if (want == null ? got != null : !want.equals(got)) fail(1, "inventory says " + ref + " is held by " + got + ", records say " + want);
                if (s.inventory().healthy(ref) != c.getHealthy()) fail(2, "inventory health of " + ref + " disagrees with the record");
            }
            var view = s.inventory().nodeView(n.getNodeId());
            if (view.online() != n.getOnline() || view.cordoned() != n.getCordoned()) fail(2, "inventory flags of " + n.getNodeId());
        }
        for (var e : new TreeMap<>(keys(s)).entrySet()) {
            JobRecord j = s.jobs().get(e.getValue());
            if (j == null || !j.getIdempotencyKey().equals(e.getKey())) fail(4, "idempotency key " + e.getKey() + " -> " + e.getValue());
        }
    }

    private static Map<String, String> keys(ClusterState s) {
        Map<String, String> out = new HashMap<>();
        for (JobRecord j : s.jobs().values()) {
            if (!j.getIdempotencyKey().isEmpty()) {
                String id = s.jobIdForKey(j.getIdempotencyKey());
                out.put(j.getIdempotencyKey(), id == null ? "<missing>" : id);
            }
        }
        return out;
    }

    /** Invariant 3: tasks x cardsPerTask distinct cards, models, supernode rule and cap. */
    static void checkShape(ClusterState s, JobRecord j) {
        JobSpec spec = j.getSpec();
        var p = j.getPlacement();
        if (p.getTasksCount() != spec.getTasks()) fail(3, j.getJobId() + " has " + p.getTasksCount() + " tasks, wants " + spec.getTasks());
        Set<String> supernodes = new TreeSet<>();
        Set<CardRef> seen = new HashSet<>();
        for (int i = 0; i < p.getTasksCount(); i++) {
            TaskPlacement t = p.getTasks(i);
            if (t.getTask() != i) fail(3, j.getJobId() + " task " + i + " listed as " + t.getTask());
            if (t.getCardIndicesCount() != spec.getCardsPerTask()) fail(3, j.getJobId() + " task " + i + " has " + t.getCardIndicesCount() + " cards");
            NodeRecord n = s.nodes().get(t.getNodeId());
            if (n == null) fail(3, j.getJobId() + " on unknown node " + t.getNodeId());
            supernodes.add(n.getSupernodeId());
            for (int idx : t.getCardIndicesList()) {
                if (idx < 0 || idx >= n.getCardsCount()) fail(3, j.getJobId() + " on missing card " + t.getNodeId() + "/" + idx);
                if (!seen.add(new CardRef(t.getNodeId(), idx))) fail(1, j.getJobId() + " names " + t.getNodeId() + "/" + idx + " twice");
                String model = n.getCards(idx).getModel();
                if (spec.getCardModelsCount() > 0 && !spec.getCardModelsList().contains(model)) fail(3, j.getJobId() + " got model " + model);
            }
        }
        if (spec.getSupernode() == SupernodeRule.SUPERNODE_REQUIRED && supernodes.size() != 1) fail(3, j.getJobId() + " spans " + supernodes);
        if (spec.getMaxSupernodes() > 0 && supernodes.size() > spec.getMaxSupernodes()) fail(3, j.getJobId() + " spans " + supernodes);
    }

    /**
     * Invariants that relate two consecutive states: attempts, checkpoint steps and restart counts only grow, a
     * terminal job never changes, a placement changes only with a new attempt; a new placement avoids cordoned nodes
     * and keeps its tenant within quota.
     */
    public static void checkStep(NavigableMap<String, JobRecord> before, ClusterState after) {
        Set<String> tenantsWithNewCards = new TreeSet<>();
        for (JobRecord now : after.jobs().values()) {
            JobRecord was = before.get(now.getJobId());
            long wasAttempt = was == null ? 0 : was.getAttempt();
            if (was != null) {
                if (ClusterState.isTerminal(was.getState()) && !was.equals(now)) fail(4, now.getJobId() + " changed after " + was.getState());
                if (now.getAttempt() < was.getAttempt()) fail(4, now.getJobId() + " attempt " + was.getAttempt() + " -> " + now.getAttempt());
                if (now.getCheckpointStep() < was.getCheckpointStep()) fail(4, now.getJobId() + " checkpoint went back");
                if (now.getRestartsTotal() < was.getRestartsTotal()) fail(4, now.getJobId() + " total restart count went back");
                // The budget count may only fall when the committed checkpoint moved past the restore point.
                if (now.getRestarts() < was.getRestarts() && (now.getRestarts() != 0 || now.getCheckpointStep() <= was.getCheckpointStep())) {
                    fail(4, now.getJobId() + " restart count went back without progress");
                }
                if (!now.getSpec().equals(was.getSpec()) || now.getSubmitSeq() != was.getSubmitSeq()) fail(4, now.getJobId() + " spec changed");
                if (now.getAttempt() == was.getAttempt() && ClusterState.holdsCards(was.getState())
                        && ClusterState.holdsCards(now.getState()) && !now.getPlacement().equals(was.getPlacement())) {
                    fail(4, now.getJobId() + " moved cards without a new attempt");
                }
            } else if (now.getAttempt() > 1) {
                fail(4, "new job " + now.getJobId() + " starts at attempt " + now.getAttempt());
            }
            if (now.getAttempt() > wasAttempt && ClusterState.holdsCards(now.getState())) {
                for (TaskPlacement t : now.getPlacement().getTasksList()) {
                    if (after.nodes().get(t.getNodeId()).getCordoned()) fail(2, now.getJobId() + " newly placed on cordoned " + t.getNodeId());
                }
                tenantsWithNewCards.add(now.getSpec().getTenant());
            }
        }
        for (JobRecord was : before.values()) {
            if (!after.jobs().containsKey(was.getJobId())) fail(4, was.getJobId() + " disappeared");
        }
        for (String tenant : tenantsWithNewCards) {
            QuotaRecord q = after.quotas().get(tenant);
            if (q == null || q.getBorrowLimitCards() < 0) continue;
            long held = 0;
            for (JobRecord j : after.jobs().values()) {
                if (j.getSpec().getTenant().equals(tenant) && ClusterState.holdsCards(j.getState())) {
                    held += (long) j.getSpec().getTasks() * j.getSpec().getCardsPerTask();
                }
            }
            if (held > q.getCards() + q.getBorrowLimitCards()) {
                fail(5, "tenant " + tenant + " took new cards and holds " + held + " > " + q.getCards() + " + " + q.getBorrowLimitCards());
            }
        }
    }

    /** Counts of jobs per state, for coverage statistics. */
    public static Map<JobState, Integer> states(ClusterState s) {
        Map<JobState, Integer> out = new TreeMap<>();
        for (JobRecord j : s.jobs().values()) out.merge(j.getState(), 1, Integer::sum);
        return out;
    }
}
