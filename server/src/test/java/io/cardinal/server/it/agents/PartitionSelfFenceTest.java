package io.cardinal.server.it.agents;

import com.fasterxml.jackson.databind.JsonNode;
import io.cardinal.chaos.harness.LocalAgents;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real processes: 3 servers with the default config (heartbeat TTL 3 s, node lease 12 s), 4 agents, a 1-rank trainer
 * job. The job's agent is cut off from every server (a test hook in the agent drops all its server traffic: a
 * partition cannot be made on loopback) while its worker keeps running. The servers declare the node lost and restart
 * the job elsewhere; the cut-off agent must have killed its worker on its own before the new attempt starts. Without
 * the self-fence the old worker would run on until the partition heals, overlapping the new attempt (the check below,
 * from both agents' attempts.log, would then fail).
 */
class PartitionSelfFenceTest {
    @Test
    void cutOffAgentKillsItsWorkerBeforeTheJobRestartsElsewhere() throws Exception {
        try (AgentCluster c = AgentCluster.start("agents-self-fence", "", 4, "sn1-n1", "sn1-n2", "sn2-n1", "sn2-n2")) {
            String jobId = c.submit(AgentCluster.trainerJob("self-fence", 1, 4, "any", Map.of("TRAINER_STEPS_PER_SEC", "20")));
            JsonNode running = c.awaitJob(jobId, "running", 90_000, AgentCluster::allRanksRunning);
            String victim = AgentCluster.placementNodes(running).get(0);
            List<ProcessHandle> workers = c.agents.liveWorkers(victim);
            assertEquals(1, workers.size(), "workers of " + victim);
            long cutAt = System.currentTimeMillis();
            System.out.println("cutting " + victim + " off the servers (worker pid " + workers.get(0).pid() + ")");
            c.agents.dropServerTraffic(victim, true);

            JsonNode after = c.awaitJob(jobId, "attempt 2 running elsewhere", 90_000,
                    j -> j.path("attempt").asLong() >= 2 && AgentCluster.allRanksRunning(j));
            String replacement = AgentCluster.placementNodes(after).get(0);
            assertFalse(replacement.equals(victim), "restarted on the cut-off node " + victim);

            List<LocalAgents.AttemptLine> lines = c.agents.allAttempts();
            List<LocalAgents.Interval> lives = LocalAgents.intervals(lines, jobId);
            System.out.println("worker lives (ms after the cut):");
            for (LocalAgents.Interval i : lives) {
                System.out.println("  " + i.nodeId() + " attempt " + i.attempt() + ": " + (i.startMillis() - cutAt) + " .. "
                        + (i.stopMillis() == Long.MAX_VALUE ? "running" : String.valueOf(i.stopMillis() - cutAt)));
            }
            assertEquals(List.of(), LocalAgents.overlappingAttempts(lines, jobId), "two attempts ran at once");
            assertTrue(lives.stream().anyMatch(i -> i.nodeId().equals(victim) && i.attempt() == 1 && i.stopMillis() != Long.MAX_VALUE),
                    "attempt 1 on " + victim + " has no STOP line: " + lives);
            assertFalse(workers.get(0).isAlive(), "the cut-off worker " + workers.get(0).pid() + " still runs");
            String log = Files.readString(c.agents.log(victim));
            assertTrue(log.contains("SELF-FENCE"), "no SELF-FENCE line in " + c.agents.log(victim));

            // Heal: the agent comes back under a new epoch and nothing of the old attempt starts again.
            c.agents.dropServerTraffic(victim, false);
            c.await(victim + " online again", 60_000, () -> {
                JsonNode nodes = c.get("/v1/nodes?stale=true");
                if (nodes == null) return false;
                for (JsonNode n : nodes.path("nodes")) if (n.path("nodeId").asText().equals(victim)) return n.path("online").asBoolean();
                return false;
            });
            JsonNode settled = c.job(jobId);
            assertEquals(after.path("attempt").asLong(), settled.path("attempt").asLong(), "the job restarted again: " + settled);
            assertEquals(List.of(), LocalAgents.overlappingAttempts(c.agents.allAttempts(), jobId), "two attempts ran at once after the heal");
            c.post("/v1/jobs/" + jobId + "/cancel", "{\"reason\":\"test done\"}");
        }
    }
}
