package io.cardinal.server.gateway;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Heartbeat deadlines, in memory on the leader only. A node silent past its TTL is probed once; if the probe is
 * not answered within the probe window it is declared lost. Not thread-safe: the gateway thread owns it.
 */
final class FailureDetector {
    /** What the gateway must do for a node: probe it, or declare it lost. */
    record Action(String nodeId, boolean probe, long silentMillis) {
    }

    private static final class Deadline {
        long lastSeenMillis;
        long probedAtMillis = -1;
    }

    private final long ttlMillis;
    private final long probeWindowMillis;
    private final Map<String, Deadline> deadlines = new HashMap<>();

    FailureDetector(long ttlMillis) {
        this.ttlMillis = ttlMillis;
        // The probe answer must come within a slice of the TTL so detection stays within TTL + 0.5 s.
        this.probeWindowMillis = Math.min(400, Math.max(50, ttlMillis / 6));
    }

    /** A new leader: every listed node counts as just seen, so each gets one full TTL of grace. */
    void becameLeader(List<String> nodeIds, long nowMillis) {
        deadlines.clear();
        for (String n : nodeIds) alive(n, nowMillis);
    }

    void alive(String nodeId, long nowMillis) {
        Deadline d = deadlines.computeIfAbsent(nodeId, k -> new Deadline());
        d.lastSeenMillis = Math.max(d.lastSeenMillis, nowMillis);
        d.probedAtMillis = -1;
    }

    /** True while the node has a deadline here (it is being watched and was not declared lost). */
    boolean tracks(String nodeId) {
        return deadlines.containsKey(nodeId);
    }

    void forget(String nodeId) {
        deadlines.remove(nodeId);
    }

    void clear() {
        deadlines.clear();
    }

    /** Nodes to probe (silent past the TTL) and nodes to declare lost (probe unanswered), in node id order. */
    List<Action> due(long nowMillis) {
        List<Action> out = new ArrayList<>();
        for (String nodeId : new java.util.TreeSet<>(deadlines.keySet())) {
            Deadline d = deadlines.get(nodeId);
            long silent = nowMillis - d.lastSeenMillis;
            if (silent < ttlMillis) continue;
            if (d.probedAtMillis < 0) {
                d.probedAtMillis = nowMillis;
                out.add(new Action(nodeId, true, silent));
            } else if (nowMillis - d.probedAtMillis >= probeWindowMillis) {
                deadlines.remove(nodeId);
                out.add(new Action(nodeId, false, silent));
            }
        }
        return out;
    }
}
