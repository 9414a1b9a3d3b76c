package io.cardinal.server.it.agents;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real processes: 3 servers, 4 agents in 2 supernodes, a 2-rank x 4-card trainer job (one rank per node). The node
 * of rank 1 dies whole (SIGKILL of its agent and its workers). Its buddy (on the other supernode) is cordoned first,
 * so the replacement lands on a third node and must fetch rank 1's shard from the buddy over the peer port: the
 * failure detector declares the node lost, the job restarts from the committed step and the incident says
 * {@code shardSources[1] = buddy}.
 */
class NodeKillBuddyRestoreTest {
    @Test
    void killedNodeRestartsWithShardFromBuddy() throws Exception {
        try (AgentCluster c = AgentCluster.start("agents-node-kill", "heartbeatTtlMillis: 2000\n", 4,
                "sn1-n1", "sn1-n2", "sn2-n1", "sn2-n2")) {
            String jobId = c.submit(AgentCluster.trainerJob("node-kill", 2, 4, "any", Map.of(
                    "TRAINER_STEPS_PER_SEC", "20", "TRAINER_CHECKPOINT_EVERY", "10", "TRAINER_SHARD_BYTES", "65536")));
            JsonNode running = c.awaitJob(jobId, "running with a committed checkpoint >= 20", 90_000,
                    j -> AgentCluster.allRanksRunning(j) && j.path("checkpointStep").asLong() >= 20);
            List<String> before = AgentCluster.placementNodes(running);
            String victim = before.get(1);
            String buddy = null;
            for (JsonNode e : AgentCluster.ofType(c.events(jobId), "ShardDurable")) {
                if (e.path("rank").asInt() == 1) buddy = e.path("buddyNodeId").asText();
            }
            assertTrue(buddy != null && !buddy.isEmpty(), "no buddy recorded for rank 1");
            assertFalse(buddy.substring(0, 3).equals(victim.substring(0, 3)), "buddy " + buddy + " shares a supernode with " + victim);
            // Keep the replacement off the buddy itself, so the shard has to travel over the peer port.
            c.post("/v1/nodes/" + buddy + "/cordon", "{\"reason\":\"test: force a remote restore\"}");
            System.out.println("placement " + before + "; killing " + victim + " (buddy " + buddy + ", cordoned)");
            long killedAt = System.currentTimeMillis();
            c.agents.kill9WithWorkers(victim);

            JsonNode after = c.awaitJob(jobId, "attempt 2 with every rank running", 60_000,
                    j -> j.path("attempt").asLong() >= 2 && AgentCluster.allRanksRunning(j));
            List<String> now = AgentCluster.placementNodes(after);
            assertFalse(now.contains(victim), "still placed on the dead node: " + now);
            assertFalse(now.get(1).equals(buddy), "placed on the cordoned buddy: " + now);

            List<JsonNode> events = c.events(jobId);
            List<JsonNode> lost = AgentCluster.ofType(c.eventsOfNode(victim), "NodeLost");
            assertEquals(1, lost.size(), "NodeLost events of " + victim);
            System.out.println("NodeLost " + (lost.get(0).path("timeMs").asLong() - killedAt) + " ms after the kill");
            JsonNode restarting = AgentCluster.ofType(events, "JobRestarting").get(0);
            long lastCommitted = 0;
            for (JsonNode e : AgentCluster.ofType(events, "CheckpointCommitted")) {
                if (e.path("seq").asLong() < restarting.path("seq").asLong()) lastCommitted = Math.max(lastCommitted, e.path("step").asLong());
            }
            assertTrue(lastCommitted >= 20);
            assertEquals(lastCommitted, after.path("restoreStep").asLong());

            JsonNode incident = after.path("incidents").get(after.path("incidents").size() - 1);
            System.out.println("incident: " + incident);
            assertEquals("buddy", incident.path("shardSources").path("1").asText(), incident.toString());
            assertEquals(lastCommitted, incident.path("restoreStep").asLong());

            // The new rank 1 really restored that step from the fetched shard.
            Path rankLog = c.agents.dataDir(now.get(1)).resolve("logs").resolve(jobId).resolve(after.path("attempt").asText()).resolve("rank-1.log");
            String expect = "restored step " + lastCommitted;
            c.await(rankLog + " to say '" + expect + "'", 30_000, () -> {
                try {
                    return Files.exists(rankLog) && Files.readString(rankLog).contains(expect);
                } catch (java.io.IOException e) {
                    return false;
                }
            });
            c.post("/v1/jobs/" + jobId + "/cancel", "{\"reason\":\"test done\"}");
        }
    }
}
