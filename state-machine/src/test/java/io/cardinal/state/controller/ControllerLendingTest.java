package io.cardinal.state.controller;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.policy.CardinalPolicy;
import io.cardinal.protocol.v1.Command;
import io.cardinal.protocol.v1.Event;
import io.cardinal.protocol.v1.EventBatch;
import io.cardinal.protocol.v1.JobRecord;
import io.cardinal.protocol.v1.JobState;
import io.cardinal.protocol.v1.ReportCardHealth;
import io.cardinal.protocol.v1.SetSpareRule;
import io.cardinal.state.ClusterState;
import io.cardinal.state.Fixtures;
import io.cardinal.state.InvariantChecker;
import io.cardinal.state.apply.Applier;
import io.cardinal.state.apply.ApplyResult;
import io.cardinal.state.store.StateStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static io.cardinal.state.controller.ControllerTest.cards;
import static io.cardinal.state.controller.ControllerTest.kinds;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Spare lending in the controller (server config lendSpares). Topology: one supernode sn-a = n1, n2 (8 x 910b
 * each) whose spare rule keeps 4 cards out of normal placement, so 12 cards are placeable without spares. Job A
 * (3 x 4) takes all 12; job B (1 x 2) then fits only on spare cards: lent with lending on, waiting with it off.
 */
class ControllerLendingTest {
    static final long TERM = 3;

    ClusterState committed;
    Controller ctl;
    long index;
    long now = 1_700_000_000_000L;
    /** Every committed batch, in order (the Raft log), and the store each was written to when one is open. */
    final List<EventBatch> log = new ArrayList<>();
    StateStore store;

    void cluster(boolean lendSpares) {
        committed = new ClusterState();
        ctl = new Controller(committed, new CardinalPolicy(), TERM, lendSpares);
        ok(Fixtures.register("n1", "sn-a", 8, "910b"));
        ok(Fixtures.register("n2", "sn-a", 8, "910b"));
        ok(Command.newBuilder().setActor("cli:test").setSetSpareRule(SetSpareRule.newBuilder().setSupernodeId("sn-a").setCards(4)).build());
    }

    CommandResult ok(Command c) {
        CommandResult r = ctl.handle(c, now += 1000);
        assertFalse(ctl.broken(), r.reply().toString());
        assertTrue(r.reply().getOk(), r.reply().toString());
        if (!r.events().isEmpty()) {
            EventBatch b = Fixtures.batch(TERM, r.events());
            ApplyResult res = Applier.apply(committed, b, TERM, ++index);
            assertFalse(res.skipped());
            log.add(b);
            if (store != null) {
                try {
                    store.write(committed, res);
                } catch (java.io.IOException e) {
                    throw new AssertionError(e);
                }
            }
        }
        assertEquals(committed.stateHash(), ctl.view().stateHash(), "controller view vs committed state");
        // Checks, among the rest, that each job record's lent mark matches the inventory's.
        InvariantChecker.checkAtRest(committed);
        return r;
    }

    String submit(String name, int tasks, int cardsPerTask) {
        return ok(Fixtures.submit(Fixtures.spec(name, "t", tasks, cardsPerTask).setMaxRestarts(3).build(), "")).reply().getJobId();
    }

    JobRecord job(String id) {
        return committed.jobs().get(id);
    }

    static Command cardFailed(String node, int idx) {
        return Command.newBuilder().setReportCardHealth(ReportCardHealth.newBuilder()
                .setCard(Fixtures.card(node, idx)).setHealthy(false).setReason("ECC errors")).build();
    }

    static Event only(List<Event> events, Event.BodyCase kind) {
        List<Event> of = events.stream().filter(e -> e.getBodyCase() == kind).toList();
        assertEquals(1, of.size(), "one " + kind + " in " + kinds(events));
        return of.get(0);
    }

    /** A on 12 normal cards, B on 2 lent spare cards of n2; returns {A, B}. */
    String[] aThenLentB() {
        String a = submit("a", 3, 4);
        JobRecord ja = job(a);
        assertEquals(JobState.PLACED, ja.getState());
        assertFalse(ja.getLent(), "A fits outside spares: a normal placement");
        String b = submit("b", 1, 2);
        return new String[]{a, b};
    }

    @Test
    void aJobThatFitsOnlyOnSpareCardsIsPlacedLent() {
        cluster(true);
        String[] ab = aThenLentB();
        String b = ab[1];
        Event placed = only(log.get(log.size() - 1).getEventsList(), Event.BodyCase.JOB_PLACED);
        assertEquals(b, placed.getJobPlaced().getJobId());
        assertTrue(placed.getJobPlaced().getLent(), "JobPlaced carries the lent mark");
        assertTrue(placed.getJobPlaced().getReason().contains("lent 2 spare card(s) of sn-a"), placed.getJobPlaced().getReason());

        JobRecord jb = job(b);
        assertEquals(JobState.PLACED, jb.getState());
        assertTrue(jb.getLent(), "the job record keeps the mark");
        assertTrue(jb.getReason().contains("lent 2 spare card(s)"), "job show's reason says it is lent: " + jb.getReason());
        assertEquals(List.of(b), committed.inventory().lentJobs(), "the applied inventory marks it lent");
        assertFalse(committed.inventory().isLent(ab[0]));
        assertEquals(Set.of("n2"), nodes(jb));
        // Once it runs its reason is cleared; job show still says it is lent.
        ok(Command.newBuilder().setReportJobStarted(io.cardinal.protocol.v1.ReportJobStarted.newBuilder().setJobId(b)
                .setAttempt(1).setRank(-1)).build());
        assertEquals(JobState.RUNNING, job(b).getState());
        assertTrue(io.cardinal.state.query.Views.jobDetail(job(b)).path("lent").asBoolean(false), "job show's lent field");
        assertFalse(io.cardinal.state.query.Views.jobDetail(job(ab[0])).has("lent"));
    }

    @Test
    void aReplacementThatNeedsTheLentCardsEvictsTheBorrowerFirstInTheSameBatch() {
        cluster(true);
        String[] ab = aThenLentB();
        String a = ab[0], b = ab[1];
        JobRecord before = job(a);
        assertEquals("n1", before.getPlacement().getTasks(0).getNodeId());
        assertEquals(List.of(0, 1, 2, 3), before.getPlacement().getTasks(0).getCardIndicesList());

        // n1/0 fails under A's task 0. The only free cards are n2's other 2 spares: too few for a 4-card task, so
        // without eviction A could not be replaced at all; with B's cards back it stays in sn-a.
        CommandResult r = ok(cardFailed("n1", 0));
        List<Event.BodyCase> k = kinds(r.events());
        assertEquals(List.of(Event.BodyCase.CARD_HEALTH_CHANGED, Event.BodyCase.JOB_INTERRUPTED, Event.BodyCase.JOB_PREEMPTED,
                Event.BodyCase.JOB_RESTARTING), k.subList(0, 4), "the borrower stops before the restart, in one batch: " + k);
        assertEquals(a, r.events().get(1).getJobInterrupted().getJobId());
        var preempted = r.events().get(2).getJobPreempted();
        assertEquals(b, preempted.getJobId());
        assertEquals(1, preempted.getAttempt());
        assertEquals(a, preempted.getByJobId());
        assertEquals("evicted from lent spare cards: job " + a + "'s replacement needs them", preempted.getReason());
        var restarting = r.events().get(3).getJobRestarting();
        assertEquals(a, restarting.getJobId());
        assertFalse(restarting.getLent(), "A was a normal placement and stays one");
        assertTrue(restarting.getReason().contains("evicted lent job(s) [" + b + "]"), restarting.getReason());

        JobRecord ja = job(a);
        assertEquals(JobState.RESTARTING, ja.getState());
        assertEquals(2, ja.getAttempt());
        // In place: the tasks that lost nothing keep their cards, the failed one moves within sn-a onto B's cards.
        assertEquals(before.getPlacement().getTasks(1), ja.getPlacement().getTasks(1));
        assertEquals(before.getPlacement().getTasks(2), ja.getPlacement().getTasks(2));
        assertEquals("n2", ja.getPlacement().getTasks(0).getNodeId());
        assertFalse(cards(ja).contains(new CardRef("n1", 0)));

        // B is back in the queue, and the scheduling pass of the same batch lends it the spare cards left (n1's 3
        // free cards are now the supernode's spares) as a new attempt.
        assertEquals(List.of(Event.BodyCase.JOB_PLACED), k.subList(4, k.size()), "after the restart: " + k);
        var again = r.events().get(4).getJobPlaced();
        assertEquals(b, again.getJobId());
        assertEquals(2, again.getAttempt());
        assertTrue(again.getLent());
        JobRecord jb = job(b);
        assertEquals(JobState.PLACED, jb.getState());
        assertTrue(jb.getLent());
        assertEquals(Set.of("n1"), nodes(jb));
        assertTrue(java.util.Collections.disjoint(cards(jb), cards(ja)));
        assertEquals(List.of(b), committed.inventory().lentJobs());
    }

    @Test
    void anEvictedJobThatFitsNowhereElseWaitsInTheQueue() {
        cluster(true);
        String a = submit("a", 3, 4);
        String b = submit("b", 1, 4);
        assertTrue(job(b).getLent(), "B takes all 4 of n2's spare cards");
        CommandResult r = ok(cardFailed("n1", 0));
        List<Event.BodyCase> k = kinds(r.events());
        assertTrue(k.indexOf(Event.BodyCase.JOB_PREEMPTED) < k.indexOf(Event.BodyCase.JOB_RESTARTING), k.toString());
        assertEquals(JobState.RESTARTING, job(a).getState());
        // n1's 3 free healthy cards are too few for B's 4-card task: it waits, as a preempted job does.
        JobRecord jb = job(b);
        assertEquals(JobState.PENDING, jb.getState(), "the evicted job waits in the queue again");
        assertEquals(1, jb.getAttempt());
        assertFalse(jb.getLent());
        assertEquals(0, jb.getPlacement().getTasksCount());
        assertTrue(committed.inventory().cardsOf(b).isEmpty());
        assertTrue(committed.inventory().lentJobs().isEmpty());
    }

    @Test
    void aLentJobKeepsItsMarkOnItsOwnReplacement() {
        cluster(true);
        String b = aThenLentB()[1];
        CardRef lostCard = cards(job(b)).iterator().next();
        CommandResult r = ok(cardFailed(lostCard.nodeId(), lostCard.index()));
        var restarting = only(r.events(), Event.BodyCase.JOB_RESTARTING).getJobRestarting();
        assertEquals(b, restarting.getJobId());
        assertTrue(restarting.getLent(), "JobRestarting carries the lent mark");
        assertTrue(job(b).getLent());
        assertEquals(List.of(b), committed.inventory().lentJobs());
        assertFalse(cards(job(b)).contains(lostCard));
    }

    @Test
    void snapshotRestoreAndLogReplayRebuildTheSameLentJobs(@TempDir Path tmp) throws Exception {
        try (StateStore s = StateStore.open(tmp.resolve("db"))) {
            store = s;
            cluster(true);
            String[] ab = aThenLentB();
            store.checkpoint(tmp.resolve("cp"));
            store = null;
            assertEquals(List.of(ab[1]), committed.inventory().lentJobs());

            ClusterState replayed = new ClusterState();
            long i = 0;
            for (EventBatch batch : log) Applier.apply(replayed, batch, TERM, ++i);
            assertEquals(List.of(ab[1]), replayed.inventory().lentJobs(), "log replay");
            assertEquals(committed.stateHash(), replayed.stateHash());

            ClusterState restored;
            try (StateStore cp = StateStore.open(tmp.resolve("cp"))) {
                restored = cp.load();
            }
            assertEquals(committed.stateHash(), restored.stateHash());
            assertEquals(List.of(ab[1]), restored.inventory().lentJobs(), "snapshot restore");
            InvariantChecker.checkAtRest(restored);

            // A new leader on the restored state makes the same eviction the old one would.
            Controller next = new Controller(restored, new CardinalPolicy(), TERM + 1, true);
            CommandResult r = next.handle(cardFailed("n1", 0), now += 1000);
            assertTrue(r.reply().getOk(), r.reply().toString());
            assertEquals(ab[1], only(r.events(), Event.BodyCase.JOB_PREEMPTED).getJobPreempted().getJobId());
        }
    }

    @Test
    void withLendingOffTheJobWaitsAsBefore() {
        cluster(false);
        String[] ab = aThenLentB();
        String b = ab[1];
        JobRecord jb = job(b);
        assertEquals(JobState.PENDING, jb.getState(), "no lending: spares stay for restarts");
        assertFalse(jb.getLent());
        assertFalse(jb.getReason().isEmpty(), "it says why it waits");
        assertTrue(committed.inventory().lentJobs().isEmpty());
        for (EventBatch batch : log) {
            for (Event e : batch.getEventsList()) {
                assertFalse(e.hasJobPlaced() && e.getJobPlaced().getLent(), "no lent placement: " + e);
            }
        }
        // The failure takes the spares as a restart does, with nothing to evict.
        CommandResult r = ok(cardFailed("n1", 0));
        assertEquals(List.of(Event.BodyCase.CARD_HEALTH_CHANGED, Event.BodyCase.JOB_INTERRUPTED, Event.BodyCase.JOB_RESTARTING),
                kinds(r.events()).subList(0, 3));
        assertEquals(JobState.PENDING, job(b).getState());
    }

    @Test
    void withLendingOffDecisionsEqualTheDefaultController() {
        // The 3-argument constructor (every caller before lending existed) and lendSpares=false write the same log.
        List<List<Event>> runs = new ArrayList<>();
        for (int variant = 0; variant < 2; variant++) {
            committed = new ClusterState();
            ctl = variant == 0 ? new Controller(committed, new CardinalPolicy(), TERM) : new Controller(committed, new CardinalPolicy(), TERM, false);
            index = 0;
            now = 1_700_000_000_000L;
            log.clear();
            ok(Fixtures.register("n1", "sn-a", 8, "910b"));
            ok(Fixtures.register("n2", "sn-a", 8, "910b"));
            ok(Command.newBuilder().setActor("cli:test").setSetSpareRule(SetSpareRule.newBuilder().setSupernodeId("sn-a").setCards(4)).build());
            aThenLentB();
            ok(cardFailed("n1", 0));
            List<Event> all = new ArrayList<>();
            for (EventBatch batch : log) all.addAll(batch.getEventsList());
            runs.add(all);
        }
        assertEquals(runs.get(0), runs.get(1));
    }

    static Set<String> nodes(JobRecord j) {
        Set<String> out = new TreeSet<>();
        for (var t : j.getPlacement().getTasksList()) out.add(t.getNodeId());
        return out;
    }
}
