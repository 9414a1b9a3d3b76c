package io.cardinal.server.it;

import io.cardinal.chaos.harness.LocalCluster;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Membership change and leadership transfer as admin commands, on real processes. */
class MembershipTest {
    @Test
    void addAReplicaMoveLeadershipToItThenRemoveAnother() throws Exception {
        Path dir = LocalCluster.freshDir("membership");
        try (LocalCluster c = LocalCluster.start(dir, 3, "")) {
            String leader = c.awaitLeader(60_000);
            SnapshotInstallTest.submit(c, leader, 0, 20);

            String added = c.addReplica();
            LocalCluster.Reply add = c.post(leader, "/v1/cluster/members", "{\"action\":\"add\",\"id\":\"" + added
                    + "\",\"raftAddress\":\"" + c.raftAddress(added) + "\",\"httpAddress\":\"" + c.httpAddress(added) + "\"}");
            assertEquals(200, add.status(), add.body().toString());
            c.awaitConverged(c.ids(), 60_000);
            assertEquals(20, c.get(added, "/v1/jobs?stale=true").body().path("jobs").size());
            assertTrue(peers(c, leader).contains(added), "raft peers after add: " + peers(c, leader));

            // A just-added replica that was made leader can lose the leadership again on a loaded host (a CI run saw
            // n4 lead for 769 ms, then step down after 650 ms without a majority's replies): the transfer worked, the
            // leadership did not stay. Ask again, through whoever leads now, a bounded number of times.
            boolean onAdded = false;
            for (int attempt = 1; attempt <= 3 && !onAdded; attempt++) {
                String current = c.awaitLeader(30_000);
                if (current.equals(added)) {
                    onAdded = true;
                    break;
                }
                LocalCluster.Reply transfer = c.post(current, "/v1/leader/transfer", "{\"to\":\"" + added + "\"}");
                assertEquals(200, transfer.status(), transfer.body().toString());
                try {
                    LocalCluster.await("leadership on " + added, 15_000,
                            () -> c.get(added, "/v1/status").body().path("leaderReady").asBoolean());
                    onAdded = true;
                } catch (AssertionError e) {
                    System.out.println("transfer " + attempt + " to " + added + ": the leadership did not stay (" + e.getMessage() + ")");
                }
            }
            assertTrue(onAdded, "three transfers to " + added + " and it never led");

            String removed = leader;
            LocalCluster.Reply remove = c.post(added, "/v1/cluster/members", "{\"action\":\"remove\",\"id\":\"" + removed + "\"}");
            assertEquals(200, remove.status(), remove.body().toString());
            List<String> after = peers(c, added);
            assertFalse(after.contains(removed), "raft peers after remove: " + after);
            assertEquals(3, after.size());
            // The smaller cluster still commits writes.
            assertEquals(201, c.post(added, "/v1/jobs", "{\"name\":\"after\",\"tenant\":\"t\",\"tasks\":1,\"cardsPerTask\":1,\"command\":[\"true\"]}",
                    "Idempotency-Key", "after-remove").status());

            LocalCluster.Reply unknown = c.post(added, "/v1/cluster/members", "{\"action\":\"remove\",\"id\":\"nope\"}");
            assertEquals(404, unknown.status(), unknown.body().toString());
            LocalCluster.Reply bad = c.post(added, "/v1/leader/transfer", "{\"to\":\"nope\"}");
            assertEquals(404, bad.status(), bad.body().toString());
        }
    }

    private static List<String> peers(LocalCluster c, String id) {
        List<String> out = new ArrayList<>();
        for (JsonNode p : c.get(id, "/v1/status").body().path("raftPeers")) out.add(p.asText());
        return out;
    }
}
