package io.cardinal.chaos.workload;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.chaos.history.History;
import io.cardinal.chaos.history.Http;
import io.cardinal.chaos.history.Op;
import io.cardinal.chaos.host.Backend;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Concurrent clients that submit, cancel, fail and heal cards, drain and uncordon nodes, and read jobs, each
 * request through a random replica. Every request is one operation of the history (ok / fail / info).
 * Without agents the nodes are registered by hand and jobs never run anywhere; with agents, the agents register
 * their nodes and each job's rank is a real worker process that runs until it is stopped ({@link #AGENT_WORKER}).
 */
public final class Workload {
    public static final int NODES = 4;
    /**
     * The worker of a job on real agents: the cheapest real process that runs until it is stopped, so that no job ends
     * by itself (the linearizability model assumes only a cancel ends a job) and SIGTERM ends it at once.
     */
    public static final String AGENT_WORKER = "[\"/bin/sleep\",\"1000000\"]";
    public static final int CARDS_PER_NODE = 8;
    /** Jobs restart this many times at most; high so that no job fails for want of budget during a run. */
    static final int MAX_RESTARTS = 1000;

    private final Backend backend;
    private final History history;
    private final Http http;
    private final long seed;
    private final AtomicLong keys = new AtomicLong();
    /** jobId -> idempotency key, for every acknowledged submit. */
    public final Map<String, String> jobs = new ConcurrentHashMap<>();
    private final List<String> jobIds = new CopyOnWriteArrayList<>();
    final Set<String> failedCards = ConcurrentHashMap.newKeySet();
    final Set<String> drained = ConcurrentHashMap.newKeySet();
    private volatile boolean stop;
    /** The nodes clients fail cards on and drain: the agents' nodes, or the hand-registered ones. */
    private final List<String> nodes = new ArrayList<>();
    private final boolean agents;

    public Workload(Backend backend, History history, Http http, long seed) {
        this.backend = backend;
        this.history = history;
        this.http = http;
        this.seed = seed;
        this.agents = !backend.agentIds().isEmpty();
        if (agents) nodes.addAll(backend.agentIds());
        else for (int n = 0; n < NODES; n++) nodes.add(nodeId(n));
    }

    public List<String> nodes() {
        return List.copyOf(nodes);
    }

    public static String nodeId(int n) {
        return "sn" + (1 + n / 2) + "-n" + (1 + n % 2);
    }

    /**
     * Registers the nodes (2 supernodes x 2 nodes x 8 cards), retrying for at most {@code timeoutMillis}; with agents,
     * waits (as long) until every agent has registered its node and is online.
     */
    public void setup(long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        if (agents) {
            Set<String> online = Set.of();
            while (System.currentTimeMillis() < deadline) {
                online = onlineAgentNodes();
                if (online.containsAll(nodes)) return;
                Thread.sleep(300);
            }
            throw new IllegalStateException("agents " + nodes + " did not all register within " + timeoutMillis + " ms (online: " + online + ")");
        }
        for (int n = 0; n < NODES; n++) {
            String body = "{\"nodeId\":\"" + nodeId(n) + "\",\"supernodeId\":\"sn" + (1 + n / 2) + "\",\"cardCount\":"
                    + CARDS_PER_NODE + ",\"cardModel\":\"H100\"}";
            boolean ok = false;
            for (int i = 0; !ok && System.currentTimeMillis() < deadline; i++) {
                String r = backend.ids().get(i % backend.ids().size());
                Op op = call("setup", "register", r, "/v1/nodes", body, null, Http.JSON.createObjectNode().put("nodeId", nodeId(n)));
                ok = op.ok();
                if (!ok) Thread.sleep(200);
            }
            if (!ok) throw new IllegalStateException("could not register node " + nodeId(n) + " within " + timeoutMillis + " ms");
        }
    }

    /** Nodes that some replica reports online with an agent address (a stale read; used only to wait). */
    Set<String> onlineAgentNodes() {
        Set<String> out = new java.util.TreeSet<>();
        for (String id : backend.ids()) {
            Http.Reply r = http.get(backend.httpAddress(id), "/v1/nodes?stale=true");
            if (!r.ok()) continue;
            for (JsonNode n : r.body().path("nodes")) {
                if (n.path("online").asBoolean() && !n.path("agentAddress").asText().isEmpty()) out.add(n.path("nodeId").asText());
            }
            return out;
        }
        return out;
    }

    public void stop() {
        stop = true;
    }

    /** Runs one client until {@link #stop()} or {@code deadlineMs}; every loop iteration is one request. */
    public void client(int index, long deadlineMs) {
        Random rnd = new Random(seed * 31 + index);
        String process = "c" + index;
        List<String> ids = backend.ids();
        Map<String, Long> avoidUntil = new java.util.HashMap<>();
        while (!stop && System.currentTimeMillis() < deadlineMs) {
            // Like a real client, skip for a while a replica that just timed out on us (it may be paused).
            List<String> usable = new ArrayList<>();
            for (String id : ids) if (avoidUntil.getOrDefault(id, 0L) <= System.currentTimeMillis()) usable.add(id);
            if (usable.isEmpty()) usable = ids;
            String replica = usable.get(rnd.nextInt(usable.size()));
            long before = System.currentTimeMillis();
            int dice = rnd.nextInt(100);
            if (dice < 35 || jobIds.isEmpty()) {
                submit(process, replica, rnd);
            } else if (dice < 62) {
                read(process, replica, jobIds.get(rnd.nextInt(jobIds.size())));
            } else if (dice < 77) {
                cancel(process, replica, jobIds.get(rnd.nextInt(jobIds.size())), rnd);
            } else if (dice < 85) {
                failCard(process, replica, nodes.get(rnd.nextInt(nodes.size())), rnd.nextInt(CARDS_PER_NODE), false);
            } else if (dice < 94) {
                List<String> failed = new ArrayList<>(failedCards);
                if (!failed.isEmpty()) {
                    String[] c = failed.get(rnd.nextInt(failed.size())).split("/");
                    failCard(process, replica, c[0], Integer.parseInt(c[1]), true);
                }
            } else if (dice < 97) {
                if (drained.isEmpty()) drain(process, replica, nodes.get(rnd.nextInt(nodes.size())));
            } else {
                for (String n : drained) uncordon(process, replica, n);
            }
            if (System.currentTimeMillis() - before >= TIMEOUT_AVOID_MILLIS) avoidUntil.put(replica, System.currentTimeMillis() + 3_000);
            sleep(10 + rnd.nextInt(30));
        }
    }

    /** A request that took this long marks its replica as one to avoid for a few seconds. */
    static final long TIMEOUT_AVOID_MILLIS = 2_500;

    void submit(String process, String replica, Random rnd) {
        long k = keys.incrementAndGet();
        String key = "k" + seed + "-" + k;
        boolean impossible = rnd.nextInt(50) == 0;
        int cards = impossible ? 64 : 1 << rnd.nextInt(3);
        String spec = "{\"name\":\"w" + k + "\",\"tenant\":\"t" + (k % 2) + "\",\"tasks\":1,\"cardsPerTask\":" + cards
                + ",\"command\":" + (agents ? AGENT_WORKER : "[\"true\"]") + ",\"restart\":{\"maxRestarts\":" + MAX_RESTARTS + ",\"backoffSeconds\":0}}";
        ObjectNode args = Http.JSON.createObjectNode().put("key", key).put("cards", cards);
        // An unknown outcome is retried with the same key (at most twice): a retry must never make a second job.
        for (int attempt = 0; attempt < 3 && !stop; attempt++) {
            Op op = call(process, "submit", replica, "/v1/jobs", spec, key, args);
            if (op.ok()) {
                String jobId = op.result().path("jobId").asText();
                if (jobs.putIfAbsent(jobId, key) == null) jobIds.add(jobId);
                readElsewhere(process, replica, jobId, rnd);
                return;
            }
            if (!op.type().equals(Op.INFO)) return;
            sleep(100);
        }
    }

    void read(String process, String replica, String jobId) {
        long invNs = history.nowNs();
        long invMs = System.currentTimeMillis();
        Http.Reply r = http.get(backend.httpAddress(replica), "/v1/jobs/" + jobId);
        String type;
        ObjectNode result = Http.JSON.createObjectNode().put("status", r.status());
        if (r.ok()) {
            type = Op.OK;
            result.put("state", r.body().path("state").asText());
            result.put("attempt", r.body().path("attempt").asLong());
        } else if (r.status() == 404) {
            type = Op.OK;
            result.put("state", "ABSENT");
        } else {
            type = Op.INFO;
            result.set("error", r.body());
        }
        history.record(process, "read", type, replica, invNs, invMs, Http.JSON.createObjectNode().put("jobId", jobId), result);
    }

    void cancel(String process, String replica, String jobId, Random rnd) {
        Op op = call(process, "cancel", replica, "/v1/jobs/" + jobId + "/cancel", "{\"reason\":\"chaos\"}", null,
                Http.JSON.createObjectNode().put("jobId", jobId));
        if (op.ok()) readElsewhere(process, replica, jobId, rnd);
    }

    /** Half the time, read a job just written through another replica at once: a stale read shows up here. */
    private void readElsewhere(String process, String replica, String jobId, Random rnd) {
        if (rnd.nextBoolean()) return;
        List<String> others = new ArrayList<>(backend.ids());
        others.remove(replica);
        if (!others.isEmpty()) read(process, others.get(rnd.nextInt(others.size())), jobId);
    }

    void failCard(String process, String replica, String node, int card, boolean healthy) {
        Op op = call(process, healthy ? "heal-card" : "fail-card", replica, "/v1/debug/fail-card",
                "{\"nodeId\":\"" + node + "\",\"card\":" + card + ",\"healthy\":" + healthy + "}", null,
                Http.JSON.createObjectNode().put("nodeId", node).put("card", card));
        if (op.ok() && !healthy) failedCards.add(node + "/" + card);
        if (op.ok() && healthy) failedCards.remove(node + "/" + card);
    }

    void drain(String process, String replica, String node) {
        Op op = call(process, "drain", replica, "/v1/nodes/" + node + "/drain", "{\"reason\":\"chaos\"}", null,
                Http.JSON.createObjectNode().put("nodeId", node));
        if (op.ok()) drained.add(node);
    }

    void uncordon(String process, String replica, String node) {
        Op op = call(process, "uncordon", replica, "/v1/nodes/" + node + "/uncordon", "{}", null,
                Http.JSON.createObjectNode().put("nodeId", node));
        if (op.ok()) drained.remove(node);
    }

    /** One write: ok on 2xx, fail on a definite refusal (400/404/409), info otherwise. */
    Op call(String process, String f, String replica, String path, String body, String key, ObjectNode args) {
        long invNs = history.nowNs();
        long invMs = System.currentTimeMillis();
        Http.Reply r = key == null ? http.post(backend.httpAddress(replica), path, body)
                : http.post(backend.httpAddress(replica), path, body, "Idempotency-Key", key);
        // Connection refused: the request never left this host, so it definitely did not happen.
        boolean refused = r.status() == -1 && r.body().path("error").asText().startsWith("java.net.ConnectException");
        String type = r.ok() ? Op.OK : r.definiteFailure() || refused ? Op.FAIL : Op.INFO;
        ObjectNode result = Http.JSON.createObjectNode().put("status", r.status());
        if (r.ok()) {
            result.setAll((ObjectNode) (r.body().isObject() ? r.body() : Http.JSON.createObjectNode()));
        } else {
            result.set("error", r.body());
        }
        return history.record(process, f, type, replica, invNs, invMs, args, result);
    }

    /**
     * The final phase, after every fault has healed: heal the failed cards, uncordon the nodes, and cancel every
     * live job that was never interrupted, so that every interrupted job has room to come back. Bounded by
     * {@code timeoutMillis}; returns the wall-clock time the phase ended (the liveness bound starts there).
     */
    public long heal(long timeoutMillis, Set<String> interrupted) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        List<String> ids = backend.ids();
        Random rnd = new Random(seed);
        for (String c : new ArrayList<>(failedCards)) {
            String[] p = c.split("/");
            for (int i = 0; i < 20 && failedCards.contains(c) && System.currentTimeMillis() < deadline; i++) {
                failCard("final", ids.get(rnd.nextInt(ids.size())), p[0], Integer.parseInt(p[1]), true);
                if (failedCards.contains(c)) Thread.sleep(200);
            }
        }
        for (String node : nodes) {
            for (int i = 0; i < 20 && System.currentTimeMillis() < deadline; i++) {
                Op op = call("final", "uncordon", ids.get(rnd.nextInt(ids.size())), "/v1/nodes/" + node + "/uncordon", "{}", null,
                        Http.JSON.createObjectNode().put("nodeId", node));
                if (op.ok() || op.type().equals(Op.FAIL)) break;
                Thread.sleep(200);
            }
            drained.remove(node);
        }
        for (String jobId : jobIds) {
            if (interrupted.contains(jobId)) continue;
            for (int i = 0; i < 20 && System.currentTimeMillis() < deadline; i++) {
                Op op = call("final", "cancel", ids.get(rnd.nextInt(ids.size())), "/v1/jobs/" + jobId + "/cancel",
                        "{\"reason\":\"final phase\"}", null, Http.JSON.createObjectNode().put("jobId", jobId));
                if (!op.type().equals(Op.INFO)) break;
                Thread.sleep(200);
            }
        }
        return System.currentTimeMillis();
    }

    /** Job ids of every acknowledged submit. */
    public List<String> jobIds() {
        return List.copyOf(jobIds);
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public static JsonNode empty() {
        return Http.JSON.createObjectNode();
    }
}
