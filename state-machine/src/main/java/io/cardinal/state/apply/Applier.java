package io.cardinal.state.apply;

import io.cardinal.allocator.model.AllocationConflict;
import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.SupernodeRule;
import io.cardinal.allocator.model.TaskCards;
import io.cardinal.protocol.v1.CardInfo;
import io.cardinal.protocol.v1.CardRecord;
import io.cardinal.protocol.v1.Event;
import io.cardinal.protocol.v1.EventBatch;
import io.cardinal.protocol.v1.IncidentRecord;
import io.cardinal.protocol.v1.JobRecord;
import io.cardinal.protocol.v1.StepProgress;
import io.cardinal.protocol.v1.JobSpec;
import io.cardinal.protocol.v1.JobState;
import io.cardinal.protocol.v1.NodeRecord;
import io.cardinal.protocol.v1.QuotaRecord;
import io.cardinal.protocol.v1.SpareRuleRecord;
import io.cardinal.state.ClusterState;
import io.cardinal.state.Placements;
import io.cardinal.state.StateInternals;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Applies committed event batches to a {@link ClusterState}. Deterministic: no clock, no randomness, no I/O; the
 * same batches in the same order give the same state on every replica. Every event is checked against the
 * invariants of DESIGN.md before it changes anything it names, and the whole batch is checked again at its end.
 * A violation throws {@link InvariantViolation}; the state it leaves is then unusable and must be discarded.
 */
public final class Applier {
    public static final int SCHEMA_VERSION = 1;
    /** Checkpoint steps collected at once per job; older incomplete ones are dropped. */
    public static final int MAX_PENDING_STEPS = 16;
    public static final int MAX_INCIDENTS_PER_JOB = 32;

    private static final Map<JobState, Set<JobState>> TRANSITIONS = new LinkedHashMap<>();

    static {
        TRANSITIONS.put(JobState.PENDING, EnumSet.of(JobState.PLACED, JobState.FAILED, JobState.CANCELLED));
        TRANSITIONS.put(JobState.PLACED, EnumSet.of(JobState.RUNNING, JobState.INTERRUPTED, JobState.PENDING,
                JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED));
        TRANSITIONS.put(JobState.RUNNING, EnumSet.of(JobState.INTERRUPTED, JobState.PENDING, JobState.SUCCEEDED,
                JobState.FAILED, JobState.CANCELLED));
        TRANSITIONS.put(JobState.INTERRUPTED, EnumSet.of(JobState.RESTARTING, JobState.FAILED, JobState.CANCELLED));
        TRANSITIONS.put(JobState.RESTARTING, EnumSet.of(JobState.RUNNING, JobState.INTERRUPTED, JobState.PENDING,
                JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED));
        for (JobState t : EnumSet.of(JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)) TRANSITIONS.put(t, EnumSet.noneOf(JobState.class));
    }

    private Applier() {
    }

    /**
     * Applies one Raft entry. A batch built by the controller of another term is skipped (same decision on every
     * replica, since the entry's term is part of the log); {@code entryTerm} 0 disables that check (tests, replay).
     */
    public static ApplyResult apply(ClusterState state, EventBatch batch, long entryTerm, long entryIndex) {
        if (batch.getSchemaVersion() > SCHEMA_VERSION) {
            throw new InvariantViolation(0, "batch at index " + entryIndex + " has schema version " + batch.getSchemaVersion()
                    + ", this replica understands up to " + SCHEMA_VERSION + "; upgrade it before applying newer entries");
        }
        if (batch.getEventsCount() == 0) {
            // A read barrier: any replica may append one (the leader's term is not known to the sender), and it
            // changes nothing, so the term check below does not apply to it.
            StateInternals.setApplied(state, entryTerm, entryIndex);
            return ApplyResult.barrier();
        }
        if (entryTerm != 0 && batch.getLeaderTerm() != entryTerm) {
            StateInternals.setApplied(state, entryTerm, entryIndex);
            return ApplyResult.skipped("batch built by the leader of term " + batch.getLeaderTerm()
                    + " was appended in term " + entryTerm);
        }
        Run run = new Run(state);
        for (Event e : batch.getEventsList()) run.apply(e);
        run.checkEndOfBatch();
        StateInternals.setApplied(state, entryTerm, entryIndex);
        return new ApplyResult(List.copyOf(run.applied), run.nodes, run.jobs, run.quotas, run.spares, run.members,
                run.newKeys, false, "");
    }

    /**
     * Starts applying events one at a time (the controller's speculative view): the controller may look at the
     * state between events, and the end-of-batch checks run at {@link Session#finish()}.
     */
    public static Session begin(ClusterState state) {
        return new Session(new Run(state));
    }

    /** Events applied one by one; {@link #finish()} runs the end-of-batch checks. */
    public static final class Session {
        private final Run run;

        private Session(Run run) {
            this.run = run;
        }

        public void apply(Event e) {
            run.apply(e);
        }

        public int size() {
            return run.applied.size();
        }

        public ApplyResult finish() {
            run.checkEndOfBatch();
            return new ApplyResult(List.copyOf(run.applied), run.nodes, run.jobs, run.quotas, run.spares, run.members,
                    run.newKeys, false, "");
        }
    }

    private static final class Run {
        final ClusterState s;
        final Inventory inv;
        final List<Event> applied = new ArrayList<>();
        final Set<String> nodes = new TreeSet<>();
        final Set<String> jobs = new TreeSet<>();
        final Set<String> quotas = new TreeSet<>();
        final Set<String> spares = new TreeSet<>();
        final Map<String, String> newKeys = new LinkedHashMap<>();
        boolean members;

        Run(ClusterState s) {
            this.s = s;
            this.inv = s.inventory();
        }

        void apply(Event e) {
            long seq = StateInternals.nextEventSeq(s);
            Event stamped = e.toBuilder().setSeq(seq).setSchemaVersion(SCHEMA_VERSION).build();
            long t = e.getTimeMs();
            switch (e.getBodyCase()) {
                case MEMBERS_SET:
                    StateInternals.setMembers(s, e.getMembersSet().getMembersList());
                    members = true;
                    break;
                case NODE_REGISTERED:
                    nodeRegistered(e.getNodeRegistered(), t);
                    break;
                case NODE_LOST: {
                    NodeRecord n = node(e.getNodeLost().getNodeId());
                    if (e.getNodeLost().getEpoch() != n.getEpoch()) {
                        throw new InvariantViolation(0, "NodeLost for " + n.getNodeId() + " epoch " + e.getNodeLost().getEpoch()
                                + " but the node is at epoch " + n.getEpoch());
                    }
                    putNode(n.toBuilder().setOnline(false).setReason(e.getNodeLost().getReason()).build());
                    inv.setNodeOnline(n.getNodeId(), false);
                    break;
                }
                case NODE_RECOVERED: {
                    NodeRecord n = node(e.getNodeRecovered().getNodeId());
                    if (e.getNodeRecovered().getEpoch() <= n.getEpoch() && !n.getOnline()) {
                        throw new InvariantViolation(0, "node " + n.getNodeId() + " was lost at epoch " + n.getEpoch()
                                + " and must come back under a newer epoch, got " + e.getNodeRecovered().getEpoch());
                    }
                    putNode(n.toBuilder().setOnline(true).setEpoch(Math.max(n.getEpoch(), e.getNodeRecovered().getEpoch()))
                            .setReason("").build());
                    inv.setNodeOnline(n.getNodeId(), true);
                    break;
                }
                case NODE_CORDONED: {
                    NodeRecord n = node(e.getNodeCordoned().getNodeId());
                    putNode(n.toBuilder().setCordoned(true).setReason(e.getNodeCordoned().getReason()).build());
                    inv.setNodeCordoned(n.getNodeId(), true);
                    break;
                }
                case NODE_UNCORDONED: {
                    NodeRecord n = node(e.getNodeUncordoned().getNodeId());
                    putNode(n.toBuilder().setCordoned(false).setDrained(false).setReason("").build());
                    inv.setNodeCordoned(n.getNodeId(), false);
                    break;
                }
                case NODE_DRAINED: {
                    NodeRecord n = node(e.getNodeDrained().getNodeId());
                    for (String jobId : inv.holdingJobs()) {
                        for (CardRef c : inv.cardsOf(jobId)) {
                            if (c.nodeId().equals(n.getNodeId())) {
                                throw new InvariantViolation(0, "NodeDrained for " + n.getNodeId() + " while job " + jobId
                                        + " still holds card " + c);
                            }
                        }
                    }
                    putNode(n.toBuilder().setCordoned(true).setDrained(true).setReason(e.getNodeDrained().getReason()).build());
                    inv.setNodeCordoned(n.getNodeId(), true);
                    break;
                }
                case CARD_HEALTH_CHANGED: {
                    var ev = e.getCardHealthChanged();
                    NodeRecord n = node(ev.getCard().getNodeId());
                    int idx = ev.getCard().getIndex();
                    if (idx < 0 || idx >= n.getCardsCount()) {
                        throw new InvariantViolation(0, "node " + n.getNodeId() + " has no card " + idx);
                    }
                    CardRecord c = n.getCards(idx).toBuilder().setHealthy(ev.getHealthy()).build();
                    putNode(n.toBuilder().setCards(idx, c).build());
                    inv.setCardHealthy(new CardRef(n.getNodeId(), idx), ev.getHealthy());
                    break;
                }
                case JOB_SUBMITTED:
                    jobSubmitted(e.getJobSubmitted(), t);
                    break;
                case JOB_PLACED: {
                    var ev = e.getJobPlaced();
                    JobRecord j = job(ev.getJobId());
                    transition(j, JobState.PLACED);
                    requireAttempt(j, ev.getAttempt(), j.getAttempt() + 1);
                    allocate(j, ev.getAttempt(), ev.getPlacement(), ev.getLent());
                    putJob(clearProgress(j.toBuilder()).setState(JobState.PLACED).setAttempt(ev.getAttempt())
                            .setPlacement(ev.getPlacement()).setLent(ev.getLent()).setReason(ev.getReason()).setUpdatedMs(t).build());
                    break;
                }
                case JOB_STARTED: {
                    var ev = e.getJobStarted();
                    JobRecord j = job(ev.getJobId());
                    requireAttempt(j, ev.getAttempt(), j.getAttempt());
                    transition(j, JobState.RUNNING);
                    JobRecord.Builder jb = j.toBuilder().setState(JobState.RUNNING).setReason("").setUpdatedMs(t);
                    int last = jb.getIncidentsCount() - 1;
                    if (last >= 0 && jb.getIncidents(last).getToAttempt() == ev.getAttempt() && jb.getIncidents(last).getRunningMs() == 0) {
                        jb.setIncidents(last, jb.getIncidents(last).toBuilder().setRunningMs(t).setAssignedMs(ev.getAssignedMs()));
                    }
                    putJob(jb.build());
                    break;
                }
                case RANK_STARTED: {
                    var ev = e.getRankStarted();
                    JobRecord j = job(ev.getJobId());
                    requireAttempt(j, ev.getAttempt(), j.getAttempt());
                    requireRank(j, ev.getRank());
                    JobRecord.Builder jb = j.toBuilder().clearRanksRunning().addAllRanksRunning(withRank(j.getRanksRunningList(), ev.getRank()));
                    int last = jb.getIncidentsCount() - 1;
                    if (!ev.getShardSource().isEmpty() && last >= 0 && jb.getIncidents(last).getToAttempt() == ev.getAttempt()) {
                        jb.setIncidents(last, jb.getIncidents(last).toBuilder().addShardSources(ev.getRank() + "=" + ev.getShardSource()));
                    }
                    putJob(jb.setUpdatedMs(t).build());
                    break;
                }
                case SHARD_DURABLE: {
                    var ev = e.getShardDurable();
                    JobRecord j = job(ev.getJobId());
                    requireAttempt(j, ev.getAttempt(), j.getAttempt());
                    requireRank(j, ev.getRank());
                    if (ev.getStep() <= j.getCheckpointStep()) {
                        throw new InvariantViolation(4, "shard of step " + ev.getStep() + " for " + j.getJobId()
                                + " is not above the committed checkpoint " + j.getCheckpointStep());
                    }
                    putJob(j.toBuilder().clearStepProgress().addAllStepProgress(addShard(j.getStepProgressList(), ev.getStep(), ev.getRank(),
                            ev.getRank() + "=" + ev.getNodeId() + "," + ev.getBuddyNodeId()))
                            .setUpdatedMs(t).build());
                    break;
                }
                case RANK_EXITED: {
                    var ev = e.getRankExited();
                    JobRecord j = job(ev.getJobId());
                    requireAttempt(j, ev.getAttempt(), j.getAttempt());
                    requireRank(j, ev.getRank());
                    putJob(j.toBuilder().clearRanksSucceeded().addAllRanksSucceeded(withRank(j.getRanksSucceededList(), ev.getRank()))
                            .setUpdatedMs(t).build());
                    break;
                }
                case CHECKPOINT_COMMITTED: {
                    var ev = e.getCheckpointCommitted();
                    JobRecord j = job(ev.getJobId());
                    requireAttempt(j, ev.getAttempt(), j.getAttempt());
                    if (ev.getStep() <= j.getCheckpointStep()) {
                        throw new InvariantViolation(4, "checkpoint step of " + j.getJobId() + " must grow: "
                                + j.getCheckpointStep() + " -> " + ev.getStep());
                    }
                    List<StepProgress> keep = new ArrayList<>();
                    List<String> locations = List.of();
                    for (StepProgress sp : j.getStepProgressList()) {
                        if (sp.getStep() > ev.getStep()) keep.add(sp);
                        if (sp.getStep() == ev.getStep()) locations = sp.getLocationsList();
                    }
                    JobRecord.Builder jb = j.toBuilder().setCheckpointStep(ev.getStep()).clearStepProgress().addAllStepProgress(keep)
                            .clearRestoreLocations().addAllRestoreLocations(locations).setUpdatedMs(t);
                    if (ev.getStep() > j.getRestoreStep()) {
                        // Progress past the restore point: the restart budget starts over.
                        jb.setRestarts(0).clearCrashCards();
                    }
                    putJob(jb.build());
                    break;
                }
                case JOB_INTERRUPTED: {
                    var ev = e.getJobInterrupted();
                    JobRecord j = job(ev.getJobId());
                    requireAttempt(j, ev.getAttempt(), j.getAttempt());
                    transition(j, JobState.INTERRUPTED);
                    release(j);
                    JobRecord.Builder jb = clearProgress(j.toBuilder()).setState(JobState.INTERRUPTED).clearPlacement().clearLent()
                            .setReason(ev.getReason()).setUpdatedMs(t).setNotBeforeMs(ev.getNotBeforeMs()).clearCrashCards();
                    for (var c : ev.getCrashCardsList()) jb.addCrashCards(c.getNodeId() + "/" + c.getIndex());
                    if (jb.getIncidentsCount() >= MAX_INCIDENTS_PER_JOB) jb.removeIncidents(0);
                    jb.addIncidents(IncidentRecord.newBuilder().setFromAttempt(ev.getAttempt()).setReason(ev.getReason())
                            .setDetectedMs(ev.getDetectedMs() > 0 ? ev.getDetectedMs() : t).setDecidedMs(t)
                            .setLastStep(ev.getLastStep()).addAllLostCards(ev.getLostCardsList()));
                    putJob(jb.build());
                    break;
                }
                case JOB_RESTARTING: {
                    var ev = e.getJobRestarting();
                    JobRecord j = job(ev.getJobId());
                    transition(j, JobState.RESTARTING);
                    // TEST ONLY (chaos suite, -Dcardinal.injectBug): reuse-attempt skips the attempts-grow check.
                    if (!io.cardinal.state.InjectedBugs.on("reuse-attempt")) requireAttempt(j, ev.getAttempt(), j.getAttempt() + 1);
                    if (ev.getRestoreStep() > j.getCheckpointStep() || ev.getRestoreStep() < 0) {
                        throw new InvariantViolation(4, "job " + j.getJobId() + " restarts from step " + ev.getRestoreStep()
                                + " but its last committed checkpoint is step " + j.getCheckpointStep());
                    }
                    allocate(j, ev.getAttempt(), ev.getPlacement(), ev.getLent());
                    JobRecord.Builder jb = clearProgress(j.toBuilder()).setState(JobState.RESTARTING).setAttempt(ev.getAttempt())
                            .setPlacement(ev.getPlacement()).setLent(ev.getLent()).setRestoreStep(ev.getRestoreStep())
                            .setRestarts(j.getRestarts() + 1).setRestartsTotal(j.getRestartsTotal() + 1).setNotBeforeMs(0)
                            .setReason(ev.getReason()).setUpdatedMs(t);
                    int last = jb.getIncidentsCount() - 1;
                    if (last >= 0 && jb.getIncidents(last).getToAttempt() == 0) {
                        jb.setIncidents(last, jb.getIncidents(last).toBuilder().setToAttempt(ev.getAttempt()).setRestoreStep(ev.getRestoreStep()));
                    }
                    putJob(jb.build());
                    break;
                }
                case JOB_PREEMPTED: {
                    var ev = e.getJobPreempted();
                    JobRecord j = job(ev.getJobId());
                    requireAttempt(j, ev.getAttempt(), j.getAttempt());
                    transition(j, JobState.PENDING);
                    release(j);
                    putJob(j.toBuilder().setState(JobState.PENDING).clearPlacement().clearLent()
                            .setReason("preempted by " + ev.getByJobId() + ": " + ev.getReason()).setUpdatedMs(t).build());
                    break;
                }
                case JOB_SUCCEEDED: {
                    var ev = e.getJobSucceeded();
                    JobRecord j = job(ev.getJobId());
                    requireAttempt(j, ev.getAttempt(), j.getAttempt());
                    finish(j, JobState.SUCCEEDED, "", t);
                    break;
                }
                case JOB_FAILED: {
                    var ev = e.getJobFailed();
                    JobRecord j = job(ev.getJobId());
                    if (ev.getAttempt() != 0) requireAttempt(j, ev.getAttempt(), j.getAttempt());
                    finish(j, JobState.FAILED, ev.getReason(), t);
                    break;
                }
                case JOB_CANCELLED: {
                    JobRecord j = job(e.getJobCancelled().getJobId());
                    finish(j, JobState.CANCELLED, e.getJobCancelled().getReason(), t);
                    break;
                }
                case JOB_WAITING: {
                    JobRecord j = job(e.getJobWaiting().getJobId());
                    if (j.getState() != JobState.PENDING && j.getState() != JobState.INTERRUPTED) {
                        throw new InvariantViolation(4, "JobWaiting for " + j.getJobId() + " in state " + j.getState());
                    }
                    putJob(j.toBuilder().setReason(e.getJobWaiting().getReason()).build());
                    break;
                }
                case QUOTA_SET: {
                    var q = e.getQuotaSet();
                    if (q.getCards() < 0) throw new InvariantViolation(5, "quota for " + q.getTenant() + " is negative");
                    StateInternals.quotas(s).put(q.getTenant(), QuotaRecord.newBuilder().setTenant(q.getTenant())
                            .setCards(q.getCards()).setCohort(q.getCohort()).setBorrowLimitCards(q.getBorrowLimitCards()).build());
                    quotas.add(q.getTenant());
                    break;
                }
                case SPARE_RULE_SET: {
                    var r = e.getSpareRuleSet();
                    Inventory.SpareRule rule;
                    try {
                        rule = new Inventory.SpareRule(r.getCards(), r.getPercent());
                    } catch (IllegalArgumentException ex) {
                        throw new InvariantViolation(0, "spare rule for " + r.getSupernodeId() + ": " + ex.getMessage());
                    }
                    StateInternals.spareRules(s).put(r.getSupernodeId(), SpareRuleRecord.newBuilder()
                            .setSupernodeId(r.getSupernodeId()).setCards(r.getCards()).setPercent(r.getPercent()).build());
                    inv.setSpareRule(r.getSupernodeId(), rule);
                    spares.add(r.getSupernodeId());
                    break;
                }
                case ADMIN_ACTION:
                    break;
                default:
                    throw new InvariantViolation(0, "event " + seq + " has no body this replica understands ("
                            + e.getBodyCase() + "); a newer leader wrote it?");
            }
            applied.add(stamped);
        }

        private void nodeRegistered(io.cardinal.protocol.v1.NodeRegistered ev, long t) {
            NodeRecord old = s.nodes().get(ev.getNodeId());
            if (old != null && ev.getEpoch() <= old.getEpoch()) {
                throw new InvariantViolation(0, "node " + ev.getNodeId() + " registered again with epoch " + ev.getEpoch()
                        + ", not newer than " + old.getEpoch());
            }
            if (ev.getNodeId().isEmpty() || ev.getSupernodeId().isEmpty()) {
                throw new InvariantViolation(0, "NodeRegistered needs a node id and a supernode id");
            }
            NodeRecord.Builder b = NodeRecord.newBuilder().setNodeId(ev.getNodeId()).setSupernodeId(ev.getSupernodeId())
                    .setEpoch(ev.getEpoch()).setOnline(true).addAllTiers(ev.getTiersList())
                    .setAgentAddress(ev.getAgentAddress()).setRegisteredMs(t);
            if (old != null) b.setCordoned(old.getCordoned()).setDrained(old.getDrained());
            for (int i = 0; i < ev.getCardsCount(); i++) {
                CardInfo c = ev.getCards(i);
                if (c.getIndex() != i) throw new InvariantViolation(0, "node " + ev.getNodeId() + " lists card " + c.getIndex() + " at position " + i);
                b.addCards(CardRecord.newBuilder().setIndex(i).setModel(c.getModel()).setMemoryMib(c.getMemoryMib()).setHealthy(c.getHealthy()));
            }
            NodeRecord n = b.build();
            try {
                inv.upsertNode(ClusterState.nodeSpec(n));
            } catch (AllocationConflict | IllegalArgumentException ex) {
                throw new InvariantViolation(1, ex.getMessage());
            }
            inv.setNodeOnline(n.getNodeId(), true);
            inv.setNodeCordoned(n.getNodeId(), n.getCordoned());
            putNode(n);
        }

        private void jobSubmitted(io.cardinal.protocol.v1.JobSubmitted ev, long t) {
            if (ev.getJobId().isEmpty()) throw new InvariantViolation(0, "JobSubmitted without a job id");
            if (s.jobs().containsKey(ev.getJobId())) throw new InvariantViolation(4, "job " + ev.getJobId() + " submitted twice");
            JobSpec spec = ev.getSpec();
            if (spec.getTasks() < 1 || spec.getCardsPerTask() < 1) {
                throw new InvariantViolation(3, "job " + ev.getJobId() + " asks for " + spec.getTasks() + " x " + spec.getCardsPerTask() + " cards");
            }
            String key = ev.getIdempotencyKey();
            if (!key.isEmpty()) {
                if (s.jobIdForKey(key) != null) {
                    throw new InvariantViolation(4, "idempotency key " + key + " already made job " + s.jobIdForKey(key));
                }
                StateInternals.keys(s).put(key, ev.getJobId());
                newKeys.put(key, ev.getJobId());
            }
            long order = StateInternals.nextJobNumber(s);
            // TEST ONLY (chaos suite, -Dcardinal.injectBug): nondeterministic-apply reads the local clock, so replicas diverge.
            if (io.cardinal.state.InjectedBugs.on("nondeterministic-apply")) t = System.currentTimeMillis();
            putJob(JobRecord.newBuilder().setJobId(ev.getJobId()).setSpec(spec).setState(JobState.PENDING).setAttempt(0)
                    .setSubmittedMs(t).setUpdatedMs(t).setIdempotencyKey(key).setSubmitSeq(order).build());
        }

        /** {@code lent}: the cards are lent spare cards (the inventory's lent mark), evictable by a replacement. */
        private void allocate(JobRecord j, long attempt, io.cardinal.protocol.v1.Placement proto, boolean lent) {
            Placement p;
            try {
                p = Placements.fromProto(proto);
            } catch (IllegalArgumentException ex) {
                throw new InvariantViolation(3, "job " + j.getJobId() + ": malformed placement: " + ex.getMessage());
            }
            JobSpec spec = j.getSpec();
            if (p.tasks().size() != spec.getTasks()) {
                throw new InvariantViolation(3, "job " + j.getJobId() + " has " + spec.getTasks() + " tasks, placement has " + p.tasks().size());
            }
            Set<String> supernodes = new HashSet<>();
            for (TaskCards t : p.tasks()) {
                if (t.cardIndices().size() != spec.getCardsPerTask()) {
                    throw new InvariantViolation(3, "job " + j.getJobId() + " task " + t.task() + " has " + t.cardIndices().size()
                            + " cards, needs " + spec.getCardsPerTask());
                }
                if (!inv.hasNode(t.nodeId())) throw new InvariantViolation(3, "job " + j.getJobId() + " placed on unknown node " + t.nodeId());
                supernodes.add(inv.nodeView(t.nodeId()).supernodeId());
                for (int idx : t.cardIndices()) {
                    if (idx < 0 || idx >= inv.cardCount(t.nodeId())) {
                        throw new InvariantViolation(3, "job " + j.getJobId() + " placed on missing card " + t.nodeId() + "/" + idx);
                    }
                    String model = inv.model(new CardRef(t.nodeId(), idx));
                    if (spec.getCardModelsCount() > 0 && !spec.getCardModelsList().contains(model)) {
                        throw new InvariantViolation(3, "job " + j.getJobId() + " wants " + spec.getCardModelsList() + ", card "
                                + t.nodeId() + "/" + idx + " is " + model);
                    }
                }
            }
            SupernodeRule rule = Placements.rule(spec);
            if (rule == SupernodeRule.REQUIRED && supernodes.size() > 1) {
                throw new InvariantViolation(3, "job " + j.getJobId() + " requires one supernode, placement spans " + new TreeSet<>(supernodes));
            }
            if (spec.getMaxSupernodes() > 0 && supernodes.size() > spec.getMaxSupernodes()) {
                throw new InvariantViolation(3, "job " + j.getJobId() + " allows " + spec.getMaxSupernodes() + " supernodes, placement spans " + supernodes.size());
            }
            try {
                inv.allocate(new Holder(j.getJobId(), attempt), p, lent);
            } catch (AllocationConflict ex) {
                String m = ex.getMessage();
                // TEST ONLY (chaos suite, -Dcardinal.injectBug): skip the one-holder-per-card invariant.
                if (io.cardinal.state.InjectedBugs.on("skip-double-allocation-check") && m.contains("is held by")) return;
                int which = m.contains("held by") || m.contains("twice") || m.contains("already holds") ? 1 : 2;
                throw new InvariantViolation(which, m);
            }
            checkQuota(spec.getTenant());
        }

        private void checkQuota(String tenant) {
            QuotaRecord q = s.quotas().get(tenant);
            if (q == null) return;
            long limit = q.getBorrowLimitCards() < 0 ? Long.MAX_VALUE : q.getCards() + q.getBorrowLimitCards();
            long held = 0;
            for (String jobId : inv.holdingJobs()) {
                JobRecord j = s.jobs().get(jobId);
                if (j != null && j.getSpec().getTenant().equals(tenant)) held += inv.cardsOf(jobId).size();
            }
            if (held > limit) {
                throw new InvariantViolation(5, "tenant " + tenant + " would hold " + held + " cards, quota " + q.getCards()
                        + " + borrow limit " + q.getBorrowLimitCards());
            }
        }

        private void release(JobRecord j) {
            try {
                inv.release(j.getJobId());
            } catch (AllocationConflict ex) {
                throw new InvariantViolation(1, ex.getMessage());
            }
        }

        private void finish(JobRecord j, JobState to, String reason, long t) {
            transition(j, to);
            release(j);
            putJob(clearProgress(j.toBuilder()).setState(to).clearPlacement().clearLent().setReason(reason).setUpdatedMs(t).build());
        }

        private static JobRecord.Builder clearProgress(JobRecord.Builder b) {
            return b.clearRanksRunning().clearStepProgress().clearRanksSucceeded();
        }

        private static void requireRank(JobRecord j, int rank) {
            if (!ClusterState.holdsCards(j.getState())) {
                throw new InvariantViolation(4, "rank event for job " + j.getJobId() + " in state " + j.getState());
            }
            if (rank < 0 || rank >= j.getSpec().getTasks()) {
                throw new InvariantViolation(0, "job " + j.getJobId() + " has ranks 0.." + (j.getSpec().getTasks() - 1) + ", not " + rank);
            }
        }

        private static List<Integer> withRank(List<Integer> ranks, int rank) {
            TreeSet<Integer> s = new TreeSet<>(ranks);
            s.add(rank);
            return new ArrayList<>(s);
        }

        /** Adds a durable shard to its step, keeping steps in order and at most MAX_PENDING_STEPS of them. */
        private static List<StepProgress> addShard(List<StepProgress> steps, long step, int rank, String location) {
            TreeMap<Long, StepProgress> byStep = new TreeMap<>();
            for (StepProgress sp : steps) byStep.put(sp.getStep(), sp);
            StepProgress cur = byStep.getOrDefault(step, StepProgress.newBuilder().setStep(step).build());
            byStep.put(step, cur.toBuilder().clearRanks().addAllRanks(withRank(cur.getRanksList(), rank)).addLocations(location).build());
            while (byStep.size() > MAX_PENDING_STEPS) byStep.pollFirstEntry();
            return new ArrayList<>(byStep.values());
        }

        private void transition(JobRecord j, JobState to) {
            Set<JobState> allowed = TRANSITIONS.get(j.getState());
            if (allowed == null || !allowed.contains(to)) {
                throw new InvariantViolation(4, "job " + j.getJobId() + " cannot go from " + j.getState() + " to " + to);
            }
        }

        private static void requireAttempt(JobRecord j, long got, long want) {
            if (got != want) {
                throw new InvariantViolation(4, "job " + j.getJobId() + " event for attempt " + got + ", expected " + want
                        + " (current attempt " + j.getAttempt() + ")");
            }
        }

        private NodeRecord node(String id) {
            NodeRecord n = s.nodes().get(id);
            if (n == null) throw new InvariantViolation(0, "event names unknown node " + id);
            return n;
        }

        private JobRecord job(String id) {
            JobRecord j = s.jobs().get(id);
            if (j == null) throw new InvariantViolation(0, "event names unknown job " + id);
            return j;
        }

        private void putNode(NodeRecord n) {
            StateInternals.nodes(s).put(n.getNodeId(), n);
            nodes.add(n.getNodeId());
        }

        private void putJob(JobRecord j) {
            StateInternals.putJob(s, j);
            jobs.add(j.getJobId());
        }

        /** Invariant 2 at rest: after a batch no card is held while unhealthy or offline. */
        void checkEndOfBatch() {
            for (String nodeId : nodes) {
                NodeRecord n = s.nodes().get(nodeId);
                for (int i = 0; i < n.getCardsCount(); i++) {
                    Holder h = inv.holder(new CardRef(nodeId, i));
                    if (h == null) continue;
                    if (!n.getOnline()) {
                        throw new InvariantViolation(2, "card " + nodeId + "/" + i + " is still held by " + h
                                + " after its node was lost; the job must be interrupted in the same batch");
                    }
                    if (!n.getCards(i).getHealthy()) {
                        throw new InvariantViolation(2, "card " + nodeId + "/" + i + " is still held by " + h
                                + " after it became unhealthy; the job must be interrupted in the same batch");
                    }
                }
            }
        }
    }
}
