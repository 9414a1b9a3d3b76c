package io.cardinal.state.controller;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.policy.PlacementPolicy;
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

    Jobs(Batch b, PlacementPolicy policy) {
        this.b = b;
        this.policy = policy;
    }

    void submit(JobSpec spec, String key, Reply.Builder reply) {
        if (!key.isEmpty()) {
            String existing = b.view.jobIdForKey(key);
            if (existing != null) {
                reply.setJobId(existing).setDuplicate(true).setMessage("already submitted as " + existing);
                return;
            }
        }
        JobSpecRules.check(spec, b.view.inventory());
        String jobId = String.format("j-%06d", b.view.jobsSubmitted() + 1);
        b.add(Event.newBuilder().setJobSubmitted(JobSubmitted.newBuilder().setJobId(jobId).setSpec(spec).setIdempotencyKey(key)));
        reply.setJobId(jobId);
        // Jobs waiting ahead of it (higher priority, or same priority and older) go first.
        for (JobRecord j : waitingInQueueOrder()) {
            if (j.getJobId().equals(jobId)) break;
            tryPlace(j);
        }
        tryPlace(b.view.jobs().get(jobId));
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
        if (r.getAttempt() != j.getAttempt()) {
            reply.setMessage("ignored: report for attempt " + r.getAttempt() + ", job is at attempt " + j.getAttempt());
            return;
        }
        if (j.getState() == JobState.PLACED || j.getState() == JobState.RESTARTING) {
            b.add(Event.newBuilder().setJobStarted(JobStarted.newBuilder().setJobId(j.getJobId()).setAttempt(j.getAttempt())));
        }
    }

    void checkpoint(ReportCheckpoint r, Reply.Builder reply) {
        JobRecord j = job(r.getJobId());
        reply.setJobId(j.getJobId());
        if (r.getAttempt() != j.getAttempt()) {
            reply.setMessage("ignored: report for attempt " + r.getAttempt() + ", job is at attempt " + j.getAttempt());
            return;
        }
        if (r.getStep() > j.getCheckpointStep() && ClusterState.holdsCards(j.getState())) {
            b.add(Event.newBuilder().setCheckpointCommitted(CheckpointCommitted.newBuilder().setJobId(j.getJobId())
                    .setAttempt(j.getAttempt()).setStep(r.getStep())));
        }
    }

    void exited(ReportJobExited r, Reply.Builder reply) {
        JobRecord j = job(r.getJobId());
        reply.setJobId(j.getJobId());
        if (r.getAttempt() != j.getAttempt() || !ClusterState.holdsCards(j.getState())) {
            reply.setMessage("ignored: report for attempt " + r.getAttempt() + " of a job at attempt " + j.getAttempt()
                    + " in state " + j.getState());
            return;
        }
        if (r.getExitCode() == 0) {
            b.add(Event.newBuilder().setJobSucceeded(JobSucceeded.newBuilder().setJobId(j.getJobId()).setAttempt(j.getAttempt())));
        } else {
            restart(j, Set.of(), "rank " + r.getRank() + " exited with code " + r.getExitCode()
                    + (r.getDetail().isEmpty() ? "" : ": " + r.getDetail()));
        }
        schedulePass();
    }

    /**
     * Interrupts a job that holds cards and, in the same batch, restarts it on a replacement placement from its
     * last committed checkpoint. The failure (unhealthy card, lost node) must already be applied to the view, while
     * the job still holds its cards, so the policy sees which cards are lost and which can stay.
     */
    void restart(JobRecord j, Set<CardRef> lost, String reason) {
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
        Decision d = overQuota != null ? new Decision.NotPlaced(overQuota)
                : neverRestart ? new Decision.NotPlaced("injected bug never-restart")
                : policy.replace(inv, Placements.request(j), Placements.fromProto(j.getPlacement()), lost);
        List<io.cardinal.protocol.v1.CardRef> lostProto = new ArrayList<>();
        for (CardRef c : lost) lostProto.add(Placements.toProto(c));
        b.add(Event.newBuilder().setJobInterrupted(JobInterrupted.newBuilder().setJobId(j.getJobId())
                .setAttempt(j.getAttempt()).setReason(reason).addAllLostCards(lostProto)));
        if (d instanceof Decision.Placed p) {
            b.add(Event.newBuilder().setJobRestarting(JobRestarting.newBuilder().setJobId(j.getJobId())
                    .setAttempt(restartAttempt(j)).setPlacement(Placements.toProto(p.placement()))
                    .setRestoreStep(j.getCheckpointStep()).setReason(reason + "; " + p.reason())));
        } else {
            b.add(Event.newBuilder().setJobWaiting(JobWaiting.newBuilder().setJobId(j.getJobId())
                    .setReason("waiting for replacement cards: " + d.reason())));
        }
    }

    /** The attempt number of a restart: the next one (the test-only injected bug reuse-attempt reuses the old one). */
    private static long restartAttempt(JobRecord j) {
        return io.cardinal.state.InjectedBugs.on("reuse-attempt") ? j.getAttempt() : j.getAttempt() + 1;
    }

    /** Tries to place waiting jobs (pending, or interrupted and waiting for replacements) in queue order. */
    void schedulePass() {
        int tried = 0;
        for (JobRecord j : waitingInQueueOrder()) {
            if (tried++ >= MAX_JOBS_PER_PASS) break;
            tryPlace(b.view.jobs().get(j.getJobId()));
        }
    }

    private void tryPlace(JobRecord j) {
        if (j.getState() != JobState.PENDING && j.getState() != JobState.INTERRUPTED) return;
        if (j.getState() == JobState.INTERRUPTED && io.cardinal.state.InjectedBugs.on("never-restart")) return; // TEST ONLY
        if (b.view.inventory().nodeIds().isEmpty()) {
            waiting(j, "no nodes registered yet");
            return;
        }
        String overQuota = quotaBlocks(j);
        if (overQuota != null) {
            waiting(j, overQuota);
            return;
        }
        PlacementRequest req = Placements.request(j);
        Decision d = policy.place(b.view.inventory(), req);
        if (io.cardinal.state.InjectedBugs.on("skip-double-allocation-check") && j.getState() == JobState.PENDING) {
            // TEST ONLY (chaos suite, -Dcardinal.injectBug): first fit that ignores holders - reuse the cards of a
            // running job of the same shape. Apply skips its holder check under the same flag.
            for (JobRecord other : b.view.jobs().values()) {
                if (ClusterState.holdsCards(other.getState()) && other.getSpec().getTasks() == j.getSpec().getTasks()
                        && other.getSpec().getCardsPerTask() == j.getSpec().getCardsPerTask()) {
                    b.add(Event.newBuilder().setJobPlaced(JobPlaced.newBuilder().setJobId(j.getJobId())
                            .setAttempt(j.getAttempt() + 1).setPlacement(other.getPlacement()).setReason("injected bug")));
                    return;
                }
            }
        }
        if (d instanceof Decision.Placed p) {
            if (j.getState() == JobState.PENDING) {
                b.add(Event.newBuilder().setJobPlaced(JobPlaced.newBuilder().setJobId(j.getJobId())
                        .setAttempt(j.getAttempt() + 1).setPlacement(Placements.toProto(p.placement())).setReason(p.reason())));
            } else {
                b.add(Event.newBuilder().setJobRestarting(JobRestarting.newBuilder().setJobId(j.getJobId())
                        .setAttempt(restartAttempt(j)).setPlacement(Placements.toProto(p.placement()))
                        .setRestoreStep(j.getCheckpointStep()).setReason("replacement found: " + p.reason())));
            }
        } else {
            waiting(j, d.reason());
        }
    }

    /**
     * Why the tenant's quota keeps {@code j} from taking its cards now, or null when it may. The cards {@code j}
     * holds itself are given back first (a restart), so they do not count. The same rule apply enforces
     * (invariant 5): the placement policies know nothing of quotas.
     */
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

    private List<JobRecord> waitingInQueueOrder() {
        List<JobRecord> out = new ArrayList<>();
        for (JobRecord j : b.view.jobs().values()) {
            if (j.getState() == JobState.PENDING || j.getState() == JobState.INTERRUPTED) out.add(j);
        }
        out.sort(Comparator.comparingInt((JobRecord j) -> -j.getSpec().getPriority()).thenComparingLong(JobRecord::getSubmitSeq));
        return out;
    }

    JobRecord job(String id) {
        if (id.isEmpty()) throw Rejection.invalid("jobId: required");
        JobRecord j = b.view.jobs().get(id);
        if (j == null) throw Rejection.notFound("no job " + id + "; 'cardinal job list' shows the jobs");
        return j;
    }
}
