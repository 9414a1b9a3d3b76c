package io.cardinal.server.it.agents;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real processes with {@code lendSpares: true} in the servers' config: 2 agents (4 cards each) in one supernode that
 * keeps 2 spare cards. Job A (3 x 2 cards) fills the normal budget; job B (1 x 2) fits only on the spare cards, so it
 * runs on them, lent. A card of A fails: A's replacement needs the spares, so B is evicted (JobPreempted) and A
 * runs again in the supernode while B waits. Proves the config reaches the leader's controller and the lent mark
 * and the eviction go through the log to the agents.
 */
class LentSpareEvictionTest {
    @Test
    void aFailedCardTakesBackTheSpareCardsLentToAWaitingJob() throws Exception {
        try (AgentCluster c = AgentCluster.start("agents-lent-spares", "lendSpares: true\n", 4, "sn1-n1", "sn1-n2")) {
            c.post("/v1/spares", "{\"supernodeId\":\"sn1\",\"cards\":2}");
            Map<String, String> env = Map.of("TRAINER_STEPS_PER_SEC", "20", "TRAINER_CHECKPOINT_EVERY", "10");
            String a = c.submit(AgentCluster.trainerJob("lend-a", 3, 2, "required", env));
            JsonNode aRunning = c.awaitJob(a, "A running", 90_000, AgentCluster::allRanksRunning);
            assertFalse(aRunning.path("lent").asBoolean(), "A fits the normal budget: " + aRunning);

            String b = c.submit(AgentCluster.trainerJob("lend-b", 1, 2, "required", env));
            JsonNode bRunning = c.awaitJob(b, "B running", 90_000, AgentCluster::allRanksRunning);
            assertTrue(bRunning.path("lent").asBoolean(), "B can only run on the lent spare cards: " + bRunning);

            JsonNode failedTask = aRunning.path("placement").get(0);
            String failedNode = failedTask.path("nodeId").asText();
            int failedCard = failedTask.path("cards").get(0).asInt();
            List<String> bCards = cardRefs(bRunning);
            c.post("/v1/debug/fail-card", "{\"nodeId\":\"" + failedNode + "\",\"card\":" + failedCard + "}");

            JsonNode aAfter = c.awaitJob(a, "A attempt 2 with every rank running", 60_000,
                    j -> j.path("attempt").asLong() >= 2 && AgentCluster.allRanksRunning(j));
            assertEquals(2, aAfter.path("attempt").asLong(), aAfter.toString());
            JsonNode preempted = AgentCluster.ofType(c.events(b), "JobPreempted").get(0);
            assertTrue(preempted.toString().contains("evicted from lent spare cards"), preempted.toString());
            // A's new cards include what B held: the spares came back to the job that lost a card.
            List<String> aCards = cardRefs(aAfter);
            assertTrue(aCards.stream().anyMatch(bCards::contains), "A " + aCards + " took none of B's " + bCards);
            JsonNode bAfter = c.get("/v1/jobs/" + b);
            assertFalse(AgentCluster.allRanksRunning(bAfter) && bAfter.path("attempt").asLong() == 1,
                    "B still runs its first attempt after the eviction: " + bAfter);
            c.post("/v1/jobs/" + a + "/cancel", "{\"reason\":\"test done\"}");
            c.post("/v1/jobs/" + b + "/cancel", "{\"reason\":\"test done\"}");
        }
    }

    private static List<String> cardRefs(JsonNode job) {
        List<String> refs = new java.util.ArrayList<>();
        for (JsonNode task : job.path("placement")) {
            for (JsonNode card : task.path("cards")) refs.add(task.path("nodeId").asText() + "/" + card.asInt());
        }
        return refs;
    }
}
