package io.cardinal.server.it;

import io.cardinal.chaos.harness.LocalCluster;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Five replicas: with two down the cluster keeps serving writes; with three down it refuses them with a clear error. */
class QuorumLossTest {
    static final String SPEC = "{\"name\":\"q\",\"tenant\":\"t\",\"tasks\":1,\"cardsPerTask\":1,\"command\":[\"true\"]}";

    @Test
    void fiveReplicasSurviveTwoFailuresButNotThree() throws Exception {
        Path dir = LocalCluster.freshDir("quorum-loss");
        try (LocalCluster c = LocalCluster.start(dir, 5, "")) {
            String leader = c.awaitLeader(90_000);
            List<String> followers = c.ids().stream().filter(id -> !id.equals(leader)).toList();
            c.kill9(followers.get(0));
            c.kill9(followers.get(1));
            LocalCluster.Reply ok = c.post(leader, "/v1/jobs", SPEC, "Idempotency-Key", "two-down");
            assertEquals(201, ok.status(), ok.body().toString());
            LocalCluster.Reply viaFollower = c.post(followers.get(2), "/v1/jobs", SPEC, "Idempotency-Key", "two-down-2");
            assertEquals(201, viaFollower.status(), viaFollower.body().toString());

            c.kill9(followers.get(2));
            LocalCluster.Reply refused = c.post(leader, "/v1/jobs", SPEC, "Idempotency-Key", "three-down");
            assertEquals(503, refused.status(), refused.body().toString());
            String message = refused.body().path("error").path("message").asText();
            assertFalse(message.isEmpty());
            assertEquals("unavailable", refused.body().path("error").path("code").asText());
            // The leader cannot confirm a linearizable read either, but a stale read still answers.
            assertEquals(200, c.get(leader, "/v1/jobs?stale=true").status());
            assertTrue(c.get(leader, "/v1/jobs?stale=true").body().path("jobs").size() >= 2);
        }
    }
}
