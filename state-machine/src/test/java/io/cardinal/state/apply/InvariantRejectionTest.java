package io.cardinal.state.apply;

import io.cardinal.protocol.v1.CardHealthChanged;
import io.cardinal.protocol.v1.CheckpointCommitted;
import io.cardinal.protocol.v1.Event;
import io.cardinal.protocol.v1.EventBatch;
import io.cardinal.protocol.v1.JobCancelled;
import io.cardinal.protocol.v1.JobInterrupted;
import io.cardinal.protocol.v1.JobPlaced;
import io.cardinal.protocol.v1.JobRestarting;
import io.cardinal.protocol.v1.JobSpec;
import io.cardinal.protocol.v1.JobStarted;
import io.cardinal.protocol.v1.JobState;
import io.cardinal.protocol.v1.JobSubmitted;
import io.cardinal.protocol.v1.JobSucceeded;
import io.cardinal.protocol.v1.JobWaiting;
import io.cardinal.protocol.v1.NodeCordoned;
import io.cardinal.protocol.v1.NodeLost;
import io.cardinal.protocol.v1.Placement;
import io.cardinal.protocol.v1.QuotaSet;
import io.cardinal.protocol.v1.SupernodeRule;
import io.cardinal.state.ClusterState;
import io.cardinal.state.Fixtures;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import static io.cardinal.state.Fixtures.card;
import static io.cardinal.state.Fixtures.placement;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every invariant of DESIGN.md has hand-built batches that apply must refuse, with the invariant's number and a
 * message naming the job or card. Each group also applies a near-identical valid batch, so a refusal is shown to
 * come from the violation and not from some other defect of the batch.
 *
 * <p>Base state: sn-a = n1, n2 (4 x 910b each), sn-b = n3 (4 x 910b), sn-c = n4 (4 x h100); job j-a (tenant t,
 * 1 x 2) placed at attempt 1 on n1/0,1.
 */
class InvariantRejectionTest {
    ClusterState s;

    @BeforeEach
    void base() {
        s = new ClusterState();
        Fixtures.applyAll(s, Fixtures.nodeRegistered("n1", "sn-a", 1, 4, "910b"), Fixtures.nodeRegistered("n2", "sn-a", 1, 4, "910b"),
                Fixtures.nodeRegistered("n3", "sn-b", 1, 4, "910b"), Fixtures.nodeRegistered("n4", "sn-c", 1, 4, "h100"));
        Fixtures.applyAll(s, submitted("j-a", spec(1, 2)), placed("j-a", 1, placement("n1", 0, 1)));
        assertEquals(JobState.PLACED, s.jobs().get("j-a").getState());
    }

    static JobSpec spec(int tasks, int cardsPerTask) {
        return Fixtures.spec("x", "t", tasks, cardsPerTask).build();
    }

    static Event submitted(String job, JobSpec spec) {
        return Event.newBuilder().setJobSubmitted(JobSubmitted.newBuilder().setJobId(job).setSpec(spec)).build();
    }

    static Event placed(String job, long attempt, Placement p) {
        return Event.newBuilder().setJobPlaced(JobPlaced.newBuilder().setJobId(job).setAttempt(attempt).setPlacement(p)).build();
    }

    static Event health(String node, int idx, boolean healthy) {
        return Event.newBuilder().setCardHealthChanged(CardHealthChanged.newBuilder().setCard(card(node, idx)).setHealthy(healthy)).build();
    }

    static Event interrupted(String job, long attempt) {
        return Event.newBuilder().setJobInterrupted(JobInterrupted.newBuilder().setJobId(job).setAttempt(attempt).setReason("test")).build();
    }

    static Event restarting(String job, long attempt, long restoreStep, Placement p) {
        return Event.newBuilder().setJobRestarting(JobRestarting.newBuilder().setJobId(job).setAttempt(attempt)
                .setRestoreStep(restoreStep).setPlacement(p)).build();
    }

    static Event checkpoint(String job, long attempt, long step) {
        return Event.newBuilder().setCheckpointCommitted(CheckpointCommitted.newBuilder().setJobId(job).setAttempt(attempt).setStep(step)).build();
    }

    static Event nodeLost(String node, long epoch) {
        return Event.newBuilder().setNodeLost(NodeLost.newBuilder().setNodeId(node).setEpoch(epoch)).build();
    }

    /**
     * Applies the events as one batch on a copy of the state (a refused batch leaves its state unusable) and expects
     * invariant {@code n}, the message naming each of {@code names}.
     */
    void rejects(int n, String[] names, Event... events) {
        ClusterState target = s.copy();
        InvariantViolation v = assertThrows(InvariantViolation.class, () -> Fixtures.applyAll(target, events));
        assertEquals(n, v.invariant(), v.getMessage());
        for (String name : names) assertTrue(v.getMessage().contains(name), "message should name " + name + ": " + v.getMessage());
    }

    static String[] names(String... n) {
        return n;
    }

    @Nested
    class Invariant1OneHolderPerCard {
        @Test
        void placingOnACardAnotherJobHolds() {
            rejects(1, names("j-b", "n1/1", "j-a"), submitted("j-b", spec(1, 2)), placed("j-b", 1, placement("n1", 1, 2)));
        }

        @Test
        void placementNamingTheSameCardTwice() {
            rejects(1, names("j-b", "n2/3"), submitted("j-b", spec(1, 2)), placed("j-b", 1, placement("n2", 3, 3)));
        }

        @Test
        void twoTasksNamingTheSameCard() {
            rejects(1, names("j-b", "n2/0"), submitted("j-b", spec(2, 1)), placed("j-b", 1, placement("n2", 0, "n2", 0)));
        }

        @Test
        void theSameJobOnFreeCardsIsAccepted() {
            Fixtures.applyAll(s, submitted("j-b", spec(1, 2)), placed("j-b", 1, placement("n1", 2, 3)));
            assertEquals(JobState.PLACED, s.jobs().get("j-b").getState());
        }
    }

    @Nested
    class Invariant2OnlyUsableCards {
        @Test
        void placingOnAnUnhealthyCard() {
            Fixtures.applyAll(s, health("n2", 0, false));
            rejects(2, names("j-b", "n2/0", "unhealthy"), submitted("j-b", spec(1, 2)), placed("j-b", 1, placement("n2", 0, 1)));
        }

        @Test
        void placingOnAnOfflineNodesCard() {
            Fixtures.applyAll(s, nodeLost("n2", 1));
            rejects(2, names("j-b", "n2/0", "offline"), submitted("j-b", spec(1, 2)), placed("j-b", 1, placement("n2", 0, 1)));
        }

        @Test
        void placingOnACordonedNodesCard() {
            Fixtures.applyAll(s, Event.newBuilder().setNodeCordoned(NodeCordoned.newBuilder().setNodeId("n2")).build());
            rejects(2, names("j-b", "n2/0", "cordoned"), submitted("j-b", spec(1, 2)), placed("j-b", 1, placement("n2", 0, 1)));
        }

        @Test
        void markingAHeldCardUnhealthyWithoutInterruptingTheJob() {
            rejects(2, names("n1/0", "j-a"), health("n1", 0, false));
        }

        @Test
        void losingANodeWhileAJobHoldsItsCards() {
            rejects(2, names("n1/0", "j-a"), nodeLost("n1", 1));
        }

        @Test
        void failuresWithTheJobInterruptedInTheSameBatchAreAccepted() {
            Fixtures.applyAll(s, health("n1", 0, false), interrupted("j-a", 1));
            assertEquals(JobState.INTERRUPTED, s.jobs().get("j-a").getState());
            Fixtures.applyAll(s, restarting("j-a", 2, 0, placement("n1", 1, 2)), nodeLost("n1", 1), interrupted("j-a", 2));
            assertFalse(s.nodes().get("n1").getOnline());
            assertTrue(s.inventory().holdingJobs().isEmpty());
        }

        @Test
        void healthyOnlineUncordonedCardsAreAccepted() {
            Fixtures.applyAll(s, health("n2", 0, false));
            Fixtures.applyAll(s, submitted("j-b", spec(1, 2)), placed("j-b", 1, placement("n2", 1, 2)));
            assertEquals(2, s.inventory().cardsOf("j-b").size());
        }
    }

    @Nested
    class Invariant3ShapeAndTopology {
        @Test
        void wrongNumberOfTasks() {
            rejects(3, names("j-b", "2 tasks"), submitted("j-b", spec(2, 2)), placed("j-b", 1, placement("n2", 0, 1)));
        }

        @Test
        void wrongNumberOfCardsInATask() {
            rejects(3, names("j-b", "task 0", "3 cards"), submitted("j-b", spec(1, 2)), placed("j-b", 1, placement("n2", 0, 1, 2)));
        }

        @Test
        void requiredJobAcrossTwoSupernodes() {
            JobSpec spec = spec(2, 2).toBuilder().setSupernode(SupernodeRule.SUPERNODE_REQUIRED).build();
            rejects(3, names("j-b", "sn-a", "sn-b"), submitted("j-b", spec), placed("j-b", 1, placement("n2", 0, 1, "n3", 0, 1)));
        }

        @Test
        void requiredJobInsideOneSupernodeAcrossNodesIsAccepted() {
            JobSpec spec = spec(2, 2).toBuilder().setSupernode(SupernodeRule.SUPERNODE_REQUIRED).build();
            Fixtures.applyAll(s, submitted("j-b", spec), placed("j-b", 1, placement("n1", 2, 3, "n2", 0, 1)));
            assertEquals(JobState.PLACED, s.jobs().get("j-b").getState());
        }

        @Test
        void maxSupernodesExceeded() {
            JobSpec spec = spec(3, 1).toBuilder().setSupernode(SupernodeRule.SUPERNODE_ANY).setMaxSupernodes(2).build();
            rejects(3, names("j-b", "allows 2", "spans 3"), submitted("j-b", spec),
                    placed("j-b", 1, placement("n2", 0, "n3", 0, "n4", 0)));
        }

        @Test
        void wrongCardModel() {
            JobSpec spec = spec(1, 2).toBuilder().addCardModels("h100").build();
            rejects(3, names("j-b", "n2/0", "910b"), submitted("j-b", spec), placed("j-b", 1, placement("n2", 0, 1)));
        }

        @Test
        void submittedWithoutCards() {
            rejects(3, names("j-b"), submitted("j-b", spec(0, 2)));
        }

        @Test
        void restartPlacementIsCheckedToo() {
            Fixtures.applyAll(s, interrupted("j-a", 1));
            rejects(3, names("j-a", "1 cards"), restarting("j-a", 2, 0, placement("n2", 0)));
        }
    }

    @Nested
    class Invariant4LifeCycleAndAttempts {
        @Test
        void pendingToRunning() {
            Fixtures.applyAll(s, submitted("j-b", spec(1, 2)));
            rejects(4, names("j-b", "PENDING", "RUNNING"), Event.newBuilder().setJobStarted(JobStarted.newBuilder().setJobId("j-b")).build());
        }

        @Test
        void succeededIsFinal() {
            Fixtures.applyAll(s, Event.newBuilder().setJobSucceeded(JobSucceeded.newBuilder().setJobId("j-a").setAttempt(1)).build());
            assertTrue(s.inventory().cardsOf("j-a").isEmpty(), "a finished job frees its cards");
            rejects(4, names("j-a", "SUCCEEDED", "CANCELLED"), Event.newBuilder().setJobCancelled(JobCancelled.newBuilder().setJobId("j-a")).build());
            rejects(4, names("j-a", "SUCCEEDED", "PLACED"), placed("j-a", 2, placement("n2", 0, 1)));
            rejects(4, names("j-a", "SUCCEEDED"), interrupted("j-a", 1));
        }

        @Test
        void restartWithoutANewAttempt() {
            Fixtures.applyAll(s, interrupted("j-a", 1));
            rejects(4, names("j-a", "attempt 1", "expected 2"), restarting("j-a", 1, 0, placement("n2", 0, 1)));
        }

        @Test
        void reportForAnOldAttempt() {
            Fixtures.applyAll(s, interrupted("j-a", 1), restarting("j-a", 2, 0, placement("n2", 0, 1)));
            rejects(4, names("j-a", "attempt 1"), Event.newBuilder().setJobStarted(JobStarted.newBuilder().setJobId("j-a").setAttempt(1)).build());
        }

        @Test
        void checkpointStepGoingBack() {
            Fixtures.applyAll(s, checkpoint("j-a", 1, 10));
            rejects(4, names("j-a", "10 -> 5"), checkpoint("j-a", 1, 5));
            rejects(4, names("j-a", "10 -> 10"), checkpoint("j-a", 1, 10));
        }

        @Test
        void duplicateJobId() {
            rejects(4, names("j-a", "twice"), submitted("j-a", spec(1, 1)));
        }

        @Test
        void duplicateIdempotencyKey() {
            Fixtures.applyAll(s, Event.newBuilder().setJobSubmitted(JobSubmitted.newBuilder().setJobId("j-b").setSpec(spec(1, 1)).setIdempotencyKey("k1")).build());
            rejects(4, names("k1", "j-b"), Event.newBuilder().setJobSubmitted(JobSubmitted.newBuilder().setJobId("j-c").setSpec(spec(1, 1)).setIdempotencyKey("k1")).build());
        }

        @Test
        void restoreStepBeyondTheCommittedCheckpoint() {
            Fixtures.applyAll(s, checkpoint("j-a", 1, 10), interrupted("j-a", 1));
            rejects(4, names("j-a", "step 20", "step 10"), restarting("j-a", 2, 20, placement("n2", 0, 1)));
        }

        @Test
        void restartFromTheCommittedCheckpointIsAccepted() {
            Fixtures.applyAll(s, checkpoint("j-a", 1, 10), interrupted("j-a", 1));
            Fixtures.applyAll(s, restarting("j-a", 2, 10, placement("n2", 0, 1)));
            assertEquals(2, s.jobs().get("j-a").getAttempt());
            assertEquals(10, s.jobs().get("j-a").getRestoreStep());
            assertEquals(1, s.jobs().get("j-a").getRestarts());
        }

        @Test
        void waitingWhileHoldingCards() {
            rejects(4, names("j-a", "PLACED"), Event.newBuilder().setJobWaiting(JobWaiting.newBuilder().setJobId("j-a").setReason("x")).build());
        }
    }

    @Nested
    class Invariant5Quota {
        static Event quota(String tenant, long cards, long borrow) {
            return Event.newBuilder().setQuotaSet(QuotaSet.newBuilder().setTenant(tenant).setCards(cards).setBorrowLimitCards(borrow)).build();
        }

        @Test
        void placementPastQuotaPlusBorrowLimit() {
            Fixtures.applyAll(s, quota("t", 2, 1));
            rejects(5, names("tenant t", "4 cards"), submitted("j-b", spec(1, 2)), placed("j-b", 1, placement("n2", 0, 1)));
        }

        @Test
        void placementWithinBorrowLimitIsAccepted() {
            Fixtures.applyAll(s, quota("t", 2, 2));
            Fixtures.applyAll(s, submitted("j-b", spec(1, 2)), placed("j-b", 1, placement("n2", 0, 1)));
            Fixtures.applyAll(s, quota("t", 0, -1), submitted("j-c", spec(1, 4)), placed("j-c", 1, placement("n3", 0, 1, 2, 3)));
            assertEquals(8, s.inventory().allocatedCards());
        }

        @Test
        void otherTenantsDoNotCount() {
            Fixtures.applyAll(s, quota("u", 2, 0));
            JobSpec spec = spec(1, 2).toBuilder().setTenant("u").build();
            Fixtures.applyAll(s, submitted("j-b", spec), placed("j-b", 1, placement("n2", 0, 1)));
            rejects(5, names("tenant u"), submitted("j-c", spec), placed("j-c", 1, placement("n2", 2, 3)));
        }

        @Test
        void negativeQuota() {
            rejects(5, names("t"), quota("t", -1, 0));
        }
    }

    @Nested
    class MalformedEvents {
        @Test
        void unknownJobOrNode() {
            rejects(0, names("j-zz"), Event.newBuilder().setJobStarted(JobStarted.newBuilder().setJobId("j-zz").setAttempt(1)).build());
            rejects(0, names("n9"), health("n9", 0, false));
        }

        @Test
        void nodeLostForAnotherEpoch() {
            rejects(0, names("n2", "epoch 7"), nodeLost("n2", 7));
        }

        @Test
        void eventWithoutBody() {
            rejects(0, names("no body"), Event.newBuilder().setTimeMs(1).build());
        }

        @Test
        void batchFromANewerSchema() {
            EventBatch b = Fixtures.batch(1, health("n2", 0, false)).toBuilder().setSchemaVersion(Applier.SCHEMA_VERSION + 1).build();
            InvariantViolation v = assertThrows(InvariantViolation.class, () -> Applier.apply(s, b, 1, 99));
            assertEquals(0, v.invariant());
            assertTrue(s.nodes().get("n2").getCards(0).getHealthy(), "nothing of the batch was applied");
        }
    }
}
