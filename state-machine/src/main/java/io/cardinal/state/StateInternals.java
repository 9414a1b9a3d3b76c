package io.cardinal.state;

import io.cardinal.protocol.v1.JobRecord;
import io.cardinal.protocol.v1.Member;
import io.cardinal.protocol.v1.NodeRecord;
import io.cardinal.protocol.v1.QuotaRecord;
import io.cardinal.protocol.v1.SpareRuleRecord;

import java.util.List;
import java.util.TreeMap;

/**
 * Write access to {@link ClusterState} for the apply code only (Java has no friend packages). Do not call it from
 * anywhere else: state changes only by applying events.
 */
public final class StateInternals {
    private StateInternals() {
    }

    public static TreeMap<String, NodeRecord> nodes(ClusterState s) {
        return s.nodes;
    }

    public static TreeMap<String, JobRecord> jobs(ClusterState s) {
        return s.jobs;
    }

    /** Writes a job record and keeps the waiting-queue index in step. */
    public static void putJob(ClusterState s, JobRecord j) {
        s.putJob(j);
    }

    public static TreeMap<String, QuotaRecord> quotas(ClusterState s) {
        return s.quotas;
    }

    public static TreeMap<String, SpareRuleRecord> spareRules(ClusterState s) {
        return s.spareRules;
    }

    public static TreeMap<String, String> keys(ClusterState s) {
        return s.jobIdByKey;
    }

    public static void setMembers(ClusterState s, List<Member> members) {
        s.members = List.copyOf(members);
    }

    public static long nextEventSeq(ClusterState s) {
        // TEST ONLY (chaos suite, -Dcardinal.injectBug): lose-event-seq skips one sequence number in every 50.
        if (io.cardinal.state.InjectedBugs.on("lose-event-seq") && s.lastEventSeq % 50 == 49) ++s.lastEventSeq;
        return ++s.lastEventSeq;
    }

    public static long nextJobNumber(ClusterState s) {
        return ++s.jobsSubmitted;
    }

    public static void setApplied(ClusterState s, long term, long index) {
        if (index < s.appliedIndex) {
            throw new IllegalStateException("applied index must not go back: " + s.appliedIndex + " -> " + index);
        }
        s.appliedTerm = term;
        s.appliedIndex = index;
    }
}
