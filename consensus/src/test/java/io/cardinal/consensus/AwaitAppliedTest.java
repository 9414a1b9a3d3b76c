package io.cardinal.consensus;

import io.cardinal.state.ClusterState;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reads wait for the applied index through {@link CardinalStateMachine#awaitApplied}; no store or server needed. */
class AwaitAppliedTest {
    private final CardinalStateMachine sm = new CardinalStateMachine((message, cause) -> {
        throw new AssertionError(message, cause);
    }, new CardinalStateMachine.LeaderHooks() {
        @Override
        public void leaderReady(ClusterState committed, long term) {
        }

        @Override
        public void notLeader() {
        }
    });

    @Test
    void aWaiterCompletesWhenTheAppliedIndexReachesItsIndexAndNotBefore() {
        CompletableFuture<Void> at5 = sm.awaitApplied(5);
        CompletableFuture<Void> at7 = sm.awaitApplied(7);
        assertFalse(at5.isDone());
        sm.notifyTermIndexUpdated(1, 4);
        assertFalse(at5.isDone(), "applied 4 < 5");
        sm.notifyTermIndexUpdated(1, 6);
        assertTrue(at5.isDone(), "applied 6 >= 5");
        assertFalse(at7.isDone());
        assertTrue(sm.awaitApplied(6).isDone(), "already applied: completes at once");
        sm.notifyTermIndexUpdated(2, 9);
        assertTrue(at7.isDone());
    }

    @Test
    void aWaiterThatGaveUpIsForgottenSoTheLimitCountsOnlyLiveOnes() {
        for (int i = 0; i < CardinalStateMachine.MAX_APPLIED_WAITERS; i++) sm.awaitApplied(100).cancel(false);
        CompletableFuture<Void> live = sm.awaitApplied(100);
        assertFalse(live.isCompletedExceptionally(), "cancelled waiters do not use up the limit");
        for (int i = 1; i < CardinalStateMachine.MAX_APPLIED_WAITERS; i++) sm.awaitApplied(100);
        assertTrue(sm.awaitApplied(100).isCompletedExceptionally(), "the limit refuses one more live waiter");
        sm.notifyTermIndexUpdated(1, 100);
        assertTrue(live.isDone() && !live.isCompletedExceptionally());
        assertFalse(sm.awaitApplied(101).isCompletedExceptionally(), "room again once the waiters completed");
    }
}
