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
 * replicas off and agents off the replicas, that a crashed agent's workers stay running, that it cleans up after
 * itself (namespaces and every process in them), and a short seeded schedule of network and agent faults, with
 * real agents, ending valid.
 * Skipped with the reason when not root or when iproute2/iptables are missing. Seed: -Dcardinal.seed; workload
 * duration: -Dcardinal.chaos.netns.seconds (default 30).
 */
class ChaosNetnsTest {
    static final List<String> NETWORK_FAULTS = List.of("partition-halves", "partition-leader", "partition-bridge",
            "partition-one-way", "loss", "slow-link", "kill-leader-while-isolated", "agent-crash", "agent-partition");
    /** Real node agents in the schedule, each in a namespace of its own (the agent faults need them). */
    static final int AGENTS = 2;

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
    void isolatedAgentReachesNoReplicaUntilHealAndCloseLeavesNothing() throws Exception {
        Path dir = Path.of("target", "chaos-netns-agents", Long.toString(System.currentTimeMillis())).toAbsolutePath();
        Files.createDirectories(dir);
        Http http = new Http(Duration.ofSeconds(2));
        // One replica is enough to show reachability and keeps the test cheap; two agents: one cut off, one not.
        NetnsBackend b = new NetnsBackend(dir, 1, List.of(), false, 2);
        List<String> namespaces = b.namespaces();
        List<String> agents = b.agentIds();
        Set<Long> hostPids = new TreeSet<>();
        long worker = -1;
        try {
            assertEquals(2, agents.size());
            assertTrue(b.capabilities().containsAll(Set.of("agents", "agent-network")), "capabilities " + b.capabilities());
            assertTrue(ipNetnsList().containsAll(namespaces), "namespaces created: " + namespaces);
            assertNotEquals(b.agentAddress(agents.get(0)), b.agentAddress(agents.get(1)));
            b.startAll();
            String leader = awaitLeader(b, http, Set.of(), 120_000);
            assertNotNull(leader, "no leader within 120 s; logs under " + dir);
            b.startAgents();
            String cut = agents.get(0);
            String other = agents.get(1);
            List<String> replicaPorts = new ArrayList<>();
            for (String id : b.ids()) {
                String host = b.httpAddress(id).split(":")[0];
                replicaPorts.add(host + ":8000");
                replicaPorts.add(host + ":9000"); // the agent gateway
            }
            for (String a : agents) for (String hp : replicaPorts) assertTrue(reaches(b, a, hp), a + " cannot reach " + hp + " before any fault");

            b.isolateAgent(cut);
            for (String hp : replicaPorts) assertFalse(reaches(b, cut, hp), "isolated agent " + cut + " still reaches " + hp);
            for (String hp : replicaPorts) assertTrue(reaches(b, other, hp), other + " lost " + hp + " though only " + cut + " was cut off");
            b.healNetwork();
            for (String hp : replicaPorts) assertTrue(reaches(b, cut, hp), cut + " cannot reach " + hp + " after heal");

            // A job's worker on an agent, then kill -9 of that agent's daemon: the worker must keep running.
            String spec = "{\"name\":\"w\",\"tenant\":\"t1\",\"tasks\":1,\"cardsPerTask\":1,\"command\":[\"/bin/sleep\",\"1000000\"],"
                    + "\"restart\":{\"maxRestarts\":5,\"backoffSeconds\":0}}";
            long deadline = System.currentTimeMillis() + 90_000;
            String node = null;
            while (worker < 0 && System.currentTimeMillis() < deadline) {
                if (node == null) {
                    Http.Reply r = http.post(b.httpAddress(leader), "/v1/jobs", spec, "Idempotency-Key", "netns-agents-w");
                    if (r.status() != 200 && r.status() != 201) {
                        Thread.sleep(500);
                        continue;
                    }
                    node = "";
                }
                for (String a : agents) {
                    for (String line : Files.exists(b.attemptsLog(a)) ? Files.readAllLines(b.attemptsLog(a)) : List.<String>of()) {
                        String[] f = line.trim().split("\\s+");
                        if (f.length == 6 && f[1].equals("START")) {
                            worker = Long.parseLong(f[5]);
                            node = a;
                        }
                    }
                }
                if (worker < 0) Thread.sleep(200);
            }
            assertTrue(worker > 0, "no worker started on any agent within 90 s; logs under " + dir);
            assertTrue(b.agentRunning(node));
            b.kill9Agent(node);
            assertFalse(b.agentRunning(node), "agent " + node + " still running after kill -9");
            assertTrue(ProcessHandle.of(worker).map(ProcessHandle::isAlive).orElse(false) && !zombie(worker),
                    "worker " + worker + " of the crashed agent " + node + " did not survive it");
            assertTrue(b.agentNamespacePids(node).contains(worker), "worker " + worker + " is not in " + node + "'s namespace");
            for (String a : agents) hostPids.addAll(b.agentNamespacePids(a));
            assertTrue(hostPids.contains(worker));
        } finally {
            b.close();
        }
        long deadline = System.currentTimeMillis() + 15_000;
        while (System.currentTimeMillis() < deadline && (!intersect(ipNetnsList(), namespaces).isEmpty() || anyExists(hostPids))) {
            Thread.sleep(200);
        }
        assertTrue(intersect(ipNetnsList(), namespaces).isEmpty(), "namespaces left after close: " + intersect(ipNetnsList(), namespaces));
        // Not even as zombies: the orphaned worker's subreaper must have outlived it to reap it.
        Set<Long> left = new TreeSet<>();
        for (long p : hostPids) if (Files.exists(Path.of("/proc", Long.toString(p)))) left.add(p);
        assertTrue(left.isEmpty(), "processes of the agents' namespaces left after close (worker " + worker + "): " + describe(left));
    }

    /** Whether a TCP connect from inside the agent's namespace to host:port succeeds within 3 s. */
    private static boolean reaches(NetnsBackend b, String agent, String hostPort) throws IOException, InterruptedException {
        String[] hp = hostPort.split(":");
        return b.execInAgent(agent, List.of("timeout", "3", "bash", "-c", "exec 3<>/dev/tcp/" + hp[0] + "/" + hp[1]), 10_000).exit() == 0;
    }

    private static boolean zombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) == 'Z';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static boolean anyExists(Set<Long> pids) {
        for (long p : pids) if (Files.exists(Path.of("/proc", Long.toString(p)))) return true;
        return false;
    }

    private static String describe(Set<Long> pids) {
        StringBuilder sb = new StringBuilder();
        for (long p : pids) {
            try {
                sb.append(p).append(' ').append(Files.readString(Path.of("/proc", Long.toString(p), "stat")).trim()).append("; ");
            } catch (IOException e) {
                sb.append(p).append(" (gone); ");
            }
        }
        return sb.toString();
    }

    @Test
    void shortNetworkScheduleIsValid() throws Exception {
        long seed = Long.getLong("cardinal.seed", System.nanoTime() & 0xffffffL);
        long seconds = Long.getLong("cardinal.chaos.netns.seconds", 30);
        Path out = Path.of("target", "chaos-netns", Long.toString(seed)).toAbsolutePath();
        RunConfig cfg = new RunConfig("netns", "ci", seconds, seed, out, null, 3, NETWORK_FAULTS, 4, AGENTS);
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
