package io.cardinal.chaos.bench;

import io.cardinal.chaos.harness.LocalAgents;
import io.cardinal.chaos.harness.LocalCluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Benchmark B (issue 4): card failure -> all ranks running again, for an N-rank job over M agents (real server,
 * agent and worker processes on loopback). Each repetition fails the card of a random rank through its agent, waits
 * for the next attempt with every rank running, and reads the incident the controller recorded (detected ->
 * running, steps lost, restore step); then heals the card. Prints every repetition and p50/p99.
 *
 * <pre>
 * AgentRestartBench [--ranks 64] [--agents 8] [--cards-per-agent 9] [--reps 20] [--worker java|shell]
 *                   [--steps-per-sec 10] [--checkpoint-every 10] [--seed N] [--dir target/bench/agent-restart]
 * </pre>
 * Needs the server and agent classes on the classpath (run-agent-benchmarks.sh builds it).
 */
public final class AgentRestartBench {
    public static void main(String[] args) throws Exception {
        int ranks = 64, agents = 8, cardsPerAgent = 9, reps = 20, stepsPerSec = 10, every = 10;
        String worker = "java";
        long seed = System.nanoTime();
        Path dir = Path.of("target", "bench", "agent-restart");
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--ranks" -> ranks = Integer.parseInt(args[i + 1]);
                case "--agents" -> agents = Integer.parseInt(args[i + 1]);
                case "--cards-per-agent" -> cardsPerAgent = Integer.parseInt(args[i + 1]);
                case "--reps" -> reps = Integer.parseInt(args[i + 1]);
                case "--worker" -> worker = args[i + 1];
                case "--steps-per-sec" -> stepsPerSec = Integer.parseInt(args[i + 1]);
                case "--checkpoint-every" -> every = Integer.parseInt(args[i + 1]);
                case "--seed" -> seed = Long.parseLong(args[i + 1]);
                case "--dir" -> dir = Path.of(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        dir = dir.toAbsolutePath();
        cleanDir(dir);
        System.out.printf("AgentRestartBench: %d ranks over %d agents (%d cards each, 2 supernodes), worker=%s, %d steps/s, "
                + "checkpoint every %d steps, %d reps, seed %d, dir %s%n", ranks, agents, cardsPerAgent, worker, stepsPerSec, every,
                reps, seed, dir);
        Random rnd = new Random(seed);
        List<String> command = worker.equals("shell") ? shellWorker(dir) : LocalAgents.trainerCommand();
        try (LocalCluster servers = LocalCluster.start(dir.resolve("servers"), 3, "", true)) {
            try (LocalAgents la = new LocalAgents(dir.resolve("agents"), servers.agentAddresses(),
                    "heartbeatIntervalMillis: 1000\nkeepCheckpoints: 200\nfsyncShards: true\n")) {
                servers.awaitLeader(60_000);
                for (int a = 0; a < agents; a++) la.add("sn" + (1 + a % 2) + "-n" + (1 + a / 2), "sn" + (1 + a % 2), cardsPerAgent);
                int want = agents;
                Api api = new Api(servers);
                LocalCluster.await("all agents online", 120_000, () -> {
                    JsonNode n = api.get("/v1/nodes?stale=true");
                    if (n == null) return false;
                    int online = 0;
                    for (JsonNode x : n.path("nodes")) if (x.path("online").asBoolean()) online++;
                    return online == want;
                });
                ObjectNode spec = LocalCluster.JSON.createObjectNode();
                spec.put("name", "bench-restart").put("tenant", "bench").put("tasks", ranks).put("cardsPerTask", 1);
                spec.putObject("topology").put("supernode", "any");
                ArrayNode cmd = spec.putArray("command");
                command.forEach(cmd::add);
                spec.putObject("env").put("TRAINER_STEPS_PER_SEC", Integer.toString(stepsPerSec))
                        .put("TRAINER_CHECKPOINT_EVERY", Integer.toString(every)).put("TRAINER_SHARD_BYTES", "4096");
                spec.putObject("checkpoint").put("everySteps", every);
                spec.putObject("restart").put("maxRestarts", 100).put("backoffSeconds", 0);
                String jobId = api.post("/v1/jobs", spec.toString()).path("jobId").asText();
                long t0 = System.currentTimeMillis();
                JsonNode job = api.awaitJob(jobId, 300_000, j -> running(j) && j.path("checkpointStep").asLong() > 0);
                System.out.printf("job %s: all %d ranks running with a committed checkpoint %d ms after submit%n", jobId, ranks,
                        System.currentTimeMillis() - t0);
                List<Long> toRunning = new ArrayList<>();
                List<Long> lost = new ArrayList<>();
                for (int rep = 1; rep <= reps; rep++) {
                    long attempt = job.path("attempt").asLong();
                    long restore = job.path("restoreStep").asLong();
                    // Wait until this attempt has committed a checkpoint of its own: its workers are up and training.
                    job = api.awaitJob(jobId, 300_000, j -> running(j) && j.path("checkpointStep").asLong() > restore);
                    JsonNode victim = job.path("placement").get(rnd.nextInt(ranks));
                    String node = victim.path("nodeId").asText();
                    int card = victim.path("cards").get(0).asInt();
                    api.post("/v1/debug/fail-card", "{\"nodeId\":\"" + node + "\",\"card\":" + card + "}");
                    job = api.awaitJob(jobId, 300_000, j -> j.path("attempt").asLong() > attempt && running(j));
                    JsonNode inc = job.path("incidents").get(job.path("incidents").size() - 1);
                    long ms = inc.path("detectedToRunningMs").asLong();
                    long sl = inc.path("stepsLost").asLong();
                    toRunning.add(ms);
                    lost.add(sl);
                    System.out.printf("rep %2d: %s/%d failed; attempt %d -> %d; detected->decided %d ms, ->assigned %d ms, "
                                    + "->running %d ms; restore step %d, last step %d, steps lost %d (%.2f checkpoint intervals)%n",
                            rep, node, card, attempt, job.path("attempt").asLong(), inc.path("detectedToDecidedMs").asLong(),
                            inc.path("assignedMs").asLong() - inc.path("detectedMs").asLong(), ms, inc.path("restoreStep").asLong(),
                            inc.path("lastStep").asLong(), sl, sl / (double) every);
                    api.post("/v1/debug/fail-card", "{\"nodeId\":\"" + node + "\",\"card\":" + card + ",\"healthy\":true}");
                }
                api.post("/v1/jobs/" + jobId + "/cancel", "{\"reason\":\"benchmark done\"}");
                System.out.printf("RESULT worker=%s ranks=%d agents=%d reps=%d: detected->running p50 %d ms, p99 %d ms, max %d ms; "
                                + "steps lost p50 %d, max %d (checkpoint interval %d steps, %d steps/s)%n", worker, ranks, agents, reps,
                        pct(toRunning, 50), pct(toRunning, 99), Collections.max(toRunning), pct(lost, 50), Collections.max(lost), every,
                        stepsPerSec);
            }
        }
    }

    static boolean running(JsonNode j) {
        return j.path("state").asText().equals("RUNNING") && j.path("ranksRunning").size() == j.path("tasks").asInt();
    }

    /** Nearest-rank percentile. */
    static long pct(List<Long> xs, int p) {
        List<Long> s = new ArrayList<>(xs);
        Collections.sort(s);
        int idx = (int) Math.ceil(p / 100.0 * s.size()) - 1;
        return s.get(Math.max(0, Math.min(s.size() - 1, idx)));
    }

    /** Empties (or creates) the benchmark's directory. */
    static void cleanDir(Path dir) throws java.io.IOException {
        if (Files.exists(dir)) {
            try (var s = Files.walk(dir)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
            }
        }
        Files.createDirectories(dir);
    }

    static List<String> shellWorker(Path dir) throws Exception {
        Path script = dir.resolve("shell-trainer.sh");
        try (InputStream in = AgentRestartBench.class.getResourceAsStream("shell-trainer.sh")) {
            Files.copy(in, script);
        }
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return List.of("bash", script.toString());
    }

    /** Requests to whichever replica answers, every wait bounded. */
    static final class Api {
        private final LocalCluster c;

        Api(LocalCluster c) {
            this.c = c;
        }

        JsonNode get(String path) {
            for (String id : c.ids()) {
                if (!c.alive(id)) continue;
                LocalCluster.Reply r = c.get(id, path);
                if (r.status() == 200) return r.body();
            }
            return null;
        }

        JsonNode post(String path, String body) throws InterruptedException {
            long deadline = System.currentTimeMillis() + 30_000;
            while (System.currentTimeMillis() < deadline) {
                for (String id : c.ids()) {
                    if (!c.alive(id)) continue;
                    LocalCluster.Reply r = c.post(id, path, body);
                    if (r.status() == 200 || r.status() == 201) return r.body();
                }
                Thread.sleep(100);
            }
            throw new IllegalStateException("POST " + path + " " + body + " failed for 30 s");
        }

        JsonNode awaitJob(String jobId, long timeoutMillis, java.util.function.Predicate<JsonNode> p) throws InterruptedException {
            JsonNode[] last = new JsonNode[1];
            try {
                LocalCluster.await("job " + jobId, timeoutMillis, () -> {
                    JsonNode j = get("/v1/jobs/" + jobId);
                    if (j != null) last[0] = j;
                    if (j != null && j.path("state").asText().equals("FAILED")) throw new IllegalStateException("job failed: " + j.path("reason"));
                    return j != null && p.test(j);
                });
            } catch (AssertionError e) {
                throw new IllegalStateException(e.getMessage() + "; last view " + last[0], e);
            }
            return last[0];
        }
    }
}
