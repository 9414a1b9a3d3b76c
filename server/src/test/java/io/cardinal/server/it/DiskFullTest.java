package io.cardinal.server.it;

import io.cardinal.chaos.harness.LocalCluster;
import io.cardinal.chaos.host.LoopDisks;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The leader's disk fills up (a real filesystem: each data dir is its own small loop-mounted ext4, filled with a
 * ballast file): writes are refused with a 503 that names the free space, also when they come through a follower;
 * the refused write is not in the log; reads still answer; once the ballast is gone, writes are taken again.
 * Needs root (loop mounts); skipped with the reason otherwise.
 */
class DiskFullTest {
    static final String SPEC = "{\"name\":\"d\",\"tenant\":\"t\",\"tasks\":1,\"cardsPerTask\":1,\"command\":[\"true\"]}";

    @Test
    void aFullLeaderRefusesWritesClearlyAndRecovers() throws Exception {
        String why = LoopDisks.unavailable();
        Assumptions.assumeTrue(why == null, "skipped: " + why);
        Path dir = LocalCluster.freshDir("disk-full");
        try (LoopDisks disks = new LoopDisks()) {
            for (String id : List.of("n1", "n2", "n3")) disks.create(id, dir.resolve(id).resolve("data"));
            try (LocalCluster c = LocalCluster.start(dir, 3, "minFreeDiskMiB: 64\n")) {
                String leader = c.awaitLeader(90_000);
                String follower = c.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();
                LocalCluster.Reply before = c.post(leader, "/v1/jobs", SPEC, "Idempotency-Key", "before-full");
                assertEquals(201, before.status(), before.body().toString());

                disks.fill(leader, 16);
                LocalCluster.Reply full = c.post(leader, "/v1/jobs", SPEC, "Idempotency-Key", "while-full");
                assertEquals(503, full.status(), full.body().toString());
                assertEquals("unavailable", full.body().path("error").path("code").asText());
                String message = full.body().path("error").path("message").asText();
                assertTrue(message.contains("MiB free") && message.contains("64 MiB minimum"), message);
                LocalCluster.Reply viaFollower = c.post(follower, "/v1/jobs", SPEC, "Idempotency-Key", "while-full-2");
                assertEquals(503, viaFollower.status(), viaFollower.body().toString());
                assertTrue(viaFollower.body().path("error").path("message").asText().contains("MiB free"), viaFollower.body().toString());
                assertEquals(200, c.get(leader, "/v1/jobs").status(), "reads still answer on a full leader");

                disks.heal();
                LocalCluster.Reply after = null;
                long deadline = System.currentTimeMillis() + 20_000;
                while (System.currentTimeMillis() < deadline) {
                    after = c.post(leader, "/v1/jobs", SPEC, "Idempotency-Key", "after-full");
                    if (after.status() == 201) break;
                    Thread.sleep(200);
                }
                assertEquals(201, after.status(), "writes are taken again once space is freed: " + after.body());
                // Exactly the two accepted submits are jobs; the refused ones left nothing.
                assertEquals(2, c.get(leader, "/v1/jobs").body().path("jobs").size(), c.get(leader, "/v1/jobs").body().toString());
            }
        }
    }
}
