package io.cardinal.state.controller;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.policy.PlacementPolicy;
import io.cardinal.allocator.policy.SpareLending;
import io.cardinal.allocator.sched.PendingJob;
import io.cardinal.allocator.sched.RunningJob;
import io.cardinal.allocator.sched.Scheduler;
import io.cardinal.allocator.sched.SchedulingDecision;
import io.cardinal.allocator.sched.TenantQuota;
import io.cardinal.protocol.v1.JobPreempted;
import java.util.HashMap;
import java.util.Map;
import io.cardinal.protocol.v1.CancelJob;
import io.cardinal.protocol.v1.CheckpointCommitted;
import io.cardinal.protocol.v1.Event;
import io.cardinal.protocol.v1.JobCancelled;
import io.cardinal.protocol.v1.JobFailed;
import io.cardinal.protocol.v1.JobInterrupted;
import io.cardinal.protocol.v1.JobPlaced;
import io.cardinal.protocol.v1.JobRecord;
import io.cardinal.protocol.v1.JobRestarting;
import io.cardinal.protocol.v1.JobSpec;
import io.cardinal.protocol.v1.JobStarted;
import io.cardinal.protocol.v1.JobState;
import io.cardinal.protocol.v1.JobSubmitted;
import io.cardinal.protocol.v1.JobSucceeded;
import io.cardinal.protocol.v1.RankExited;
import io.cardinal.protocol.v1.RankStarted;
import io.cardinal.protocol.v1.ShardDurable;
import io.cardinal.protocol.v1.StepProgress;
import io.cardinal.protocol.v1.JobWaiting;
import io.cardinal.protocol.v1.QuotaRecord;
import io.cardinal.protocol.v1.Reply;
import io.cardinal.protocol.v1.ReportCheckpoint;
import io.cardinal.protocol.v1.ReportJobExited;
import io.cardinal.protocol.v1.ReportJobStarted;
import io.cardinal.state.ClusterState;
import io.cardinal.state.Placements;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/** Job commands: submit, cancel, agent reports; and the scheduling pass that places waiting jobs. */
final class Jobs {
    /** A scheduling pass tries at most this many waiting jobs; the rest wait for the next pass. */
    static final int MAX_JOBS_PER_PASS = 256;

    private final Batch b;
    private final PlacementPolicy policy;
    private final Scheduler scheduler;

    private final Topology topology;
    /** Server config lendSpares: jobs that fit only with spare cards run on them, evicted when a replacement needs them. */
    private final boolean lendSpares;

    Jobs(Batch b, PlacementPolicy policy, Topology topology) {
        this(b, policy, topology, false);
    }

    Jobs(Batch b, PlacementPolicy policy, Topology topology, boolean lendSpares) {
        this.b = b;
        this.policy = policy;
        this.topology = topology;
        this.lendSpares = lendSpares;
        // holdLatestFree stays off here: it needs run-time estimates, which the controller does not take.
        this.scheduler = new Scheduler(policy, new Scheduler.Options(MAX_JOBS_PER_PASS, true, true, 256,
                Scheduler.Options.DEFAULT_LOCALITY_WAIT_PERCENT, lendSpares, false));
    }

    void submit(JobSpec spec, String key, Reply.Builder reply) {
        if (!key.isEmpty()) {
            String existing = b.view.jobIdForKey(key);
            if (existing != null) {
                reply.setJobId(existing).setDuplicate(true).setMessage("already submitted as " + existing);
                return;
            }
        }
        JobSpecRules.check(spec, b.view.inventory(), topology);
        String jobId = String.format("j-%06d", b.view.jobsSubmitted() + 1);
        b.add(Event.newBuilder().setJobSubmitted(JobSubmitted.newBuilder().setJobId(jobId).setSpec(spec).setIdempotencyKey(key)));
        reply.setJobId(jobId);
        // Capacity did not change, so only the head of the queue and the new job can move: that keeps a submit
        // cheap however long the queue is, and the new job still cannot jump ahead of the head's reservation.
        List<JobRecord> waiting = waitingInQueueOrder(1);
        List<JobRecord> consider = new ArrayList<>();
        if (!waiting.isEmpty() && !waiting.get(0).getJobId().equals(jobId)) consider.add(waiting.get(0));
        consider.add(b.view.jobs().get(jobId));
        schedule(consider);
    }

    void cancel(CancelJob c, Reply.Builder reply) {
        JobRecord j = job(c.getJobId());
        if (ClusterState.isTerminal(j.getState())) {
            throw Rejection.conflict("job " + j.getJobId() + " is already " + j.getState() + "; nothing to cancel");
        }
        b.add(Event.newBuilder().setJobCancelled(JobCancelled.newBuilder().setJobId(j.getJobId())
                .setReason(c.getReason().isEmpty() ? "cancelled by user" : c.getReason())));
        reply.setJobId(j.getJobId());
        schedulePass();
    }

    void started(ReportJobStarted r, Reply.Builder reply) {
        JobRecord j = job(r.getJobId());
        reply.setJobId(j.getJobId());
        if (stale(j, r.getAttempt(), reply)) return;
        if (r.getRank() >= 0) {
            if (r.getRank() >= j.getSpec().getTasks()) {
                throw Rejection.invalid("rank: job " + j.getJobId() + " has ranks 0.." + (j.getSpec().getTasks() - 1) + ", not " + r.getRank());
            }
            if (!j.getRanksRunningList().contains(r.getRank())) {
                b.add(Event.newBuilder().setRankStarted(RankStarted.newBuilder().setJobId(j.getJobId()).setAttempt(j.getAttempt())
                        .setRank(r.getRank()).setNodeId(r.getNodeId()).setShardSource(r.getShardSource())));
            }
            j = b.view.jobs().get(j.getJobId());
            if (j.getRanksRunningCount() < j.getSpec().getTasks()) return;
        }
        if (j.getState() == JobState.PLACED || j.getState() == JobState.RESTARTING) {
            b.add(Event.newBuilder().setJobStarted(JobStarted.newBuilder().setJobId(j.getJobId()).setAttempt(j.getAttempt())
                    .setAssignedMs(r.getAssignedMs())));
        }
    }

    /** A rank's shard of a step is durable; when every rank's is, that step becomes the restore point. */
    void checkpoint(ReportCheckpoint r, Reply.Builder reply) {
        JobRecord j = job(r.getJobId());
        reply.setJobId(j.getJobId());
        if (stale(j, r.getAttempt(), reply)) return;
        if (r.getStep() <= j.getCheckpointStep()) {
            reply.setMessage("step " + r.getStep() + " is not above the committed checkpoint " + j.getCheckpointStep());
            return;
        }
        if (r.getRank() < 0 || r.getRank() >= j.getSpec().getTasks()) {
            throw Rejection.invalid("rank: job " + j.getJobId() + " has ranks 0.." + (j.getSpec().getTasks() - 1) + ", not " + r.getRank());
        }
        for (StepProgress sp : j.getStepProgressList()) {
            if (sp.getStep() == r.getStep() && sp.getRanksList().contains(r.getRank())) {
                reply.setMessage("duplicate: shard already recorded");
                return;
            }
        }
        b.add(Event.newBuilder().setShardDurable(ShardDurable.newBuilder().setJobId(j.getJobId()).setAttempt(j.getAttempt())
                .setRank(r.getRank()).setStep(r.getStep()).setBuddyNodeId(r.getBuddyNodeId()).setNodeId(r.getNodeId())));
        j = b.view.jobs().get(j.getJobId());
        long complete = 0;
        for (StepProgress sp : j.getStepProgressList()) {
            if (sp.getRanksCount() == j.getSpec().getTasks()) complete = Math.max(complete, sp.getStep());
        }
        if (complete > j.getCheckpointStep()) {
            b.add(Event.newBuilder().setCheckpointCommitted(CheckpointCommitted.newBuilder().setJobId(j.getJobId())
                    .setAttempt(j.getAttempt()).setStep(complete)));
        }
    }

    void exited(ReportJobExited r, Reply.Builder reply) {
        JobRecord j = job(r.getJobId());
        reply.setJobId(j.getJobId());
        if (stale(j, r.getAttempt(), reply)) return;
        if (r.getKilledByAgent()) {
            reply.setMessage("ignored: the agent stopped it as told");
            return;
        }
        if (r.getExitCode() == 0) {
            if (r.getRank() >= 0 && r.getRank() < j.getSpec().getTasks()) {
                if (!j.getRanksSucceededList().contains(r.getRank())) {
                    b.add(Event.newBuilder().setRankExited(RankExited.newBuilder().setJobId(j.getJobId()).setAttempt(j.getAttempt())
                            .setRank(r.getRank()).setExitCode(0)));
                }
                j = b.view.jobs().get(j.getJobId());
                if (j.getRanksSucceededCount() < j.getSpec().getTasks()) return;
            }
            b.add(Event.newBuilder().setJobSucceeded(JobSucceeded.newBuilder().setJobId(j.getJobId()).setAttempt(j.getAttempt())));
        } else {
            crashed(j, r);
        }
        schedulePass();
    }

    /** The attempt number of a restart: the next one (the test-only injected bug reuse-attempt reuses the old one). */
    private static long restartAttempt(JobRecord j) {
        return io.cardinal.state.InjectedBugs.on("reuse-attempt") ? j.getAttempt() : j.getAttempt() + 1;
    }

    /**
     * TEST ONLY (chaos suite, -Dcardinal.injectBug=skip-double-allocation-check): places a pending job on the cards of
     * a running job of the same shape; apply skips its holder check under the same flag. Returns true if it did.
     */
    private boolean injectDoubleAllocation(List<JobRecord> waiting) {
        for (JobRecord j : waiting) {
            if (j.getState() != JobState.PENDING) continue;
            for (JobRecord other : b.view.jobs().values()) {
                if (ClusterState.holdsCards(other.getState()) && other.getSpec().getTasks() == j.getSpec().getTasks()
                        && other.getSpec().getCardsPerTask() == j.getSpec().getCardsPerTask()) {
                    b.add(Event.newBuilder().setJobPlaced(JobPlaced.newBuilder().setJobId(j.getJobId())
                            .setAttempt(j.getAttempt() + 1).setPlacement(other.getPlacement()).setReason("injected bug")));
                    return true;
                }
            }
        }
        return false;
    }

    /** Longest wait between restarts after repeated worker crashes. */
    static final long MAX_BACKOFF_MILLIS = 10 * 60_000;

    /**
     * A worker crashed. A card under a crashed rank twice in a row is marked unhealthy as suspect and the job moves
     * off it at once; otherwise the restart waits {@code backoffSeconds} (doubling with each restart since the last
     * progress, capped), so a job that crashes at once does not spin.
     */
    private void crashed(JobRecord j, ReportJobExited r) {
        String why = "rank " + r.getRank() + " exited with code " + r.getExitCode() + (r.getDetail().isEmpty() ? "" : ": " + r.getDetail());
        Set<CardRef> crashedCards = new java.util.TreeSet<>();
        for (var t : j.getPlacement().getTasksList()) {
            if (r.getRank() >= 0 && t.getTask() != r.getRank()) continue;
            for (int idx : t.getCardIndicesList()) crashedCards.add(new CardRef(t.getNodeId(), idx));
        }
        Set<CardRef> suspects = new java.util.TreeSet<>();
        for (CardRef c : crashedCards) if (j.getCrashCardsList().contains(c.toString())) suspects.add(c);
        for (CardRef c : suspects) {
            b.add(Event.newBuilder().setCardHealthChanged(io.cardinal.protocol.v1.CardHealthChanged.newBuilder()
                    .setCard(Placements.toProto(c)).setHealthy(false)
                    .setReason("suspect: job " + j.getJobId() + " crashed twice in a row on it")));
        }
        long backoff = suspects.isEmpty() ? backoffMillis(j) : 0;
        if (backoff > 0 && j.getRestarts() < j.getSpec().getMaxRestarts()) {
            var ev = JobInterrupted.newBuilder().setJobId(j.getJobId()).setAttempt(j.getAttempt()).setReason(why)
                    .setDetectedMs(r.getDetectedMs()).setLastStep(Math.max(r.getLastStep(), j.getCheckpointStep()))
                    .setNotBeforeMs(b.nowMillis + backoff);
            for (CardRef c : crashedCards) ev.addCrashCards(Placements.toProto(c));
            b.add(Event.newBuilder().setJobInterrupted(ev));
            b.add(Event.newBuilder().setJobWaiting(JobWaiting.newBuilder().setJobId(j.getJobId())
                    .setReason("restart backoff: " + backoff / 1000.0 + " s after a worker crash")));
            return;
        }
        restart(j, suspects, why + (suspects.isEmpty() ? "" : "; card(s) " + suspects + " marked suspect"),
                r.getDetectedMs(), r.getLastStep(), crashedCards);
    }

    static long backoffMillis(JobRecord j) {
        long base = j.getSpec().getBackoffSeconds() * 1000L;
        if (base <= 0) return 0;
        return Math.min(MAX_BACKOFF_MILLIS, base << Math.min(20, j.getRestarts()));
    }

    /** Reports of an older attempt, or of a job that no longer runs, change nothing (attempts are fencing tokens). */
    private static boolean stale(JobRecord j, long attempt, Reply.Builder reply) {
        if (attempt != j.getAttempt() || !ClusterState.holdsCards(j.getState())) {
            reply.setMessage("ignored: report for attempt " + attempt + " of a job at attempt " + j.getAttempt()
                    + " in state " + j.getState());
            return true;
        }
        return false;
    }

    /**
     * Interrupts a job that holds cards and, in the same batch, restarts it on a replacement placement from its
     * last committed checkpoint. The failure (unhealthy card, lost node) must already be applied to the view, while
     * the job still holds its cards, so the policy sees which cards are lost and which can stay.
     */
    void restart(JobRecord j, Set<CardRef> lost, String reason, long detectedMs, long lastStep) {
        restart(j, lost, reason, detectedMs, lastStep, Set.of());
    }

    /** Stops job {@code j}'s current attempt for {@code byJobId}; it waits in the queue again. */
    private void preempt(JobRecord j, String byJobId, String reason) {
        b.add(Event.newBuilder().setJobPreempted(JobPreempted.newBuilder().setJobId(j.getJobId()).setAttempt(j.getAttempt())
                .setByJobId(byJobId).setReason(reason)));
    }

    private void restart(JobRecord j, Set<CardRef> lost, String reason, long detectedMs, long lastStepSeen, Set<CardRef> crashCards) {
        // An earlier restart in this batch (same lost node) may have evicted this lent job: it already waits again.
        if (!ClusterState.holdsCards(j.getState())) return;
        // Heartbeats are up to an interval old (and a dead node's are older): the job reached its committed step at least.
        long lastStep = Math.max(lastStepSeen, j.getCheckpointStep());
        JobSpec spec = j.getSpec();
        Inventory inv = b.view.inventory();
        if (j.getRestarts() >= spec.getMaxRestarts()) {
            b.add(Event.newBuilder().setJobFailed(JobFailed.newBuilder().setJobId(j.getJobId()).setAttempt(j.getAttempt())
                    .setReason(reason + "; restart budget of " + spec.getMaxRestarts() + " used up")));
            return;
        }
        String overQuota = quotaBlocks(j);
        // TEST ONLY (chaos suite, -Dcardinal.injectBug): never-restart leaves interrupted jobs waiting forever.
        boolean neverRestart = io.cardinal.state.InjectedBugs.on("never-restart");
        List<String> evict = List.of();
        Decision d;
        if (overQuota != null) {
            d = new Decision.NotPlaced(overQuota);
        } else if (neverRestart) {
            d = new Decision.NotPlaced("injected bug never-restart");
        } else if (lendSpares) {
            // Decided while the job still holds its cards, like policy.replace; valid once the evicted jobs' cards are free.
            SpareLending.Outcome o = SpareLending.replace(policy, inv, Placements.request(j), Placements.fromProto(j.getPlacement()), lost);
            d = o.decision();
            if (d instanceof Decision.Placed) evict = o.evicted();
        } else {
            d = policy.replace(inv, Placements.request(j), Placements.fromProto(j.getPlacement()), lost);
        }
        List<io.cardinal.protocol.v1.CardRef> lostProto = new ArrayList<>();
        for (CardRef c : lost) lostProto.add(Placements.toProto(c));
        b.add(Event.newBuilder().setJobInterrupted(JobInterrupted.newBuilder().setJobId(j.getJobId())
                .setAttempt(j.getAttempt()).setReason(reason).addAllLostCards(lostProto).setDetectedMs(detectedMs)
                .setLastStep(lastStep).addAllCrashCards(crashCards.stream().map(Placements::toProto).toList())));
        if (d instanceof Decision.Placed p) {
            // The borrowers stop first, in this batch, so their cards are free when the replacement is allocated;
            // they wait again as preempted jobs do.
            for (String id : evict) {
                JobRecord e = b.view.jobs().get(id);
                if (e == null || !ClusterState.holdsCards(e.getState())) {
                    throw new IllegalStateException("lent job " + id + " chosen for eviction holds no cards");
                }
                preempt(e, j.getJobId(), "evicted from lent spare cards: job " + j.getJobId() + "'s replacement needs them");
            }
            // A lent job stays lent (evictable) on its replacement cards, as in the allocator's simulator.
            b.add(Event.newBuilder().setJobRestarting(JobRestarting.newBuilder().setJobId(j.getJobId())
                    .setAttempt(restartAttempt(j)).setPlacement(Placements.toProto(p.placement()))
                    .setRestoreStep(j.getCheckpointStep()).setReason(reason + "; " + p.reason()).setLent(j.getLent())));
        } else {
            // No replacement near its cards: the scheduler tries a full re-placement (or records why it waits).
            if (neverRestart) waiting(b.view.jobs().get(j.getJobId()), d.reason());
            else schedule(List.of(b.view.jobs().get(j.getJobId())));
        }
    }

    /**
     * A scheduling pass over the waiting jobs (pending, and interrupted ones waiting for replacement cards), in
     * queue order, bounded to {@link #MAX_JOBS_PER_PASS}: run when capacity may have grown.
     */
    void schedulePass() {
        schedule(waitingInQueueOrder(MAX_JOBS_PER_PASS));
    }

    /**
     * Interrupted jobs first, straight to the policy with spares allowed (DESIGN: a restart takes spares first and
     * goes ahead of new work; a head-of-queue reservation must not starve it), then the allocator's scheduler on
     * the pending jobs, its decisions turned into events.
     */
    private void schedule(List<JobRecord> all) {
        if (all.isEmpty()) return;
        List<JobRecord> waiting = new ArrayList<>();
        boolean noNodes = b.view.inventory().nodeIds().isEmpty();
        for (JobRecord j : all) {
            if (j.getState() != JobState.INTERRUPTED || noNodes) {
                waiting.add(j);
                continue;
            }
            JobRecord cur = b.view.jobs().get(j.getJobId());
            String overQuota = quotaBlocks(cur);
            Decision d = overQuota != null ? new Decision.NotPlaced(overQuota)
                    : policy.placeWithSpares(b.view.inventory(), Placements.request(cur));
            if (d instanceof Decision.Placed p) {
                b.add(Event.newBuilder().setJobRestarting(JobRestarting.newBuilder().setJobId(cur.getJobId())
                        .setAttempt(restartAttempt(cur)).setPlacement(Placements.toProto(p.placement()))
                        .setRestoreStep(cur.getCheckpointStep()).setReason("replacement found: " + p.reason())));
            } else {
                waiting(cur, d.reason());
            }
        }
        if (waiting.isEmpty()) return;
        if (io.cardinal.state.InjectedBugs.on("skip-double-allocation-check") && injectDoubleAllocation(waiting)) return;
        if (b.view.inventory().nodeIds().isEmpty()) {
            for (JobRecord j : waiting) waiting(j, "no nodes registered yet");
            return;
        }
        List<PendingJob> pending = new ArrayList<>();
        for (JobRecord j : waiting) pending.add(new PendingJob(Placements.request(j)));
        List<RunningJob> running = new ArrayList<>();
        Inventory inv = b.view.inventory();
        for (String id : inv.holdingJobs()) {
            JobRecord r = b.view.jobs().get(id);
            if (r == null) continue;
            running.add(new RunningJob(id, r.getSpec().getTenant(), r.getSpec().getPriority(), r.getSubmitSeq(), inv.cardsOf(id)));
        }
        Map<String, TenantQuota> quotas = new HashMap<>();
        for (QuotaRecord q : b.view.quotas().values()) {
            int borrow = q.getBorrowLimitCards() < 0 ? Integer.MAX_VALUE / 2 : (int) Math.min(Integer.MAX_VALUE / 2, q.getBorrowLimitCards());
            quotas.put(q.getTenant(), new TenantQuota(q.getTenant(), (int) Math.min(Integer.MAX_VALUE / 2, q.getCards()),
                    q.getCohort(), borrow));
        }
        List<SchedulingDecision> decisions = scheduler.schedule(new Scheduler.Input(inv, pending, running, quotas, b.nowMillis));
        for (SchedulingDecision d : decisions) {
            JobRecord j = b.view.jobs().get(d.jobId());
            if (j == null) throw new IllegalStateException("scheduler decided about unknown job " + d.jobId());
            if (d instanceof SchedulingDecision.Place p) {
                if (j.getState() == JobState.PENDING) {
                    b.add(Event.newBuilder().setJobPlaced(JobPlaced.newBuilder().setJobId(j.getJobId())
                            .setAttempt(j.getAttempt() + 1).setPlacement(Placements.toProto(p.placement())).setReason(p.reason())
                            .setLent(p.lent())));
                } else if (j.getState() == JobState.INTERRUPTED) {
                    b.add(Event.newBuilder().setJobRestarting(JobRestarting.newBuilder().setJobId(j.getJobId())
                            .setAttempt(restartAttempt(j)).setPlacement(Placements.toProto(p.placement()))
                            .setRestoreStep(j.getCheckpointStep()).setReason("replacement found: " + p.reason()).setLent(p.lent())));
                }
            } else if (d instanceof SchedulingDecision.Preempt p) {
                if (ClusterState.holdsCards(j.getState())) {
                    preempt(j, p.forJobId(), p.reason());
                }
            } else if (d instanceof SchedulingDecision.Wait w) {
                waiting(j, w.reason());
            }
        }
    }

    private String quotaBlocks(JobRecord j) {
        String tenant = j.getSpec().getTenant();
        QuotaRecord q = b.view.quotas().get(tenant);
        if (q == null || q.getBorrowLimitCards() < 0) return null;
        Inventory inv = b.view.inventory();
        long held = 0;
        for (String id : inv.holdingJobs()) {
            if (id.equals(j.getJobId())) continue;
            JobRecord other = b.view.jobs().get(id);
            if (other != null && other.getSpec().getTenant().equals(tenant)) held += inv.cardsOf(id).size();
        }
        long need = (long) j.getSpec().getTasks() * j.getSpec().getCardsPerTask();
        long limit = q.getCards() + q.getBorrowLimitCards();
        if (held + need <= limit) return null;
        return "tenant " + tenant + " over quota: holds " + held + " cards, job needs " + need + ", quota "
                + q.getCards() + " + borrow limit " + q.getBorrowLimitCards();
    }

    private void waiting(JobRecord j, String reason) {
        String r = j.getState() == JobState.INTERRUPTED ? "waiting for replacement cards: " + reason : reason;
        if (!r.equals(j.getReason())) {
            b.add(Event.newBuilder().setJobWaiting(JobWaiting.newBuilder().setJobId(j.getJobId()).setReason(r)));
        }
    }

    /** Up to {@code limit} waiting jobs in queue order, leaving out those in restart backoff. */
    private List<JobRecord> waitingInQueueOrder(int limit) {
        List<JobRecord> out = new ArrayList<>();
        for (String id : b.view.waitingJobIds()) {
            if (out.size() >= limit) break;
            JobRecord j = b.view.jobs().get(id);
            // An interrupted job in restart backoff is left alone until its time comes (a Reconcile then).
            if (j.getState() == JobState.INTERRUPTED && j.getNotBeforeMs() > b.nowMillis) continue;
            if (j.getState() == JobState.INTERRUPTED && io.cardinal.state.InjectedBugs.on("never-restart")) continue; // TEST ONLY
            out.add(j);
        }
        return out;
    }

    JobRecord job(String id) {
        if (id.isEmpty()) throw Rejection.invalid("jobId: required");
        JobRecord j = b.view.jobs().get(id);
        if (j == null) throw Rejection.notFound("no job " + id + "; 'cardinal job list' shows the jobs");
        return j;
    }
}
