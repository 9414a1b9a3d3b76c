package io.cardinal.consensus;

import org.apache.ratis.util.CodeInjectionForTesting;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Set;

/**
 * TEST ONLY (servers started with test hooks): cuts the Raft traffic between a set of replicas and the rest for a
 * bounded time, as a network partition would, through Ratis' own test injection points. Every replica of the cluster
 * must be told the same set: each refuses AppendEntries, votes and snapshots that cross the cut, in both directions.
 * Client traffic (reads, barriers, admin) is not cut. The cut heals by itself after {@code millis}.
 */
public final class RaftIsolation {
    private static final Logger LOG = LoggerFactory.getLogger(RaftIsolation.class);
    /** Ratis' injection points (package-private constants of RaftServerImpl, stable since Ratis 2). */
    static final Set<String> POINTS = Set.of("RaftServerImpl.appendEntries", "RaftServerImpl.requestVote",
            "RaftServerImpl.installSnapshot");
    /** Longest cut a test may ask for, so that a forgotten hook cannot leave a cluster split. */
    public static final long MAX_MILLIS = 120_000;

    private RaftIsolation() {
    }

    /** Cuts {@code isolated} from the other replicas for {@code millis} (0 heals at once). */
    public static void isolate(Set<String> isolated, long millis) {
        if (millis < 0 || millis > MAX_MILLIS) throw new IllegalArgumentException("millis must be 0.." + MAX_MILLIS + ", got " + millis);
        Set<String> cut = Set.copyOf(isolated);
        long untilNanos = System.nanoTime() + millis * 1_000_000L;
        CodeInjectionForTesting.Code code = (localId, remoteId, args) -> {
            if (System.nanoTime() - untilNanos >= 0) return false;
            if (localId == null || remoteId == null) return false;
            boolean localIn = cut.contains(localId.toString());
            if (localIn == cut.contains(remoteId.toString())) return false;
            throw new IllegalStateException("TEST HOOK: Raft traffic from " + remoteId + " to " + localId + " is cut");
        };
        for (String point : POINTS) {
            if (millis == 0) CodeInjectionForTesting.remove(point);
            else CodeInjectionForTesting.put(point, code);
        }
        LOG.warn("TEST HOOK: Raft traffic between {} and the other replicas cut for {} ms", cut, millis);
    }
}
