package io.cardinal.server.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.chaos.RunConfig;
import io.cardinal.chaos.Runner;
import io.cardinal.chaos.history.Http;
import io.cardinal.chaos.host.NetnsBackend;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The chaos suite on backend B (Linux network namespaces, {@link NetnsBackend}): that its partitions really cut
 * replicas off, that it cleans up after itself, and a short seeded schedule of network faults ending valid.
 * Skipped with the reason when not root or when iproute2/iptables are missing. Seed: -Dcardinal.seed; workload
 * duration: -Dcardinal.chaos.netns.seconds (default 30).
 */
class ChaosNetnsTest {
    static final List<String> NETWORK_FAULTS = List.of("partition-halves", "partition-leader", "partition-bridge",
            "partition-one-way", "loss", "slow-link", "kill-leader-while-isolated");

    @BeforeEach
    void needsNetns() {
        String why = NetnsBackend.unavailableReason();
        Assumptions.assumeTrue(why == null, "skipping the chaos suite on backend B (network namespaces): " + why);
    }

    @Test
    void isolatedLeaderIsReplacedAndCloseRemovesTheNamespaces() throws Exception {
        // Kept under target/ (not a temp dir) so that the replicas' logs outlive a failure.
        Path dir = Path.of("target", "chaos-netns-isolate", Long.toString(System.currentTimeMillis())).toAbsolutePath();
        Files.createDirectories(dir);
        Http http = new Http(Duration.ofSeconds(2));
        NetnsBackend b = new NetnsBackend(dir, 3, List.of());
        List<String> namespaces = b.namespaces();
        try {
            assertTrue(ipNetnsList().containsAll(namespaces), "namespaces created: " + namespaces);
            b.startAll();
            // A leader every replica follows: under load a fresh cluster may still be electing, or one replica
            // may not be up yet, and cutting off a leader that is about to lose its term proves nothing.
            String leader = awaitAgreedLeader(b, http, 120_000);
            assertNotNull(leader, "no leader all replicas agree on within 120 s; logs under " + dir + "; " + statuses(b, http));
            for (String o : b.ids()) {
                if (o.equals(leader)) continue;
                b.block(leader, o);
                b.block(o, leader);
            }
            // The followers cannot hear the old leader any more, so one of them must be elected.
            String next = awaitLeader(b, http, Set.of(leader), 60_000);
            assertNotNull(next, "the followers did not elect a new leader while " + leader + " was cut off (logs under " + dir
                    + "); statuses now: " + statuses(b, http));
            assertNotEquals(leader, next);
            // The test JVM still reaches the isolated replica: only replica-to-replica traffic was cut.
            assertEquals(200, http.get(b.httpAddress(leader), "/v1/status").status());

            b.kill9(next);
            assertFalse(b.running(next));
            b.healNetwork();
            b.start(next);
            assertNotNull(awaitLeader(b, http, Set.of(), 90_000), "no leader after heal");
        } finally {
            b.close();
        }
        long deadline = System.currentTimeMillis() + 15_000;
        while (System.currentTimeMillis() < deadline && (!intersect(ipNetnsList(), namespaces).isEmpty() || links().contains(b.hostLink()))) {
            Thread.sleep(200);
        }
        assertTrue(intersect(ipNetnsList(), namespaces).isEmpty(), "namespaces left after close: " + intersect(ipNetnsList(), namespaces));
        assertFalse(links().contains(b.hostLink()), "root veth " + b.hostLink() + " left after close");
    }

    @Test
    void shortNetworkScheduleIsValid() throws Exception {
        long seed = Long.getLong("cardinal.seed", System.nanoTime() & 0xffffffL);
        long seconds = Long.getLong("cardinal.chaos.netns.seconds", 30);
        Path out = Path.of("target", "chaos-netns", Long.toString(seed)).toAbsolutePath();
        RunConfig cfg = new RunConfig("netns", "ci", seconds, seed, out, null, 3, NETWORK_FAULTS, 4);
        System.out.println("ChaosNetnsTest seed=" + seed + "; reproduce: " + cfg.reproduceCommand());
        ObjectNode verdict = new Runner(cfg, System.out).run();
        assertTrue(verdict.path("valid").asBoolean(), "chaos on netns INVALID (seed " + seed + "), see " + out
                + "/verdict.json; reproduce: " + cfg.reproduceCommand() + "\n" + verdict.toPrettyString());
        // A valid verdict only counts if faults were applied: each nemesis step must have taken and healed.
        int applied = 0;
        for (String line : Files.readAllLines(out.resolve("history.jsonl"))) {
            JsonNode op = Http.JSON.readTree(line);
            if (!op.path("f").asText().equals("nemesis")) continue;
            assertEquals("healed", op.path("result").path("outcome").asText(), "nemesis step failed (seed " + seed + "): " + line);
            applied++;
        }
        assertTrue(applied >= 2, "only " + applied + " network faults in " + seconds + " s (seed " + seed + ")");
    }

    private static String awaitLeader(NetnsBackend b, Http http, Set<String> excluded, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < deadline) {
            for (String id : b.ids()) {
                if (excluded.contains(id)) continue;
                Http.Reply r = http.get(b.httpAddress(id), "/v1/status");
                if (r.status() == 200 && r.body().path("leaderReady").asBoolean()) return id;
            }
            Thread.sleep(200);
        }
        return null;
    }

    private static String awaitAgreedLeader(NetnsBackend b, Http http, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < deadline) {
            Set<String> leaderIds = new TreeSet<>();
            String ready = null;
            for (String id : b.ids()) {
                Http.Reply r = http.get(b.httpAddress(id), "/v1/status");
                leaderIds.add(r.status() == 200 ? r.body().path("leaderId").asText("") : "");
                if (r.status() == 200 && r.body().path("leaderReady").asBoolean()) ready = id;
            }
            if (ready != null && leaderIds.equals(Set.of(ready))) return ready;
            Thread.sleep(200);
        }
        return null;
    }

    private static String statuses(NetnsBackend b, Http http) {
        StringBuilder sb = new StringBuilder();
        for (String id : b.ids()) {
            Http.Reply r = http.get(b.httpAddress(id), "/v1/status");
            sb.append(id).append(": ").append(r.status()).append(' ').append(r.body()).append("; ");
        }
        return sb.toString();
    }

    private static Set<String> intersect(Set<String> a, List<String> b) {
        Set<String> out = new TreeSet<>(a);
        out.retainAll(b);
        return out;
    }

    private static Set<String> ipNetnsList() throws IOException, InterruptedException {
        Set<String> out = new TreeSet<>();
        for (String l : exec("ip", "netns", "list")) if (!l.isBlank()) out.add(l.trim().split("\\s+")[0]);
        return out;
    }

    private static Set<String> links() throws IOException, InterruptedException {
        Set<String> out = new TreeSet<>();
        for (String l : exec("ip", "-o", "link", "show")) {
            String[] f = l.split(":\\s+", 3);
            if (f.length >= 2) out.add(f[1].split("@")[0].trim());
        }
        return out;
    }

    private static List<String> exec(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>(new String(p.getInputStream().readAllBytes()).lines().toList());
        if (!p.waitFor(15, TimeUnit.SECONDS)) p.destroyForcibly();
        return lines;
    }
}
