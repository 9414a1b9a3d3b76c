package io.cardinal.server.it.agents;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real processes: 3 servers, 4 agents (4 cards each) in 2 supernodes with 2 spare cards each, and a 3-rank x 2-card
 * trainer job that must stay in one supernode: it fills the supernode's normal budget (8 cards - 2 spares). A card of
 * rank 0 fails (through the agent, as {@code cardinal debug fail-card} does it): normal placement has no 2 free cards
 * on one node left, so the job must restart on the supernode's spare cards, from the checkpoint committed before the
 * failure, and the incident must say where each rank's shard came from.
 */
class CardFailureSpareRestartTest {
    @Test
    void cardFailureRestartsOnSpareInSameSupernodeFromCommittedStep() throws Exception {
        try (AgentCluster c = AgentCluster.start("agents-card-failure", "", 4, "sn1-n1", "sn1-n2", "sn2-n1", "sn2-n2")) {
            c.post("/v1/spares", "{\"supernodeId\":\"sn1\",\"cards\":2}");
            c.post("/v1/spares", "{\"supernodeId\":\"sn2\",\"cards\":2}");
            String jobId = c.submit(AgentCluster.trainerJob("spare-restart", 3, 2, "required", Map.of(
                    "TRAINER_STEPS_PER_SEC", "20", "TRAINER_CHECKPOINT_EVERY", "10", "TRAINER_SHARD_BYTES", "65536")));
            JsonNode running = c.awaitJob(jobId, "running with a committed checkpoint >= 20", 90_000,
                    j -> AgentCluster.allRanksRunning(j) && j.path("checkpointStep").asLong() >= 20);
            assertEquals(1, running.path("attempt").asLong());
            List<String> before = AgentCluster.placementNodes(running);
            String supernode = before.get(0).substring(0, before.get(0).indexOf('-'));
            for (String n : before) assertTrue(n.startsWith(supernode + "-"), "placement spans supernodes: " + before);

            // The supernode's spare cards right before the failure (spares are not fixed cards, so read them now).
            Set<String> spares = new HashSet<>();
            for (String n : List.of(supernode + "-n1", supernode + "-n2")) {
                for (JsonNode card : c.get("/v1/nodes/" + n).path("cardList")) {
                    if (card.path("status").asText().equals("SPARE")) spares.add(n + "/" + card.path("index").asInt());
                }
            }
            assertFalse(spares.isEmpty(), "no spare cards in " + supernode);
            String failedNode = running.path("placement").get(0).path("nodeId").asText();
            int failedCard = running.path("placement").get(0).path("cards").get(0).asInt();
            long committedBefore = running.path("checkpointStep").asLong();
            // Every agent of the job pins the committed step so keep-last-K never deletes the restore point.
            for (String n : before) {
                c.await(n + " pins committed step >= " + committedBefore, 10_000,
                        () -> pinnedStep(c.agents.dataDir(n), jobId) >= committedBefore);
            }
            System.out.println("failing " + failedNode + "/" + failedCard + "; spares " + spares + "; committed step " + committedBefore);
            c.post("/v1/debug/fail-card", "{\"nodeId\":\"" + failedNode + "\",\"card\":" + failedCard + "}");

            JsonNode after = c.awaitJob(jobId, "attempt 2 with every rank running", 60_000,
                    j -> j.path("attempt").asLong() >= 2 && AgentCluster.allRanksRunning(j));
            assertEquals(2, after.path("attempt").asLong(), "one failure, one restart: " + after);
            for (String n : AgentCluster.placementNodes(after)) {
                assertTrue(n.startsWith(supernode + "-"), "the restart left supernode " + supernode + ": " + after.path("placement"));
            }
            // The rank that lost its card now runs on cards that were spares.
            JsonNode moved = after.path("placement").get(0);
            for (JsonNode card : moved.path("cards")) {
                String ref = moved.path("nodeId").asText() + "/" + card.asInt();
                assertTrue(spares.contains(ref), "rank 0 got " + ref + ", not a spare of " + spares);
            }

            // restoreStep is the last checkpoint committed before the restart decision.
            List<JsonNode> events = c.events(jobId);
            JsonNode restarting = AgentCluster.ofType(events, "JobRestarting").get(0);
            long lastCommitted = 0;
            for (JsonNode e : AgentCluster.ofType(events, "CheckpointCommitted")) {
                if (e.path("seq").asLong() < restarting.path("seq").asLong()) lastCommitted = Math.max(lastCommitted, e.path("step").asLong());
            }
            assertTrue(lastCommitted >= committedBefore, "committed " + lastCommitted + " < " + committedBefore);
            assertEquals(lastCommitted, after.path("restoreStep").asLong(), "restore step vs the committed checkpoint");
            assertEquals(lastCommitted, restarting.path("restoreStep").asLong());

            JsonNode incident = after.path("incidents").get(after.path("incidents").size() - 1);
            System.out.println("incident: " + incident);
            assertEquals(lastCommitted, incident.path("restoreStep").asLong());
            assertTrue(incident.path("lostCards").toString().contains(failedNode + "/" + failedCard), incident.toString());
            JsonNode sources = incident.path("shardSources");
            assertEquals(3, sources.size(), "a shard source per rank: " + incident);
            sources.fields().forEachRemaining(e -> assertTrue(Set.of("local", "buddy").contains(e.getValue().asText()), incident.toString()));
            assertTrue(incident.path("detectedToRunningMs").isNumber(), incident.toString());

            c.post("/v1/jobs/" + jobId + "/cancel", "{\"reason\":\"test done\"}");
        }
    }

    /** The committed step the agent pinned for the job (DATA/committed/JOB), 0 while there is none. */
    private static long pinnedStep(java.nio.file.Path agentData, String jobId) {
        try {
            return Long.parseLong(java.nio.file.Files.readString(agentData.resolve("committed").resolve(jobId)).trim());
        } catch (java.io.IOException | NumberFormatException e) {
            return 0;
        }
    }
}
