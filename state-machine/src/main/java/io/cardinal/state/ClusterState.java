package io.cardinal.state;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import io.cardinal.allocator.model.CardSpec;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.NodeSpec;
import io.cardinal.protocol.v1.CardRecord;
import io.cardinal.protocol.v1.JobRecord;
import io.cardinal.protocol.v1.JobState;
import io.cardinal.protocol.v1.Member;
import io.cardinal.protocol.v1.MetaRecord;
import io.cardinal.protocol.v1.NodeRecord;
import io.cardinal.protocol.v1.QuotaRecord;
import io.cardinal.protocol.v1.SpareRuleRecord;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * The applied view of the cluster. It is changed only by {@link io.cardinal.state.apply.Applier} (events, in log
 * order) and by {@link #load} (records read back from the store). Records are immutable protobuf values; the
 * card holders live in the allocator's {@link Inventory}, derived from the records of placed jobs.
 *
 * <p>Not thread-safe: one writer; readers synchronize outside (the consensus adapter holds a read-write lock).
 */
public final class ClusterState {
    final TreeMap<String, NodeRecord> nodes = new TreeMap<>();
    final TreeMap<String, JobRecord> jobs = new TreeMap<>();
    final TreeMap<String, QuotaRecord> quotas = new TreeMap<>();
    final TreeMap<String, SpareRuleRecord> spareRules = new TreeMap<>();
    final TreeMap<String, String> jobIdByKey = new TreeMap<>();
    /** Jobs waiting for cards (pending or interrupted), in queue order; kept in step with {@link #jobs}. */
    final java.util.TreeSet<QueueKey> waiting = new java.util.TreeSet<>();

    /** Queue order: priority high first, then submit order, then id. All three never change for a job. */
    record QueueKey(int priority, long submitSeq, String jobId) implements Comparable<QueueKey> {
        static QueueKey of(JobRecord j) {
            return new QueueKey(j.getSpec().getPriority(), j.getSubmitSeq(), j.getJobId());
        }

        @Override
        public int compareTo(QueueKey o) {
            int c = Integer.compare(o.priority, priority);
            if (c != 0) return c;
            c = Long.compare(submitSeq, o.submitSeq);
            return c != 0 ? c : jobId.compareTo(o.jobId);
        }
    }
    List<Member> members = List.of();
    Inventory inventory = new Inventory();
    long lastEventSeq;
    long jobsSubmitted;
    long appliedTerm;
    long appliedIndex;

    /** A deep copy: the controller's speculative view starts as one. */
    public ClusterState copy() {
        ClusterState c = new ClusterState();
        c.nodes.putAll(nodes);
        c.jobs.putAll(jobs);
        c.quotas.putAll(quotas);
        c.spareRules.putAll(spareRules);
        c.jobIdByKey.putAll(jobIdByKey);
        c.waiting.addAll(waiting);
        c.members = members;
        c.inventory = inventory.copy();
        c.lastEventSeq = lastEventSeq;
        c.jobsSubmitted = jobsSubmitted;
        c.appliedTerm = appliedTerm;
        c.appliedIndex = appliedIndex;
        return c;
    }

    // ---- reads ---------------------------------------------------------------------------------------------

    public NavigableMap<String, NodeRecord> nodes() {
        return Collections.unmodifiableNavigableMap(nodes);
    }

    public NavigableMap<String, JobRecord> jobs() {
        return Collections.unmodifiableNavigableMap(jobs);
    }

    public NavigableMap<String, QuotaRecord> quotas() {
        return Collections.unmodifiableNavigableMap(quotas);
    }

    public NavigableMap<String, SpareRuleRecord> spareRules() {
        return Collections.unmodifiableNavigableMap(spareRules);
    }

    /** Ids of the jobs waiting for cards (pending or interrupted), in queue order. */
    public Iterable<String> waitingJobIds() {
        return () -> waiting.stream().map(QueueKey::jobId).iterator();
    }

    public static boolean isWaiting(JobState s) {
        return s == JobState.PENDING || s == JobState.INTERRUPTED;
    }

    void putJob(JobRecord j) {
        JobRecord old = jobs.put(j.getJobId(), j);
        if (old != null && isWaiting(old.getState()) && !isWaiting(j.getState())) waiting.remove(QueueKey.of(old));
        if (isWaiting(j.getState())) waiting.add(QueueKey.of(j));
    }

    public String jobIdForKey(String idempotencyKey) {
        return jobIdByKey.get(idempotencyKey);
    }

    public List<Member> members() {
        return members;
    }

    /** Read-only use only: mutate through events. */
    public Inventory inventory() {
        return inventory;
    }

    public long lastEventSeq() {
        return lastEventSeq;
    }

    public long jobsSubmitted() {
        return jobsSubmitted;
    }

    public long appliedTerm() {
        return appliedTerm;
    }

    public long appliedIndex() {
        return appliedIndex;
    }

    public MetaRecord meta() {
        return MetaRecord.newBuilder().setAppliedTerm(appliedTerm).setAppliedIndex(appliedIndex)
                .setLastEventSeq(lastEventSeq).setJobsSubmitted(jobsSubmitted).build();
    }

    /** Jobs that hold cards in this state. */
    public static boolean holdsCards(JobState s) {
        return s == JobState.PLACED || s == JobState.RUNNING || s == JobState.RESTARTING;
    }

    public static boolean isTerminal(JobState s) {
        return s == JobState.SUCCEEDED || s == JobState.FAILED || s == JobState.CANCELLED;
    }

    /**
     * SHA-256 over every record in key order with deterministic protobuf encoding, plus the counters. Two replicas
     * that applied the same log prefix give the same hash. The applied term/index are left out on purpose: they
     * also move for Raft's own entries, which change no state.
     */
    public String stateHash() {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream(256);
        hashString(md, "counters:" + lastEventSeq + ":" + jobsSubmitted);
        for (Member m : members) hashRecord(md, buf, "M", m.getId(), m);
        for (Map.Entry<String, NodeRecord> e : nodes.entrySet()) hashRecord(md, buf, "n", e.getKey(), e.getValue());
        for (Map.Entry<String, JobRecord> e : jobs.entrySet()) hashRecord(md, buf, "j", e.getKey(), e.getValue());
        for (Map.Entry<String, QuotaRecord> e : quotas.entrySet()) hashRecord(md, buf, "q", e.getKey(), e.getValue());
        for (Map.Entry<String, SpareRuleRecord> e : spareRules.entrySet()) hashRecord(md, buf, "s", e.getKey(), e.getValue());
        for (Map.Entry<String, String> e : jobIdByKey.entrySet()) hashString(md, "k:" + e.getKey() + "=" + e.getValue());
        return HexFormat.of().formatHex(md.digest());
    }

    private static void hashString(MessageDigest md, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        md.update(intBytes(b.length));
        md.update(b);
    }

    private static void hashRecord(MessageDigest md, ByteArrayOutputStream buf, String kind, String key, MessageLite record) {
        hashString(md, kind + ":" + key);
        buf.reset();
        try {
            CodedOutputStream out = CodedOutputStream.newInstance(buf);
            out.useDeterministicSerialization();
            record.writeTo(out);
            out.flush();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        md.update(intBytes(buf.size()));
        md.update(buf.toByteArray());
    }

    private static byte[] intBytes(int v) {
        return new byte[]{(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    // ---- rebuild from stored records -----------------------------------------------------------------------

    /** Rebuilds a state from stored records; the inventory is derived from nodes and the jobs that hold cards. */
    public static ClusterState load(MetaRecord meta, List<Member> members, List<NodeRecord> nodes, List<JobRecord> jobs,
                                    List<QuotaRecord> quotas, List<SpareRuleRecord> spares, Map<String, String> keys) {
        ClusterState s = new ClusterState();
        s.lastEventSeq = meta.getLastEventSeq();
        s.jobsSubmitted = meta.getJobsSubmitted();
        s.appliedTerm = meta.getAppliedTerm();
        s.appliedIndex = meta.getAppliedIndex();
        s.members = List.copyOf(members);
        for (NodeRecord n : nodes) {
            s.nodes.put(n.getNodeId(), n);
            s.inventory.upsertNode(nodeSpec(n));
        }
        for (SpareRuleRecord r : spares) {
            s.spareRules.put(r.getSupernodeId(), r);
            s.inventory.setSpareRule(r.getSupernodeId(), new Inventory.SpareRule(r.getCards(), r.getPercent()));
        }
        for (QuotaRecord q : quotas) s.quotas.put(q.getTenant(), q);
        s.jobIdByKey.putAll(keys);
        for (JobRecord j : jobs) {
            s.putJob(j);
            if (holdsCards(j.getState())) {
                try {
                    // The lent mark too: lent jobs are what a replacement may evict, on every replica alike.
                    s.inventory.allocate(new Holder(j.getJobId(), j.getAttempt()), Placements.fromProto(j.getPlacement()), j.getLent());
                } catch (io.cardinal.allocator.model.AllocationConflict e) {
                    // TEST ONLY: under the injected bug the stored state already holds a double allocation; a replica
                    // restarted by the chaos suite must still start so the checkers can see it. Never set in production.
                    if (!InjectedBugs.on("skip-double-allocation-check")) throw e;
                }
            }
        }
        // Node flags last: a job may keep running on a node cordoned after it was placed there.
        for (NodeRecord n : nodes) {
            s.inventory.setNodeOnline(n.getNodeId(), n.getOnline());
            s.inventory.setNodeCordoned(n.getNodeId(), n.getCordoned());
        }
        return s;
    }

    public static NodeSpec nodeSpec(NodeRecord n) {
        List<CardSpec> cards = new ArrayList<>(n.getCardsCount());
        for (CardRecord c : n.getCardsList()) cards.add(new CardSpec(c.getIndex(), c.getModel(), c.getMemoryMib(), c.getHealthy()));
        return new NodeSpec(n.getNodeId(), n.getSupernodeId(), n.getTiersList(), cards);
    }
}
