package io.cardinal.server.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.cardinal.chaos.harness.LocalCluster;
import io.cardinal.chaos.history.Http;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A write sent to a follower while the leader dies (real processes on loopback). Before {@code LeaderForwarder}
 * the follower forwarded once: to a killed leader that meant an immediate 503, and to a leader that stopped
 * answering (paused, or a dead host behind a pooled connection) a 503 only after the 15 s write timeout.
 */
class LeaderChangeForwardingTest {
    /** Generous, so that a slow election on a loaded machine cannot fail the test; the default is 3 s. */
    static final String CONFIG = "leaderWaitMillis: 30000\n";

    @Test
    void aWriteToAFollowerRidesThroughTheElectionAndAForwardToAReplacedLeaderIsGivenUp() throws Exception {
        Path dir = LocalCluster.freshDir("leader-change-forwarding");
        try (LocalCluster c = LocalCluster.start(dir, 3, CONFIG)) {
            String leader = c.awaitLeader(90_000);
            c.awaitConverged(c.ids(), 60_000);
            String follower = c.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();

            // A first forward warms the follower's HTTP client (its first connect takes a few hundred ms in a cold JVM).
            assertEquals(200, c.post(follower, "/v1/quotas", "{\"tenant\":\"fwd\",\"cards\":4}").status(), "a forward to a live leader");

            // 1. The leader is killed; one write to a follower, with no retry by the client, must be acknowledged:
            // the follower waits for the election and sends the write to the winner (or runs it, if it won).
            c.kill9(leader);
            LocalCluster.Reply r = c.post(follower, "/v1/quotas", "{\"tenant\":\"fwd\",\"cards\":5}");
            assertEquals(200, r.status(), "a write to follower " + follower + " during the election: " + r.body());
            String next = c.awaitLeader(60_000);
            assertNotEquals(leader, next);
            List<JsonNode> events = new Http(Duration.ofSeconds(10)).events(c.httpAddress(next), 1000);
            assertTrue(events.stream().anyMatch(e -> e.toString().contains("\"fwd\"")),
                    "the write is in the new leader's event log (" + events.size() + " events)");

            // 2. The new leader stops answering (SIGSTOP: its sockets stay open, as a dead host's do). A write
            // forwarded to it must come back as "outcome unknown" once the follower sees another leader, not after
            // the write timeout, and the same write must then succeed.
            c.start(leader);
            c.awaitConverged(c.ids(), 90_000);
            String paused = c.awaitLeader(60_000);
            String via = c.ids().stream().filter(id -> !id.equals(paused)).findFirst().orElseThrow();
            assertEquals(200, c.post(via, "/v1/quotas", "{\"tenant\":\"fwd\",\"cards\":6}").status(), "a forward to a live leader");
            signal("STOP", c.pid(paused));
            try {
                LocalCluster.Reply unknown = c.post(via, "/v1/quotas", "{\"tenant\":\"fwd\",\"cards\":7}");
                assertEquals(503, unknown.status(), "a write forwarded to paused leader " + paused + ": " + unknown.body());
                String message = unknown.body().path("error").path("message").asText();
                assertTrue(message.contains("lost the leadership") && message.contains("outcome is unknown"),
                        "given up because the leader changed, not timed out: " + message);
            } finally {
                signal("CONT", c.pid(paused));
            }
            LocalCluster.Reply retried = c.post(via, "/v1/quotas", "{\"tenant\":\"fwd\",\"cards\":7}");
            assertEquals(200, retried.status(), "the retry after the leader change: " + retried.body());
        }
    }

    private static void signal(String sig, long pid) throws Exception {
        assertTrue(pid > 0, "replica not running");
        Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).inheritIO().start();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0, "kill -" + sig + " " + pid);
    }
}
