package io.cardinal.server.it;

import io.cardinal.chaos.harness.LocalCluster;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A replica restarted with a wiped data dir catches up by installing the leader's snapshot (the log behind it is purged). */
class SnapshotInstallTest {
    @Test
    void wipedReplicaCatchesUpBySnapshot() throws Exception {
        Path dir = LocalCluster.freshDir("snapshot-install");
        try (LocalCluster c = LocalCluster.start(dir, 3, "snapshotEveryEntries: 50\nlogSegmentSizeKiB: 16\n")) {
            String leader = c.awaitLeader(60_000);
            assertEquals(200, c.post(leader, "/v1/nodes", "{\"nodeId\":\"a\",\"supernodeId\":\"s\",\"cardCount\":8,\"cardModel\":\"H100\"}").status());
            submit(c, leader, 0, 150);
            String victim = c.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();
            c.kill9(victim);
            c.wipe(victim);
            submit(c, leader, 150, 300);
            LocalCluster.Reply snap = c.post(leader, "/v1/snapshot", "");
            assertEquals(200, snap.status(), snap.body().toString());
            assertTrue(snap.body().path("index").asLong() > 300, snap.body().toString());
            c.start(victim);
            c.awaitConverged(c.ids(), 120_000);
            assertEquals(300, c.get(victim, "/v1/jobs?limit=10000&stale=true").body().path("jobs").size());
            String log = Files.readString(c.log(victim));
            assertTrue(log.contains("restored state from snapshot"), "the wiped replica did not install a snapshot:\n" + log);
        }
    }

    static void submit(LocalCluster c, String leader, int from, int to) {
        for (int n = from; n < to; n++) {
            LocalCluster.Reply r = c.post(leader, "/v1/jobs", "{\"name\":\"j" + n + "\",\"tenant\":\"t\",\"tasks\":1,\"cardsPerTask\":1,\"command\":[\"true\"]}",
                    "Idempotency-Key", "k" + n);
            assertEquals(201, r.status(), r.body().toString());
        }
    }
}
