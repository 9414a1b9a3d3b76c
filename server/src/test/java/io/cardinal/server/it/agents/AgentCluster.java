package io.cardinal.server.it.agents;

import io.cardinal.chaos.harness.LocalAgents;
import io.cardinal.chaos.harness.LocalCluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Three real server processes with agent gateways plus real agent processes (two supernodes), for the tests of
 * this package. Reads go to any live replica; every wait is bounded and its failure names the data dir.
 */
final class AgentCluster implements AutoCloseable {
    final Path dir;
    final LocalCluster servers;
    final LocalAgents agents;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private AgentCluster(Path dir, LocalCluster servers, LocalAgents agents) {
        this.dir = dir;
        this.servers = servers;
        this.agents = agents;
    }

    /**
     * Starts 3 servers ({@code serverConfig} appended to each config) and one agent per {@code nodes} entry
     * ({@code "sn1-n1"} is node sn1-n1 of supernode sn1) with {@code cards} cards each, and waits until every node
     * is registered and online.
     */
    static AgentCluster start(String name, String serverConfig, int cards, String... nodes) throws Exception {
        return start(name, serverConfig, "", cards, nodes);
    }

    /** As {@link #start(String, String, int, String...)}, with {@code agentConfig} appended to every agent's config. */
    static AgentCluster start(String name, String serverConfig, String agentConfig, int cards, String... nodes) throws Exception {
        Path dir = LocalCluster.freshDir(name);
        System.out.println(name + ": data and logs under " + dir);
        LocalCluster servers = LocalCluster.start(dir.resolve("servers"), 3, serverConfig, true);
        // The trainers checkpoint every 0.5 s, far more often than real jobs, so with keep-last-3 the surviving ranks
        // write several newer steps while a failure is being detected: the restore then depends on the agents
        // pinning the committed step (CheckpointCommittedNotice), which is what these tests exercise.
        LocalAgents agents = new LocalAgents(dir.resolve("agents"), servers.agentAddresses(),
                "heartbeatIntervalMillis: 500\nkeepCheckpoints: 3\n" + agentConfig);
        AgentCluster c = new AgentCluster(dir, servers, agents);
        try {
            servers.awaitLeader(60_000);
            for (String n : nodes) agents.add(n, n.substring(0, n.indexOf('-')), cards);
            c.await("all " + nodes.length + " agents registered and online", 60_000, () -> {
                JsonNode r = c.get("/v1/nodes?stale=true");
                if (r == null) return false;
                int online = 0;
                for (JsonNode n : r.path("nodes")) if (n.path("online").asBoolean() && !n.path("agentAddress").asText().isEmpty()) online++;
                return online == nodes.length;
            });
            return c;
        } catch (Throwable t) {
            c.close();
            throw t;
        }
    }

    /** A job spec running the simulated trainer; {@code env} adds TRAINER_* settings. */
    static String trainerJob(String name, int tasks, int cardsPerTask, String supernode, Map<String, String> env) {
        ObjectNode spec = LocalCluster.JSON.createObjectNode();
        spec.put("name", name);
        spec.put("tenant", "t1");
        spec.put("tasks", tasks);
        spec.put("cardsPerTask", cardsPerTask);
        spec.putObject("topology").put("supernode", supernode);
        ArrayNode cmd = spec.putArray("command");
        LocalAgents.trainerCommand().forEach(cmd::add);
        ObjectNode e = spec.putObject("env");
        env.forEach(e::put);
        spec.putObject("restart").put("maxRestarts", 5).put("backoffSeconds", 0);
        return spec.toString();
    }

    String submit(String spec) throws InterruptedException {
        String[] id = new String[1];
        await("job submission accepted", 30_000, () -> {
            String leader = leader();
            if (leader == null) return false;
            LocalCluster.Reply r = servers.post(leader, "/v1/jobs", spec, "Idempotency-Key", "k-" + spec.hashCode());
            if (r.status() == 200 || r.status() == 201) {
                id[0] = r.body().path("jobId").asText();
                return true;
            }
            return false;
        });
        return id[0];
    }

    /** POST to the leader, retried until it answers 200 (bounded). */
    JsonNode post(String path, String body) throws InterruptedException {
        JsonNode[] out = new JsonNode[1];
        await("POST " + path + " " + body, 30_000, () -> {
            String leader = leader();
            if (leader == null) return false;
            LocalCluster.Reply r = servers.post(leader, path, body);
            if (r.status() == 200 || r.status() == 201) {
                out[0] = r.body();
                return true;
            }
            return false;
        });
        return out[0];
    }

    /** The id of a live replica that says it leads (controller ready), or null. */
    String leader() {
        for (String id : servers.ids()) {
            if (!servers.alive(id)) continue;
            LocalCluster.Reply r = servers.get(id, "/v1/status");
            if (r.status() == 200 && r.body().path("leaderReady").asBoolean()) return id;
        }
        return null;
    }

    /** A GET answered with 200 by some live replica (linearizable unless the path says stale=true), or null. */
    JsonNode get(String path) {
        for (String id : servers.ids()) {
            if (!servers.alive(id)) continue;
            LocalCluster.Reply r = servers.get(id, path);
            if (r.status() == 200) return r.body();
        }
        return null;
    }

    JsonNode job(String jobId) {
        return get("/v1/jobs/" + jobId);
    }

    /** The job's stored events (NDJSON), oldest first; null when no replica answered. */
    List<JsonNode> events(String jobId) {
        return eventsWhere("job=" + jobId);
    }

    /** The node's stored events, oldest first. */
    List<JsonNode> eventsOfNode(String nodeId) {
        return eventsWhere("node=" + nodeId);
    }

    private List<JsonNode> eventsWhere(String filter) {
        for (String id : servers.ids()) {
            if (!servers.alive(id)) continue;
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://" + servers.httpAddress(id)
                        + "/v1/events?" + filter + "&limit=10000")).timeout(Duration.ofSeconds(10)).GET().build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) continue;
                List<JsonNode> out = new ArrayList<>();
                for (String line : r.body().split("\n")) if (!line.isBlank()) out.add(LocalCluster.JSON.readTree(line));
                return out;
            } catch (IOException e) {
                // next replica
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }

    static List<JsonNode> ofType(List<JsonNode> events, String type) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode e : events) if (e.path("type").asText().equals(type)) out.add(e);
        return out;
    }

    /** Waits until the job satisfies {@code p}; returns that view of the job. */
    JsonNode awaitJob(String jobId, String what, long timeoutMillis, Predicate<JsonNode> p) throws InterruptedException {
        JsonNode[] last = new JsonNode[1];
        try {
            await("job " + jobId + " " + what, timeoutMillis, () -> {
                JsonNode j = job(jobId);
                if (j != null) last[0] = j;
                return j != null && p.test(j);
            });
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; last view: " + last[0], e);
        }
        return last[0];
    }

    static boolean allRanksRunning(JsonNode job) {
        return job.path("state").asText().equals("RUNNING") && job.path("ranksRunning").size() == job.path("tasks").asInt();
    }

    /** The node of each task of the job's current placement, by task. */
    static List<String> placementNodes(JsonNode job) {
        List<String> out = new ArrayList<>();
        for (JsonNode t : job.path("placement")) out.add(t.path("nodeId").asText());
        return out;
    }

    void await(String what, long timeoutMillis, java.util.function.BooleanSupplier condition) throws InterruptedException {
        try {
            LocalCluster.await(what, timeoutMillis, condition);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + " (data and logs under " + dir + ")", e);
        }
    }

    @Override
    public void close() {
        agents.close();
        servers.close();
    }
}
