package io.cardinal.server.it.agents;

import io.cardinal.chaos.harness.LocalAgents;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real processes: 3 servers, 4 agents in 2 supernodes, a 2-rank x 4-card trainer job (one rank per node) that runs
 * a fixed number of steps and exits 0. The agent of rank 0 is killed with SIGKILL the moment attempts.log shows its
 * worker's exit, i.e. while its TASK_EXITED report is between the outbox and the server's ack, then restarted on
 * the same data dir. The report must be applied exactly once: one RankExited per rank, one JobSucceeded.
 */
class AgentKillMidReportTest {
    @Test
    void reportOfAKilledAgentIsAppliedExactlyOnce() throws Exception {
        // A long TTL so the restarted agent is back before the node could be declared lost.
        try (AgentCluster c = AgentCluster.start("agents-kill-mid-report", "heartbeatTtlMillis: 8000\n", 4,
                "sn1-n1", "sn1-n2", "sn2-n1", "sn2-n2")) {
            String jobId = c.submit(AgentCluster.trainerJob("mid-report", 2, 4, "any", Map.of(
                    "TRAINER_STEPS_PER_SEC", "20", "TRAINER_CHECKPOINT_EVERY", "10", "TRAINER_SHARD_BYTES", "65536",
                    "TRAINER_TOTAL_STEPS", "60")));
            JsonNode running = c.awaitJob(jobId, "running", 90_000, AgentCluster::allRanksRunning);
            String target = AgentCluster.placementNodes(running).get(0);
            // Watch the target's attempts.log closely: kill its agent as soon as rank 0's STOP line appears.
            long deadline = System.currentTimeMillis() + 60_000;
            boolean stopped = false;
            while (!stopped && System.currentTimeMillis() < deadline) {
                if (Files.exists(c.agents.attemptsLog(target))) {
                    for (LocalAgents.AttemptLine l : LocalAgents.readAttempts(target, c.agents.attemptsLog(target))) {
                        if (!l.start() && l.jobId().equals(jobId) && l.rank() == 0) stopped = true;
                    }
                }
                if (!stopped) Thread.sleep(1);
            }
            assertTrue(stopped, "rank 0 never exited (data under " + c.dir + ")");
            c.agents.kill9(target);
            long killedAt = System.currentTimeMillis();
            List<JsonNode> atKill = c.events(jobId);
            long exitedBeforeRestart = atKill == null ? -1 : AgentCluster.ofType(atKill, "RankExited").stream()
                    .filter(e -> e.path("rank").asInt() == 0).count();
            System.out.println("killed agent " + target + " right after rank 0 exited; RankExited(rank 0) already applied: "
                    + exitedBeforeRestart);
            Thread.sleep(500);
            c.agents.start(target);

            JsonNode done = c.awaitJob(jobId, "SUCCEEDED", 90_000, j -> j.path("state").asText().equals("SUCCEEDED"));
            // Wait until the restarted agent has nothing unacked: any report pending at the kill was resent and acked.
            c.await("the restarted agent to have no unacked report", 60_000, () -> {
                JsonNode st = c.agents.admin(target, "/v1/status");
                return st != null && st.path("pendingReports").asInt(-1) == 0;
            });
            for (String line : Files.readAllLines(c.agents.log(target))) {
                if (line.contains("replayed")) System.out.println("restarted agent: " + line.substring(line.indexOf("outbox")));
            }
            List<JsonNode> events = c.events(jobId);
            for (int rank = 0; rank < 2; rank++) {
                int r = rank;
                long n = AgentCluster.ofType(events, "RankExited").stream().filter(e -> e.path("rank").asInt() == r).count();
                assertEquals(1, n, "RankExited events of rank " + rank + " (data under " + c.dir + "): " + events);
            }
            assertEquals(1, AgentCluster.ofType(events, "JobSucceeded").size());
            assertEquals(1, done.path("attempt").asLong(), "the job should not have restarted");
        }
    }
}
