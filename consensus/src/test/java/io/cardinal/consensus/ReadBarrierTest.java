package io.cardinal.consensus;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The batching rule of {@link ReadBarrier}: a read never rides on a barrier that was already in flight when it came. */
class ReadBarrierTest {
    /** Barrier appends the test completes by hand, in order. */
    private final List<CompletableFuture<Long>> appends = new ArrayList<>();
    private final ReadBarrier barrier = new ReadBarrier(() -> {
        CompletableFuture<Long> f = new CompletableFuture<>();
        appends.add(f);
        return f;
    });

    @Test
    void readsArrivingDuringAnInFlightBarrierWaitForTheNextOne() throws Exception {
        CompletableFuture<Long> first = barrier.confirm();
        assertEquals(1, appends.size(), "the first read sends a barrier at once");
        CompletableFuture<Long> second = barrier.confirm();
        CompletableFuture<Long> third = barrier.confirm();
        assertEquals(1, appends.size(), "reads during an in-flight barrier do not send their own");

        appends.get(0).complete(10L);
        assertEquals(10L, first.get());
        assertFalse(second.isDone(), "barrier 10 may have been appended before the second read arrived");
        assertFalse(third.isDone());
        assertEquals(2, appends.size(), "the waiting reads' barrier goes out when the previous one completes");

        appends.get(1).complete(12L);
        assertEquals(12L, second.get());
        assertEquals(12L, third.get());
        assertEquals(2, barrier.barriersSent(), "three reads, two barriers");

        // Idle again: the next read sends a fresh barrier.
        CompletableFuture<Long> fourth = barrier.confirm();
        assertEquals(3, appends.size());
        appends.get(2).complete(13L);
        assertEquals(13L, fourth.get());
    }

    @Test
    void aFailedBarrierFailsOnlyItsOwnReadsAndTheNextRoundStillGoesOut() throws Exception {
        CompletableFuture<Long> first = barrier.confirm();
        CompletableFuture<Long> second = barrier.confirm();
        appends.get(0).completeExceptionally(new IllegalStateException("no leader"));
        ExecutionException e = assertThrows(ExecutionException.class, first::get);
        assertTrue(e.getCause().getMessage().contains("no leader"), e.toString());
        assertFalse(second.isDone());
        appends.get(1).complete(7L);
        assertEquals(7L, second.get());
    }

    @Test
    void aSupplierThatThrowsFailsTheRoundInsteadOfLosingIt() {
        ReadBarrier throwing = new ReadBarrier(() -> {
            throw new IllegalStateException("client closed");
        });
        ExecutionException e = assertThrows(ExecutionException.class, () -> throwing.confirm().get());
        assertTrue(e.getCause().getMessage().contains("client closed"), e.toString());
        // Not stuck: the next read tries again.
        assertThrows(ExecutionException.class, () -> throwing.confirm().get());
        assertEquals(2, throwing.barriersSent());
    }

    @Test
    void waitingReadsAreBounded() {
        barrier.confirm();
        for (int i = 1; i < ReadBarrier.MAX_WAITING_READS; i++) barrier.confirm();
        CompletableFuture<Long> refused = barrier.confirm();
        assertTrue(refused.isCompletedExceptionally(), "read number " + (ReadBarrier.MAX_WAITING_READS + 1) + " is refused");
        appends.get(0).complete(1L);
        appends.get(1).complete(2L);
        assertFalse(barrier.confirm().isCompletedExceptionally(), "room again once the rounds completed");
    }
}
