package io.cardinal.state.controller;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.policy.FirstFitPolicy;
import io.cardinal.protocol.v1.CancelJob;
import io.cardinal.protocol.v1.Command;
import io.cardinal.protocol.v1.CordonNode;
import io.cardinal.protocol.v1.DeclareNodeLost;
import io.cardinal.protocol.v1.DrainNode;
import io.cardinal.protocol.v1.Event;
import io.cardinal.protocol.v1.EventBatch;
import io.cardinal.protocol.v1.JobRecord;
import io.cardinal.protocol.v1.JobSpec;
import io.cardinal.protocol.v1.JobState;
import io.cardinal.protocol.v1.Reply;
import io.cardinal.protocol.v1.ReportCardHealth;
import io.cardinal.protocol.v1.ReportCheckpoint;
import io.cardinal.protocol.v1.ReportJobExited;
import io.cardinal.protocol.v1.ReportJobStarted;
import io.cardinal.protocol.v1.SetQuota;
import io.cardinal.protocol.v1.SupernodeRule;
import io.cardinal.protocol.v1.TaskPlacement;
import io.cardinal.state.ClusterState;
import io.cardinal.state.Fixtures;
import io.cardinal.state.InvariantChecker;
import io.cardinal.state.Placements;
import io.cardinal.state.apply.Applier;
import io.cardinal.state.apply.ApplyResult;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Controller handlers by example. Every batch is committed to {@code committed} (as the Raft log would) and the
 * controller's view is checked against it. Topology: sn-a = n1, n2 (8 x 910b each), sn-b = n3 (8 x 910b),
 * sn-c = n4 (4 x h100).
 */
class ControllerTest {
    static final long TERM = 3;

    ClusterState committed;
    Controller ctl;
    long index;
    long now = 1_700_000_000_000L;

    @BeforeEach
    void cluster() {
        committed = new ClusterState();
        ctl = new Controller(committed, new FirstFitPolicy(), TERM);
        ok(Fixtures.register("n1", "sn-a", 8, "910b"));
        ok(Fixtures.register("n2", "sn-a", 8, "910b"));
        ok(Fixtures.register("n3", "sn-b", 8, "910b"));
        ok(Fixtures.register("n4", "sn-c", 4, "h100"));
    }

    /** Handles the command and commits its events; checks the controller's view still equals the committed state. */
    CommandResult run(Command c) {
        CommandResult r = ctl.handle(c, now += 1000);
        assertFalse(ctl.broken(), r.reply().toString());
        if (!r.events().isEmpty()) {
            ApplyResult res = Applier.apply(committed, batch(r.events()), TERM, ++index);
            assertFalse(res.skipped());
        }
        assertEquals(committed.stateHash(), ctl.view().stateHash(), "controller view vs committed state");
        InvariantChecker.checkAtRest(committed);
        return r;
    }

    CommandResult ok(Command c) {
        CommandResult r = run(c);
        assertTrue(r.reply().getOk(), r.reply().toString());
        return r;
    }

    Reply refused(Command c, String code) {
        String before = committed.stateHash();
        CommandResult r = run(c);
        assertFalse(r.reply().getOk(), "should be refused: " + c);
        assertEquals(code, r.reply().getCode(), r.reply().getMessage());
        assertTrue(r.events().isEmpty());
        assertEquals(before, committed.stateHash());
        return r.reply();
    }

    static EventBatch batch(List<Event> events) {
        return Fixtures.batch(TERM, events);
    }

    String submit(JobSpec spec) {
        CommandResult r = ok(Fixtures.submit(spec, ""));
        return r.reply().getJobId();
    }

    JobRecord job(String id) {
        return committed.jobs().get(id);
    }

    static Set<CardRef> cards(JobRecord j) {
        return new TreeSet<>(Placements.fromProto(j.getPlacement()).cards());
    }

    static List<Event.BodyCase> kinds(List<Event> events) {
        return events.stream().map(Event::getBodyCase).toList();
    }

    static Command cardFailed(CardRef c) {
        return Command.newBuilder().setReportCardHealth(ReportCardHealth.newBuilder()
                .setCard(Placements.toProto(c)).setHealthy(false).setReason("ECC errors")).build();
    }

    /** The whole attempt started (rank -1: no per-rank tracking). */
    static Command started(String job, long attempt) {
        return Command.newBuilder().setReportJobStarted(ReportJobStarted.newBuilder().setJobId(job).setAttempt(attempt).setRank(-1)).build();
    }

    static Command checkpointed(String job, long attempt, long step) {
        return Command.newBuilder().setReportCheckpoint(ReportCheckpoint.newBuilder().setJobId(job).setAttempt(attempt).setStep(step)).build();
    }

    /** Every rank's shard of the step is durable; returns the result of the last rank's report. */
    CommandResult checkpointAll(String job, long attempt, long step) {
        CommandResult last = null;
        for (int r = 0; r < job(job).getSpec().getTasks(); r++) {
            last = ok(Command.newBuilder().setReportCheckpoint(ReportCheckpoint.newBuilder().setJobId(job).setAttempt(attempt)
                    .setStep(step).setRank(r)).build());
        }
        return last;
    }

    static Command exited(String job, long attempt, int code) {
        return Command.newBuilder().setReportJobExited(ReportJobExited.newBuilder().setJobId(job).setAttempt(attempt).setExitCode(code)).build();
    }

    static Command cancel(String job) {
        return Command.newBuilder().setCancelJob(CancelJob.newBuilder().setJobId(job)).build();
    }

    // ---- submit ------------------------------------------------------------------------------------------------

    @Test
    void registrationWithEmptyOrMalformedTierNamesIsRefusedNamingTheTier() {
        Command base = Fixtures.register("n9", "sn-z", 8, "910b");
        Command empty = base.toBuilder().setRegisterNode(base.getRegisterNode().toBuilder().addTiers("pod-1").addTiers("")).build();
        Reply r = refused(empty, "invalid");
        assertTrue(r.getMessage().contains("tiers[1]"), r.getMessage());
        Command slash = base.toBuilder().setRegisterNode(base.getRegisterNode().toBuilder().addTiers("pod/1")).build();
        assertTrue(refused(slash, "invalid").getMessage().contains("tiers[0]"));
        ok(base.toBuilder().setRegisterNode(base.getRegisterNode().toBuilder().addTiers("pod-1")).build());
    }

    @Test
    void duplicateSubmitWithTheSameKeyReturnsTheSameJobAndWritesNothing() {
        CommandResult first = ok(Fixtures.submit(Fixtures.spec("train", "t", 1, 4).build(), "key-1"));
        assertEquals("j-000001", first.reply().getJobId());
        assertEquals(List.of(Event.BodyCase.JOB_SUBMITTED, Event.BodyCase.JOB_PLACED), kinds(first.events()));
        assertFalse(first.reply().getDuplicate());

        // The retry may even carry a different spec: the key decides.
        CommandResult again = ok(Fixtures.submit(Fixtures.spec("other", "t", 2, 8).build(), "key-1"));
        assertTrue(again.reply().getDuplicate());
        assertEquals("j-000001", again.reply().getJobId());
        assertTrue(again.events().isEmpty());
        assertEquals(1, committed.jobs().size());

        CommandResult other = ok(Fixtures.submit(Fixtures.spec("train", "t", 1, 4).build(), "key-2"));
        assertEquals("j-000002", other.reply().getJobId());
        assertFalse(other.reply().getDuplicate());
    }

    @Test
    void duplicateIsRecognisedBeforeTheFirstSubmitIsCommitted() {
        CommandResult first = ctl.handle(Fixtures.submit(Fixtures.spec("train", "t", 1, 4).build(), "key-9"), now);
        CommandResult retry = ctl.handle(Fixtures.submit(Fixtures.spec("train", "t", 1, 4).build(), "key-9"), now);
        assertTrue(retry.reply().getDuplicate());
        assertEquals(first.reply().getJobId(), retry.reply().getJobId());
        assertTrue(retry.events().isEmpty());
    }

    @Test
    void impossibleSpecsAreRefusedNamingTheField() {
        assertTrue(refused(Fixtures.submit(Fixtures.spec("big", "t", 1, 16).build(), ""), "invalid").getMessage().startsWith("cardsPerTask:"));
        assertTrue(refused(Fixtures.submit(Fixtures.spec("tpu", "t", 1, 1).addCardModels("tpu-v5").build(), ""), "invalid")
                .getMessage().startsWith("cardModel:"));
        JobSpec required = Fixtures.spec("wide", "t", 3, 8).setSupernode(SupernodeRule.SUPERNODE_REQUIRED).build();
        Reply r = refused(Fixtures.submit(required, ""), "invalid");
        assertTrue(r.getMessage().startsWith("topology.supernode:") && r.getMessage().contains("16"), r.getMessage());
        // The same shape without the rule fits across supernodes.
        ok(Fixtures.submit(required.toBuilder().setSupernode(SupernodeRule.SUPERNODE_PREFERRED).build(), ""));
        assertTrue(refused(Fixtures.submit(Fixtures.spec("huge", "t", 5, 8).build(), ""), "invalid").getMessage().startsWith("tasks:"));
        assertTrue(refused(Fixtures.submit(Fixtures.spec("h", "t", 2, 4).addCardModels("h100").build(), ""), "invalid")
                .getMessage().startsWith("tasks:"), "only 4 h100 cards exist");
        assertTrue(refused(Fixtures.submit(Fixtures.spec("", "t", 1, 1).build(), ""), "invalid").getMessage().startsWith("name:"));
        assertTrue(refused(Fixtures.submit(Fixtures.spec("x", "", 1, 1).build(), ""), "invalid").getMessage().startsWith("tenant:"));
        assertTrue(refused(Fixtures.submit(Fixtures.spec("x", "t", 1, 1).clearCommand().build(), ""), "invalid").getMessage().startsWith("command:"));
    }

    // ---- failures and restarts ---------------------------------------------------------------------------------

    @Test
    void cardFailureRestartsTheJobInOneBatchFromTheLastCheckpointAvoidingTheCard() {
        String id = submit(Fixtures.spec("train", "t", 2, 4).setMaxRestarts(3).build());
        ok(started(id, 1));
        checkpointAll(id, 1, 100);
        checkpointAll(id, 1, 200);
        assertTrue(checkpointAll(id, 1, 150).events().isEmpty(), "an older step commits nothing");
        JobRecord before = job(id);
        assertEquals(JobState.RUNNING, before.getState());
        CardRef failed = Placements.fromProto(before.getPlacement()).cards().get(1);

        CommandResult r = ok(cardFailed(failed));
        assertEquals(List.of(Event.BodyCase.CARD_HEALTH_CHANGED, Event.BodyCase.JOB_INTERRUPTED, Event.BodyCase.JOB_RESTARTING),
                kinds(r.events()));
        assertEquals(id, r.reply().getJobId());
        var interrupted = r.events().get(1).getJobInterrupted();
        assertEquals(1, interrupted.getAttempt());
        assertEquals(List.of(Placements.toProto(failed)), interrupted.getLostCardsList());
        var restarting = r.events().get(2).getJobRestarting();
        assertEquals(2, restarting.getAttempt());
        assertEquals(200, restarting.getRestoreStep());
        assertFalse(new TreeSet<>(Placements.fromProto(restarting.getPlacement()).cards()).contains(failed));

        JobRecord after = job(id);
        assertEquals(JobState.RESTARTING, after.getState());
        assertEquals(2, after.getAttempt());
        assertEquals(1, after.getRestarts());
        assertEquals(8, cards(after).size());
        assertFalse(cards(after).contains(failed));
        assertTrue(ok(started(id, 1)).events().isEmpty(), "a report from the old attempt is ignored");
        assertEquals(List.of(Event.BodyCase.JOB_STARTED), kinds(ok(started(id, 2)).events()));
    }

    @Test
    void nodeLostRestartsEveryJobOnIt() {
        String a = submit(Fixtures.spec("a", "t", 1, 4).setMaxRestarts(1).build());
        String b = submit(Fixtures.spec("b", "t", 1, 4).setMaxRestarts(1).build());
        String c = submit(Fixtures.spec("c", "t", 1, 8).setMaxRestarts(1).build());
        assertEquals(Set.of("n1"), nodes(job(a)));
        assertEquals(Set.of("n1"), nodes(job(b)));
        assertEquals(Set.of("n2"), nodes(job(c)));

        CommandResult r = ok(Command.newBuilder().setDeclareNodeLost(DeclareNodeLost.newBuilder().setNodeId("n1").setEpoch(1)).build());
        assertEquals(Event.BodyCase.NODE_LOST, r.events().get(0).getBodyCase());
        for (String id : List.of(a, b)) {
            JobRecord j = job(id);
            assertEquals(JobState.RESTARTING, j.getState(), id);
            assertEquals(2, j.getAttempt(), id);
            assertFalse(nodes(j).contains("n1"), id + " still on the lost node");
        }
        assertEquals(1, job(c).getAttempt(), "a job elsewhere is untouched");
        assertFalse(committed.nodes().get("n1").getOnline());
        // A stale report of the loss (old epoch) is refused.
        ok(Fixtures.register("n1", "sn-a", 8, "910b"));
        refused(Command.newBuilder().setDeclareNodeLost(DeclareNodeLost.newBuilder().setNodeId("n1").setEpoch(1)).build(), "conflict");
    }

    @Test
    void drainMovesJobsOffTheNodeAndEndsWithNodeDrained() {
        String a = submit(Fixtures.spec("a", "t", 1, 4).setMaxRestarts(1).build());
        String b = submit(Fixtures.spec("b", "t", 1, 2).setMaxRestarts(1).build());
        assertEquals(Set.of("n1"), nodes(job(a)));
        assertEquals(Set.of("n1"), nodes(job(b)));

        CommandResult r = ok(Command.newBuilder().setDrainNode(DrainNode.newBuilder().setNodeId("n1").setReason("maintenance")).build());
        assertEquals(Event.BodyCase.NODE_CORDONED, r.events().get(0).getBodyCase());
        assertEquals(Event.BodyCase.NODE_DRAINED, r.events().get(r.events().size() - 1).getBodyCase());
        for (String id : List.of(a, b)) {
            assertFalse(nodes(job(id)).contains("n1"), id);
            assertTrue(ClusterState.holdsCards(job(id).getState()), id);
        }
        assertTrue(committed.nodes().get("n1").getCordoned() && committed.nodes().get("n1").getDrained());
        String c = submit(Fixtures.spec("c", "t", 1, 8).build());
        assertFalse(nodes(job(c)).contains("n1"), "nothing new lands on a drained node");
    }

    @Test
    void restartBudgetExhaustedFailsTheJob() {
        String id = submit(Fixtures.spec("train", "t", 1, 4).setMaxRestarts(1).build());
        ok(cardFailed(Placements.fromProto(job(id).getPlacement()).cards().get(0)));
        assertEquals(2, job(id).getAttempt());
        CommandResult r = ok(cardFailed(Placements.fromProto(job(id).getPlacement()).cards().get(0)));
        assertEquals(List.of(Event.BodyCase.CARD_HEALTH_CHANGED, Event.BodyCase.JOB_FAILED), kinds(r.events()));
        assertTrue(r.events().get(1).getJobFailed().getReason().contains("restart budget"));
        assertEquals(JobState.FAILED, job(id).getState());
        assertTrue(committed.inventory().cardsOf(id).isEmpty(), "a failed job frees its cards");

        String none = submit(Fixtures.spec("fragile", "t", 1, 4).build());
        ok(exited(none, 1, 137));
        assertEquals(JobState.FAILED, job(none).getState(), "max restarts 0: the first failure is final");
    }

    @Test
    void nodeRegisteringAgainVoidsItsJobsWithinTheRestartBudget() {
        String keep = submit(Fixtures.spec("keep", "t", 1, 4).setMaxRestarts(1).build());
        String fragile = submit(Fixtures.spec("fragile", "t", 1, 4).build());
        assertEquals(Set.of("n1"), nodes(job(keep)));
        assertEquals(Set.of("n1"), nodes(job(fragile)));

        CommandResult r = ok(Fixtures.register("n1", "sn-a", 8, "910b"));
        assertEquals("epoch 2", r.reply().getMessage());
        assertEquals(2, committed.nodes().get("n1").getEpoch());
        assertEquals(JobState.RESTARTING, job(keep).getState());
        assertEquals(2, job(keep).getAttempt());
        assertEquals(1, job(keep).getRestarts());
        assertEquals(JobState.FAILED, job(fragile).getState(), "max restarts 0: voided work is not restarted");
        assertTrue(job(fragile).getReason().contains("restart budget"), job(fragile).getReason());

        assertEquals(Set.of("n1"), nodes(job(keep)), "first fit puts it back on the fresh n1");
        ok(Fixtures.register("n1", "sn-a", 8, "910b"));
        assertEquals(JobState.FAILED, job(keep).getState(), "the second re-registration used up its budget of 1");
    }

    @Test
    void jobWithoutReplacementWaitsAndRestartsWhenCardsReturn() {
        String id = submit(Fixtures.spec("h", "t", 1, 4).addCardModels("h100").setMaxRestarts(2).build());
        checkpointAll(id, 1, 7);
        CommandResult r = ok(cardFailed(new CardRef("n4", 2)));
        assertEquals(List.of(Event.BodyCase.CARD_HEALTH_CHANGED, Event.BodyCase.JOB_INTERRUPTED, Event.BodyCase.JOB_WAITING),
                kinds(r.events()));
        assertEquals(JobState.INTERRUPTED, job(id).getState());
        assertTrue(job(id).getReason().startsWith("waiting for replacement cards"), job(id).getReason());

        CommandResult healed = ok(Command.newBuilder().setReportCardHealth(ReportCardHealth.newBuilder()
                .setCard(Fixtures.card("n4", 2)).setHealthy(true)).build());
        assertEquals(List.of(Event.BodyCase.CARD_HEALTH_CHANGED, Event.BodyCase.JOB_RESTARTING), kinds(healed.events()));
        assertEquals(7, job(id).getRestoreStep());
        assertEquals(2, job(id).getAttempt());
    }

    @Test
    void jobsPastTheirTenantsQuotaWaitInsteadOfBreakingTheController() {
        ok(Command.newBuilder().setSetQuota(SetQuota.newBuilder().setTenant("t").setCards(8).setBorrowLimitCards(0)).build());
        String a = submit(Fixtures.spec("a", "t", 1, 8).build());
        String b = submit(Fixtures.spec("b", "t", 1, 4).build());
        String other = submit(Fixtures.spec("o", "u", 1, 4).build());
        assertEquals(JobState.PLACED, job(a).getState());
        assertEquals(JobState.PENDING, job(b).getState());
        assertTrue(job(b).getReason().contains("quota"), job(b).getReason());
        assertEquals(JobState.PLACED, job(other).getState(), "another tenant is not held back");

        CommandResult done = ok(exited(a, 1, 0));
        assertEquals(List.of(Event.BodyCase.RANK_EXITED, Event.BodyCase.JOB_SUCCEEDED, Event.BodyCase.JOB_PLACED), kinds(done.events()));
        assertEquals(JobState.PLACED, job(b).getState());
    }

    @Test
    void restartPastALoweredQuotaWaits() {
        String a = submit(Fixtures.spec("a", "t", 1, 8).setMaxRestarts(2).build());
        ok(Command.newBuilder().setSetQuota(SetQuota.newBuilder().setTenant("t").setCards(4).setBorrowLimitCards(0)).build());
        assertEquals(JobState.PLACED, job(a).getState(), "lowering a quota evicts nobody");
        CommandResult r = ok(exited(a, 1, 1));
        assertEquals(List.of(Event.BodyCase.JOB_INTERRUPTED, Event.BodyCase.JOB_WAITING), kinds(r.events()));
        assertTrue(job(a).getReason().contains("quota"), job(a).getReason());
    }

    // ---- refusals ----------------------------------------------------------------------------------------------

    @Test
    void cancelOfAFinishedJobIsAConflict() {
        String id = submit(Fixtures.spec("a", "t", 1, 4).build());
        ok(exited(id, 1, 0));
        assertEquals(JobState.SUCCEEDED, job(id).getState());
        assertTrue(refused(cancel(id), "conflict").getMessage().contains(id));

        String p = submit(Fixtures.spec("b", "t", 1, 4).build());
        CommandResult r = ok(cancel(p));
        assertEquals(Event.BodyCase.JOB_CANCELLED, r.events().get(0).getBodyCase());
        assertTrue(committed.inventory().cardsOf(p).isEmpty());
        refused(cancel(p), "conflict");
    }

    @Test
    void unknownIdsAreNotFound() {
        refused(cancel("j-424242"), "not_found");
        refused(started("j-424242", 1), "not_found");
        refused(checkpointed("j-424242", 1, 5), "not_found");
        refused(exited("j-424242", 1, 0), "not_found");
        refused(Command.newBuilder().setCordonNode(CordonNode.newBuilder().setNodeId("nx")).build(), "not_found");
        refused(Command.newBuilder().setDrainNode(DrainNode.newBuilder().setNodeId("nx")).build(), "not_found");
        refused(Command.newBuilder().setDeclareNodeLost(DeclareNodeLost.newBuilder().setNodeId("nx")).build(), "not_found");
        refused(cardFailed(new CardRef("nx", 0)), "not_found");
        refused(cardFailed(new CardRef("n4", 4)), "not_found");
        refused(Command.newBuilder().build(), "invalid");
    }

    // ---- terms -------------------------------------------------------------------------------------------------

    @Test
    void aBatchFromAStaleLeaderTermIsSkippedIdenticallyOnEveryReplica() {
        ClusterState replica1 = committed.copy();
        ClusterState replica2 = committed.copy();
        String hash = committed.stateHash();
        CommandResult r = ctl.handle(Fixtures.submit(Fixtures.spec("a", "t", 1, 4).build(), "k"), now);
        assertFalse(r.events().isEmpty());
        EventBatch stale = batch(r.events());

        ApplyResult r1 = Applier.apply(replica1, stale, TERM + 1, 100);
        ApplyResult r2 = Applier.apply(replica2, stale, TERM + 1, 100);
        for (var rep : List.of(replica1, replica2)) {
            assertEquals(hash, rep.stateHash(), "a skipped batch changes nothing");
            assertEquals(100, rep.appliedIndex());
            assertEquals(TERM + 1, rep.appliedTerm());
            assertTrue(rep.jobs().isEmpty());
        }
        assertTrue(r1.skipped() && r2.skipped());
        assertEquals(r1, r2);
        assertTrue(r1.skipReason().contains(String.valueOf(TERM)) && r1.skipReason().contains(String.valueOf(TERM + 1)), r1.skipReason());

        // The same batch in its own term applies, and matches the (now discarded) old leader's view.
        ApplyResult applied = Applier.apply(replica1, stale, TERM, 101);
        assertFalse(applied.skipped());
        assertEquals(ctl.view().stateHash(), replica1.stateHash());
        assertNotEquals(hash, replica1.stateHash());
    }

    private static Set<String> nodes(JobRecord j) {
        Set<String> out = new TreeSet<>();
        for (TaskPlacement t : j.getPlacement().getTasksList()) out.add(t.getNodeId());
        return out;
    }

    // ---- restart policy: backoff, suspect cards, budget that resets on progress --------------------------------

    static Command crashed(String job, long attempt, int rank) {
        return Command.newBuilder().setReportJobExited(ReportJobExited.newBuilder().setJobId(job).setAttempt(attempt)
                .setRank(rank).setExitCode(3).setDetail("boom")).build();
    }

    @Test
    void aWorkerCrashWaitsItsBackoffBeforeTheRestart() {
        String id = submit(Fixtures.spec("bo", "t", 1, 4).setMaxRestarts(3).setBackoffSeconds(10).build());
        ok(started(id, 1));
        CommandResult r = ok(crashed(id, 1, 0));
        assertEquals(List.of(Event.BodyCase.JOB_INTERRUPTED, Event.BodyCase.JOB_WAITING), kinds(r.events()));
        JobRecord j = job(id);
        assertEquals(JobState.INTERRUPTED, j.getState());
        assertTrue(j.getNotBeforeMs() >= now + 9_000, "backoff of 10 s from " + now + ": " + j.getNotBeforeMs());
        assertTrue(j.getReason().contains("backoff"), j.getReason());
        assertTrue(ok(Command.newBuilder().setReconcile(io.cardinal.protocol.v1.Reconcile.getDefaultInstance()).build()).events().isEmpty(),
                "nothing restarts before the backoff ends");
        assertTrue(ctl.restartDue(j.getNotBeforeMs()));
        now = j.getNotBeforeMs();
        CommandResult later = ok(Command.newBuilder().setReconcile(io.cardinal.protocol.v1.Reconcile.getDefaultInstance()).build());
        assertEquals(List.of(Event.BodyCase.JOB_RESTARTING), kinds(later.events()));
        assertEquals(2, job(id).getAttempt());
    }

    @Test
    void aCardUnderTwoCrashesInARowIsMarkedSuspectAndAvoided() {
        String id = submit(Fixtures.spec("sus", "t", 1, 2).setMaxRestarts(5).setBackoffSeconds(0).build());
        ok(started(id, 1));
        List<CardRef> first = Placements.fromProto(job(id).getPlacement()).cards();
        CommandResult r1 = ok(crashed(id, 1, 0));
        assertTrue(kinds(r1.events()).contains(Event.BodyCase.JOB_RESTARTING), kinds(r1.events()).toString());
        assertTrue(r1.events().stream().noneMatch(e -> e.hasCardHealthChanged()), "one crash marks nothing");
        List<CardRef> second = Placements.fromProto(job(id).getPlacement()).cards();
        List<CardRef> both = new java.util.ArrayList<>(first);
        both.retainAll(second);
        if (both.isEmpty()) return; // the policy moved the job: no card saw two crashes (still a valid outcome)
        ok(started(id, 2));
        CommandResult r2 = ok(crashed(id, 2, 0));
        List<Event> marks = r2.events().stream().filter(Event::hasCardHealthChanged).toList();
        assertEquals(both.size(), marks.size(), r2.events().toString());
        for (Event e : marks) {
            assertTrue(e.getCardHealthChanged().getReason().startsWith("suspect"), e.toString());
            assertTrue(!Placements.fromProto(job(id).getPlacement()).cards().contains(Placements.fromProto(e.getCardHealthChanged().getCard())),
                    "the new placement avoids the suspect card");
        }
    }

    @Test
    void theRestartBudgetStartsOverAfterProgress() {
        String id = submit(Fixtures.spec("budget", "t", 1, 4).setMaxRestarts(1).setBackoffSeconds(0).build());
        ok(started(id, 1));
        checkpointAll(id, 1, 10);
        ok(crashed(id, 1, 0));
        assertEquals(1, job(id).getRestarts());
        ok(started(id, 2));
        checkpointAll(id, 2, 20);
        assertEquals(0, job(id).getRestarts(), "progress past the restore point resets the budget");
        assertEquals(1, job(id).getRestartsTotal());
        ok(crashed(id, 2, 0));
        assertEquals(JobState.RESTARTING, job(id).getState(), "a fresh budget allows another restart");
        ok(started(id, 3));
        ok(crashed(id, 3, 0));
        assertEquals(JobState.FAILED, job(id).getState(), "no progress since: the budget of 1 is used up");
    }
}
