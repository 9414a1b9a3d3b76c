package io.cardinal.server.it;

import io.cardinal.chaos.harness.LocalCluster;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad requests get a clear error with a stable code, change nothing, and the replica keeps serving. */
class BadInputTest {
    @Test
    void badRequestsAreRefusedClearlyAndChangeNothing() throws Exception {
        Path dir = LocalCluster.freshDir("bad-input");
        try (LocalCluster c = LocalCluster.start(dir, 1, "")) {
            String id = c.awaitLeader(60_000);
            // The first leader records the member list (event 1) right after it becomes ready.
            LocalCluster.await("the member list event", 30_000, () -> c.get(id, "/v1/status").body().path("lastEventSeq").asLong() >= 1);
            String before = c.get(id, "/v1/status").body().path("stateHash").asText();

            expect(c.post(id, "/v1/jobs", "{not json"), 400, "invalid", "");
            expect(c.post(id, "/v1/jobs", "{\"name\":\"a\",\"tenant\":\"t\",\"tasks\":1,\"cardsPerTsk\":1,\"command\":[\"x\"]}"),
                    400, "invalid", "cardsPerTask");
            expect(c.post(id, "/v1/jobs", "{\"name\":\"a\",\"tenant\":\"t\",\"tasks\":\"many\",\"cardsPerTask\":1,\"command\":[\"x\"]}"),
                    400, "invalid", "tasks");
            expect(c.post(id, "/v1/jobs", "{\"name\":\"a\",\"tenant\":\"t\",\"tasks\":0,\"cardsPerTask\":1,\"command\":[\"x\"]}"),
                    400, "invalid", "tasks");
            expect(c.get(id, "/v1/jobs/j-999999"), 404, "not_found", "j-999999");
            expect(c.get(id, "/v1/nodes/nope"), 404, "not_found", "nope");
            expect(c.post(id, "/v1/jobs/j-999999/cancel", "{}"), 404, "not_found", "j-999999");
            expect(c.post(id, "/v1/nodes/nope/cordon", "{}"), 404, "not_found", "nope");
            expect(c.post(id, "/v1/nodes", "{\"nodeId\":\"bad id!\",\"supernodeId\":\"s\",\"cardCount\":8,\"cardModel\":\"H100\"}"),
                    400, "invalid", "nodeId");
            expect(c.post(id, "/v1/nodes", "{\"nodeId\":\"a\",\"supernodeId\":\"s\",\"cardCount\":0,\"cardModel\":\"H100\"}"),
                    400, "invalid", "cardCount");
            expect(c.post(id, "/v1/nodes", "{\"nodeId\":\"a\",\"supernodeId\":\"s\",\"cardCount\":8,\"cardModel\":\"H100\",\"extra\":1}"),
                    400, "invalid", "extra");
            expect(c.get(id, "/v1/nothing"), 404, "not_found", "/v1/nothing");
            expect(c.get(id, "/v1/events?after=abc"), 400, "invalid", "after");
            LocalCluster.Reply big = c.post(id, "/v1/jobs", "x".repeat(2 << 20));
            assertEquals(413, big.status(), "an oversized body is refused: " + big.body());

            assertEquals(before, c.get(id, "/v1/status").body().path("stateHash").asText(), "a refused request changed state");
            // A good request still works, and a retry with the same key is a duplicate, not a second job.
            String spec = "{\"name\":\"ok\",\"tenant\":\"t\",\"tasks\":1,\"cardsPerTask\":1,\"command\":[\"x\"]}";
            LocalCluster.Reply first = c.post(id, "/v1/jobs", spec, "Idempotency-Key", "same");
            LocalCluster.Reply again = c.post(id, "/v1/jobs", spec, "Idempotency-Key", "same");
            assertEquals(201, first.status(), first.body().toString());
            assertEquals(200, again.status(), again.body().toString());
            assertTrue(again.body().path("duplicate").asBoolean());
            assertEquals(first.body().path("jobId"), again.body().path("jobId"));
            assertEquals(1, c.get(id, "/v1/jobs").body().path("jobs").size());
        }
    }

    private static void expect(LocalCluster.Reply r, int status, String code, String mentions) {
        assertEquals(status, r.status(), r.body().toString());
        assertEquals(code, r.body().path("error").path("code").asText(), r.body().toString());
        String message = r.body().path("error").path("message").asText();
        assertTrue(message.contains(mentions), "message should name \"" + mentions + "\": " + message);
    }
}
