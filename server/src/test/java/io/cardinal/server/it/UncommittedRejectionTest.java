package io.cardinal.server.it;

import io.cardinal.chaos.harness.LocalCluster;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * A rejection must not reveal a write that is not committed. Found by chaos schedule 2026: a cancel answered
 * 409 "already CANCELLED" because the leader's controller had decided an earlier cancel whose entry a leader change
 * then discarded; the job went on running. Here the leader is cut off from its followers (killed) so the first
 * cancel can never commit, and a second cancel of the same job must not be refused with 409.
 */
class UncommittedRejectionTest {
    static final String SPEC = "{\"name\":\"r\",\"tenant\":\"t\",\"tasks\":1,\"cardsPerTask\":1,\"command\":[\"true\"]}";

    @Test
    void aRejectionWaitsForTheWritesItWasDecidedOn() throws Exception {
        Path dir = LocalCluster.freshDir("uncommitted-rejection");
        try (LocalCluster c = LocalCluster.start(dir, 3, "")) {
            String leader = c.awaitLeader(90_000);
            LocalCluster.Reply submitted = c.post(leader, "/v1/jobs", SPEC, "Idempotency-Key", "job-1");
            assertEquals(201, submitted.status(), submitted.body().toString());
            String jobId = submitted.body().path("jobId").asText();
            for (String id : c.ids()) if (!id.equals(leader)) c.kill9(id);

            // The first cancel is decided and appended but cannot commit without a majority.
            CompletableFuture<LocalCluster.Reply> first = CompletableFuture.supplyAsync(
                    () -> c.post(leader, "/v1/jobs/" + jobId + "/cancel", "{\"reason\":\"first\"}", "Idempotency-Key", "cancel-1"));
            Thread.sleep(1_000);
            LocalCluster.Reply second = c.post(leader, "/v1/jobs/" + jobId + "/cancel", "{\"reason\":\"second\"}",
                    "Idempotency-Key", "cancel-2");
            System.out.println("second cancel while the first is uncommitted: " + second.status() + " " + second.body());
            assertNotEquals(409, second.status(), "refused on the strength of an uncommitted cancel: " + second.body());
            System.out.println("first cancel: " + first.get().status() + " " + first.get().body());
            assertNotEquals(200, first.get().status(), "a cancel without a majority was acknowledged: " + first.get().body());

            // The old leader dies with its uncommitted entry; the followers elect a leader that never saw the cancel.
            c.kill9(leader);
            for (String id : c.ids()) if (!id.equals(leader)) c.start(id);
            String next = c.awaitLeader(90_000);
            LocalCluster.Reply job = c.get(next, "/v1/jobs/" + jobId);
            assertEquals(200, job.status(), job.body().toString());
            assertEquals("PENDING", job.body().path("state").asText(), "the discarded cancel took effect: " + job.body());
        }
    }
}
