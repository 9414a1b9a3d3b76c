package io.cardinal.consensus;

import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * Confirms linearizable reads by committing an empty entry (a barrier) through the Raft log, many reads to one entry.
 *
 * <p>Why not Ratis' read index: in Ratis 3.3.0 the leader answers a read index at once, without a new heartbeat
 * round, when the index is at or below a commit index a majority acknowledged earlier. A leader that has been deposed
 * but does not know it yet (partitioned, or paused and resumed) has a frozen commit index, so it kept serving reads
 * from its old state for 1-3 s; a 1-hour chaos soak caught two such stale reads. A barrier cannot commit in the old
 * term once a majority has voted for a newer one, so a committed barrier appended after the read arrived proves the
 * read sees every write acknowledged before it started.
 *
 * <p>Batching: a read joins the barrier that is about to be sent, never one already in flight (that one may have been
 * appended before the read arrived). So at most one barrier is in flight and at most one more waits to be sent; a read
 * waits for at most two commits.
 */
final class ReadBarrier {
    /** Reads waiting on the two barrier rounds together; more are refused (the caller answers "unavailable"). */
    static final int MAX_WAITING_READS = 10_000;

    private final Supplier<CompletableFuture<Long>> appendBarrier;
    // guarded by this
    private CompletableFuture<Long> inFlight;
    private int inFlightReads;
    private CompletableFuture<Long> next;
    private int nextReads;
    private long barriersSent;

    /** {@code appendBarrier} appends one barrier entry and completes with its log index once committed. */
    ReadBarrier(Supplier<CompletableFuture<Long>> appendBarrier) {
        this.appendBarrier = appendBarrier;
    }

    /** Completes with the index of a barrier committed after this call began. */
    CompletableFuture<Long> confirm() {
        CompletableFuture<Long> round;
        boolean send = false;
        synchronized (this) {
            if (inFlightReads + nextReads >= MAX_WAITING_READS) {
                return CompletableFuture.failedFuture(new ReadUnavailableException(
                        MAX_WAITING_READS + " reads already wait for a read barrier", null));
            }
            if (inFlight == null) {
                inFlight = new CompletableFuture<>();
                inFlightReads = 1;
                round = inFlight;
                send = true;
            } else {
                if (next == null) next = new CompletableFuture<>();
                nextReads++;
                round = next;
            }
        }
        if (send) send(round);
        return round;
    }

    /** How many barrier entries this replica has sent (for metrics and tests). */
    synchronized long barriersSent() {
        return barriersSent;
    }

    private void send(CompletableFuture<Long> round) {
        synchronized (this) {
            barriersSent++;
        }
        CompletableFuture<Long> appended;
        try {
            appended = appendBarrier.get();
        } catch (RuntimeException e) {
            appended = CompletableFuture.failedFuture(e);
        }
        appended.whenComplete((index, ex) -> {
            CompletableFuture<Long> following;
            synchronized (this) {
                // The reads that joined while this barrier was out get the next one, sent now.
                following = next;
                inFlight = following;
                inFlightReads = nextReads;
                next = null;
                nextReads = 0;
            }
            if (following != null) send(following);
            if (ex != null) round.completeExceptionally(ex);
            else round.complete(index);
        });
    }
}
