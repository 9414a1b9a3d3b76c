package io.cardinal.chaos;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The catalogue of injectable bugs (test-only; the servers read {@code -Dcardinal.injectBug=NAME}, see
 * {@code io.cardinal.state.InjectedBugs}): which checker must catch each, and the faults that expose it.
 */
public final class Bugs {
    /**
     * {@code agents}: node agents the run needs to show the bug (0: none). {@code minHoldMillis}: the shortest fault
     * hold that exposes it (0: the profile's); a run's faults are held at least this long.
     */
    public record Bug(String name, String checker, List<String> nemeses, String what, int clients, int agents, long minHoldMillis) {
        Bug(String name, String checker, List<String> nemeses, String what, int clients) {
            this(name, checker, nemeses, what, clients, 0, 0);
        }

        Bug(String name, String checker, List<String> nemeses, String what) {
            this(name, checker, nemeses, what, 4);
        }
    }

    public static final Map<String, Bug> ALL = new LinkedHashMap<>();

    static {
        add(new Bug("ack-before-commit", "durability", List.of("kill-leader-while-isolated"),
                "the leader replies before the entry commits; an isolated leader that dies loses acknowledged writes", 16));
        add(new Bug("skip-double-allocation-check", "card-exclusive", List.of("kill-random", "pause-random"),
                "placement reuses a running job's cards and apply skips the one-holder check"));
        add(new Bug("reuse-attempt", "attempt-fencing", List.of("kill-random", "pause-random"),
                "a restart keeps the old attempt number (fencing token)"));
        add(new Bug("lose-event-seq", "event-sequence", List.of("kill-random", "pause-random"),
                "the event sequence skips a number every 50 events"));
        add(new Bug("nondeterministic-apply", "convergence", List.of("kill-random", "pause-random"),
                "apply reads the local clock, so replicas' states diverge"));
        add(new Bug("stale-read", "linearizable", List.of("pause-random"),
                "linearizable reads are served from the replica's local state without a read index"));
        add(new Bug("never-restart", "liveness", List.of("kill-random", "pause-random"),
                "interrupted jobs are never placed again"));
        add(new Bug("assign-without-hold", "agent-attempts", List.of("agent-crash"),
                "the gateway sends a restarted job's Assign at once, while a node (a crashed agent's orphans, a lost node) may still run the old attempt",
                // the crashed agent must stay down past the heartbeat TTL (3 s) plus the restart elsewhere, else it
                // comes back, kills its orphans itself and the overlap never happens
                4, 4, 7_000));
    }

    private static void add(Bug b) {
        ALL.put(b.name(), b);
    }

    private Bugs() {
    }
}
