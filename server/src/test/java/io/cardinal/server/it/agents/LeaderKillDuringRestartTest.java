package io.cardinal.server.it.agents;

import io.cardinal.chaos.harness.LocalAgents;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real processes: 3 servers, 4 agents in 2 supernodes, a 2-rank x 2-card trainer job. A card of rank 0 fails and the
 * leader is killed with SIGKILL as soon as the restart is decided (JobInterrupted/JobRestarting committed), while
 * assignments are on their way. The new leader must finish the restart, and no two attempts of the job may ever
 * run at once: the [START, STOP] intervals of different attempts in every agent's attempts.log never overlap.
 */
class LeaderKillDuringRestartTest {
    @Test
    void restartCompletesAcrossLeaderKillWithoutOverlappingAttempts() throws Exception {
        try (AgentCluster c = AgentCluster.start("agents-leader-kill", "", 4, "sn1-n1", "sn1-n2", "sn2-n1", "sn2-n2")) {
            String jobId = c.submit(AgentCluster.trainerJob("leader-kill", 2, 2, "required", Map.of(
                    "TRAINER_STEPS_PER_SEC", "20", "TRAINER_CHECKPOINT_EVERY", "10", "TRAINER_SHARD_BYTES", "65536")));
            JsonNode running = c.awaitJob(jobId, "running with a committed checkpoint >= 10", 90_000,
                    j -> AgentCluster.allRanksRunning(j) && j.path("checkpointStep").asLong() >= 10);
            String leader = c.leader();
            String node = running.path("placement").get(0).path("nodeId").asText();
            int card = running.path("placement").get(0).path("cards").get(0).asInt();
            c.post("/v1/debug/fail-card", "{\"nodeId\":\"" + node + "\",\"card\":" + card + "}");
            c.await("the restart to be decided", 30_000, () -> {
                JsonNode j = c.get("/v1/jobs/" + jobId + "?stale=true");
                return j != null && j.path("attempt").asLong() >= 2;
            });
            c.servers.kill9(leader);
            System.out.println("failed " + node + "/" + card + ", killed leader " + leader + " right after the restart decision");

            JsonNode after = c.awaitJob(jobId, "attempt >= 2 with every rank running under a new leader", 90_000,
                    AgentCluster::allRanksRunning);
            assertTrue(after.path("attempt").asLong() >= 2, after.toString());
            String newLeader = c.leader();
            assertTrue(newLeader != null && !newLeader.equals(leader), "leader " + newLeader);
            long runningAttempt = after.path("attempt").asLong();
            // Let it train a little under the new leader, then stop it everywhere.
            c.awaitJob(jobId, "a checkpoint committed by attempt " + runningAttempt, 60_000,
                    j -> j.path("checkpointStep").asLong() > after.path("restoreStep").asLong());
            c.post("/v1/jobs/" + jobId + "/cancel", "{\"reason\":\"test done\"}");
            c.await("every worker of " + jobId + " to have a STOP line", 30_000, () ->
                    LocalAgents.intervals(c.agents.allAttempts(), jobId).stream().allMatch(i -> i.stopMillis() != Long.MAX_VALUE));

            List<LocalAgents.AttemptLine> lines = c.agents.allAttempts();
            List<LocalAgents.Interval> lives = LocalAgents.intervals(lines, jobId);
            lives.forEach(i -> System.out.println("  " + i));
            assertTrue(lives.stream().anyMatch(i -> i.attempt() == 1) && lives.stream().anyMatch(i -> i.attempt() == runningAttempt),
                    "attempts.log should show attempts 1 and " + runningAttempt + ": " + lives);
            List<String> overlaps = LocalAgents.overlappingAttempts(lines, jobId);
            assertEquals(List.of(), overlaps, "two attempts ran at once (data under " + c.dir + ")");
        }
    }
}
