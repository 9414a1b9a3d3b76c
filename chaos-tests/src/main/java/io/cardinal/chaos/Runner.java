package io.cardinal.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.chaos.checker.AgentAttemptsChecker;
import io.cardinal.chaos.checker.AttemptFencingChecker;
import io.cardinal.chaos.checker.CardExclusivityChecker;
import io.cardinal.chaos.checker.CheckResult;
import io.cardinal.chaos.checker.ConvergenceChecker;
import io.cardinal.chaos.checker.DiskFullChecker;
import io.cardinal.chaos.checker.DurabilityChecker;
import io.cardinal.chaos.checker.EventSequenceChecker;
import io.cardinal.chaos.checker.LinearizabilityChecker;
import io.cardinal.chaos.checker.LivenessChecker;
import io.cardinal.chaos.checker.NemesisChecker;
import io.cardinal.chaos.history.History;
import io.cardinal.chaos.history.Http;
import io.cardinal.chaos.history.Op;
import io.cardinal.chaos.host.Backend;
import io.cardinal.chaos.host.ContainerBackend;
import io.cardinal.chaos.host.LocalBackend;
import io.cardinal.chaos.host.NetnsBackend;
import io.cardinal.chaos.nemesis.Nemesis;
import io.cardinal.chaos.report.Timeline;
import io.cardinal.chaos.workload.FailoverProber;
import io.cardinal.chaos.workload.Workload;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** One chaos run: start the hosts, run workload and nemesis, heal, check, write the verdict. Every wait is bounded. */
public final class Runner {
    public static final long LIVENESS_BOUND_MILLIS = 20_000;
    static final long CONVERGE_MILLIS = 90_000;
    /**
     * Each fault is held a seeded time in [MIN, MAX] ms (longer when an injected bug needs it), then healed.
     * -Dcardinal.chaos.minHoldMillis / maxHoldMillis override them (agent-partition outlasts the agents' 9 s self-fence
     * only with longer holds).
     */
    static final long MIN_HOLD_MILLIS = Long.getLong("cardinal.chaos.minHoldMillis", 2_000);
    static final long MAX_HOLD_MILLIS = Long.getLong("cardinal.chaos.maxHoldMillis", 6_000);

    private final RunConfig cfg;
    private final PrintStream log;

    public Runner(RunConfig cfg, PrintStream log) {
        this.cfg = cfg;
        this.log = log;
    }

    /** Runs and returns verdict.json's content. */
    public ObjectNode run() throws Exception {
        Files.createDirectories(cfg.out());
        Path work = cfg.out().resolve("hosts");
        List<String> props = new ArrayList<>();
        if (cfg.injectBug() != null) props.add("-Dcardinal.injectBug=" + cfg.injectBug());
        // test hooks (the clock-offset endpoint of clock-skew): a chaos run is a test
        props.add("-Dcardinal.testHooks=true"); // io.cardinal.state.WallClock.TEST_HOOKS_PROPERTY (chaos-tests does not depend on the server)
        Http http = new Http(Duration.ofSeconds(3));
        ObjectNode verdict = Http.JSON.createObjectNode();
        log.println("chaos: backend " + cfg.backend() + ", profile " + cfg.profile() + ", seed " + cfg.seed() + ", " + cfg.timeSeconds()
                + " s, nemeses " + cfg.nemeses() + (cfg.injectBug() == null ? "" : ", injected bug " + cfg.injectBug()));
        try (Backend backend = backend(work, props); History history = new History(cfg.out().resolve("history.jsonl"))) {
            // Killed (SIGTERM, a timeout): still remove the processes/containers, loop mounts and cgroups it made.
            Thread cleanup = new Thread(backend::close, "chaos-cleanup");
            Runtime.getRuntime().addShutdownHook(cleanup);
            try {
                runIn(backend, history, http, verdict);
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(cleanup);
                } catch (IllegalStateException shuttingDown) {
                    // the hook is running already
                }
            }
        }
        Files.writeString(cfg.out().resolve("verdict.json"),
                Http.JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(verdict));
        return verdict;
    }

    private void runIn(Backend backend, History history, Http http, ObjectNode verdict) throws Exception {
        {
            backend.startAll();
            awaitLeader(backend, http, 120_000);
            if (cfg.agents() > 0 && backend.agentIds().isEmpty()) {
                log.println("chaos: the " + backend.name() + " backend cannot run agents; this run has none (--agents 0)");
            }
            backend.startAgents();
            Workload workload = new Workload(backend, history, http, cfg.seed());
            workload.setup(60_000);
            Nemesis nemesis = new Nemesis(backend, history, http, cfg.seed(), cfg.nemeses());
            FailoverProber prober = new FailoverProber(backend, history);
            nemesis.onLeaderKilled(prober::leaderKilled);
            Thread probe = start("failover-prober", prober::run);
            long startMs = System.currentTimeMillis();
            long endMs = startMs + cfg.timeSeconds() * 1000;
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < cfg.clients(); i++) {
                int idx = i;
                threads.add(start("client-" + i, () -> workload.client(idx, endMs)));
            }
            if (MIN_HOLD_MILLIS < 0 || MAX_HOLD_MILLIS < MIN_HOLD_MILLIS) {
                throw new IllegalArgumentException("-Dcardinal.chaos.minHoldMillis / maxHoldMillis: need 0 <= min <= max, got "
                        + MIN_HOLD_MILLIS + " and " + MAX_HOLD_MILLIS);
            }
            long minHoldMs = Math.max(MIN_HOLD_MILLIS, cfg.injectBug() == null ? 0 : Bugs.ALL.get(cfg.injectBug()).minHoldMillis());
            long maxHoldMs = Math.max(MAX_HOLD_MILLIS, minHoldMs + 2_000);
            Thread nem = start("nemesis", () -> nemesis.run(endMs - 5_000, minHoldMs, maxHoldMs, 2_000, 5_000));
            for (Thread t : threads) t.join(cfg.timeSeconds() * 1000 + 60_000);
            nemesis.stop();
            nem.join(30_000);
            // the last kill's probe finishes (bounded by FailoverProber.GIVE_UP_MILLIS) before the heal restarts anyone
            prober.awaitIdle(FailoverProber.GIVE_UP_MILLIS + 5_000);
            prober.stop();
            probe.join(5_000);
            nemesis.healAll();
            log.println("chaos: workload done (" + history.ops().size() + " ops); every fault healed");

            // After heal the cluster must have a leader again; if not, that is a liveness failure, still checked below.
            String leader = null;
            String noLeader = null;
            long healedAt = System.currentTimeMillis();
            Map<String, Integer> free = new TreeMap<>();
            OnAgents onAgents = new OnAgents(Map.of(), Map.of());
            try {
                leader = awaitLeader(backend, http, 120_000);
                Set<String> interrupted = new HashSet<>();
                for (JsonNode e : http.events(backend.httpAddress(leader), 1000)) {
                    if (e.path("type").asText().equals("JobInterrupted")) interrupted.add(e.path("jobId").asText());
                }
                healedAt = workload.heal(60_000, interrupted);
                leader = awaitLeader(backend, http, 60_000);
                awaitNoInterrupted(backend, http, leader, healedAt + LIVENESS_BOUND_MILLIS);
                if (!backend.agentIds().isEmpty()) onAgents = awaitRunningOnAgents(backend, http, leader, healedAt + LIVENESS_BOUND_MILLIS);
                free = freeCards(backend, http);
            } catch (Exception e) {
                noLeader = "no leader (or it stopped answering) after heal: " + e;
                log.println("chaos: " + noLeader);
            }

            long convergeStart = System.currentTimeMillis();
            Map<String, JsonNode> status = awaitConverged(backend, http, CONVERGE_MILLIS);
            long waited = System.currentTimeMillis() - convergeStart;
            // A replica that cannot serve its log after heal (it stopped on an invariant, or cannot restart) is
            // reported by the convergence checker; the others' logs are still checked.
            Map<String, List<JsonNode>> events = new TreeMap<>();
            for (String id : backend.ids()) {
                try {
                    events.put(id, http.events(backend.httpAddress(id), 1000));
                } catch (Exception e) {
                    log.println("chaos: replica " + id + " did not serve its events after heal: " + e);
                }
            }
            List<Op> ops = history.ops();
            Map<String, CheckResult> checks = new LinkedHashMap<>();
            put(checks, CardExclusivityChecker.check(events));
            put(checks, DurabilityChecker.check(ops, events));
            put(checks, LinearizabilityChecker.check(ops));
            put(checks, ConvergenceChecker.check(status, waited));
            put(checks, EventSequenceChecker.check(events));
            Map<String, List<String>> attempts = AgentAttemptsChecker.read(attemptsLogs(backend));
            if (backend.agentIds().isEmpty()) {
                put(checks, AgentAttemptsChecker.checkLines(Map.of(), System.currentTimeMillis()).put("note",
                        "no agents in this run (--agents 0): nothing ran; the checker is tested on synthetic logs in the unit tests"));
            } else {
                put(checks, AgentAttemptsChecker.checkLines(attempts, System.currentTimeMillis()));
            }
            CheckResult live = leader != null && events.containsKey(leader)
                    ? LivenessChecker.check(events.get(leader), healedAt, LIVENESS_BOUND_MILLIS, free)
                    : new CheckResult(LivenessChecker.NAME).error(noLeader != null ? noLeader : "the leader did not serve its events after heal");
            if (!backend.agentIds().isEmpty() && noLeader == null) {
                LivenessChecker.checkAgents(live, onAgents.holding(), onAgents.running(), LIVENESS_BOUND_MILLIS);
            }
            put(checks, live);
            put(checks, AttemptFencingChecker.check(events));
            put(checks, DiskFullChecker.check(ops));
            put(checks, NemesisChecker.check(ops));

            boolean valid = checks.values().stream().allMatch(CheckResult::valid);
            verdict.put("valid", valid);
            verdict.put("seed", cfg.seed());
            verdict.put("backend", cfg.backend());
            verdict.put("profile", cfg.profile());
            verdict.put("timeSeconds", cfg.timeSeconds());
            verdict.put("replicas", cfg.replicas());
            verdict.put("agents", backend.agentIds().size());
            if (cfg.injectBug() != null) verdict.put("injectBug", cfg.injectBug());
            ArrayNode nem2 = verdict.putArray("nemeses");
            cfg.nemeses().forEach(nem2::add);
            ObjectNode c = verdict.putObject("checkers");
            for (CheckResult r : checks.values()) c.set(r.name(), r.json());
            ArrayNode fo = verdict.putArray("failover_ms");
            for (long ms : prober.samplesMs()) fo.add(ms);
            verdict.put("failover_definition", "per kill-leader (from a healthy cluster: every replica followed the leader and had applied all it had committed): "
                    + "ms from just before SIGKILL to the acknowledgement of the failover prober's first write, written "
                    + "round-robin to the surviving replicas with " + FailoverProber.CONNECT_TIMEOUT_MILLIS + " ms connect / "
                    + FailoverProber.REQUEST_TIMEOUT_MILLIS + " ms request timeouts; failover_after_death_ms: the same "
                    + "acknowledgements from the moment the backend confirmed the leader dead (a lower bound)");
            ArrayNode fod = verdict.putArray("failover_after_death_ms");
            for (long ms : prober.afterDeathMs()) fod.add(ms);
            ArrayNode unrec = verdict.putArray("failover_unrecovered");
            prober.unrecovered().forEach(unrec::add);
            ArrayNode foc = verdict.putArray("failover_clients_ms");
            for (long ms : failovers(ops, nemesis.leaderKillsMs())) foc.add(ms);
            ObjectNode counts = verdict.putObject("ops");
            for (Op op : ops) counts.put(op.f() + ":" + op.type(), counts.path(op.f() + ":" + op.type()).asLong() + 1);
            verdict.put("reproduce", cfg.reproduceCommand());
            try {
                Timeline.write(ops, history.startMs(), cfg.out().resolve("timeline.png"));
            } catch (Exception | Error e) {
                log.println("chaos: could not draw the timeline: " + e);
            }
            backend.collectLogs(cfg.out().resolve("logs"));
        }
    }

    private Backend backend(Path work, List<String> props) throws Exception {
        boolean disks = cfg.nemeses().contains("disk-stall") || cfg.nemeses().contains("disk-full");
        return switch (cfg.backend()) {
            case "local" -> new LocalBackend(work, cfg.replicas(), props, disks, cfg.agents());
            case "containers" -> new ContainerBackend(work, cfg.replicas(), props, disks, cfg.agents());
            case "netns" -> new NetnsBackend(work, cfg.replicas(), props, disks, cfg.agents());
            default -> throw new IllegalArgumentException("backend " + cfg.backend() + " is not available (local, containers, netns)");
        };
    }

    private static Thread start(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void put(Map<String, CheckResult> m, CheckResult r) {
        m.put(r.name(), r);
    }

    /** The workload clients' view, for each leader kill: ms until the first client write invoked after it was acknowledged. */
    static List<Long> failovers(List<Op> ops, List<Long> killsMs) {
        List<Long> out = new ArrayList<>();
        for (long k : killsMs) {
            long best = Long.MAX_VALUE;
            for (Op op : ops) {
                if (op.isWrite() && op.ok() && op.invokeMs() >= k && !op.f().equals("probe")) best = Math.min(best, op.completeMs() - k);
            }
            if (best != Long.MAX_VALUE) out.add(best);
        }
        return out;
    }

    static String awaitLeader(Backend b, Http http, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < deadline) {
            for (String id : b.ids()) {
                Http.Reply r = http.get(b.httpAddress(id), "/v1/status");
                if (r.status() == 200 && r.body().path("leaderReady").asBoolean()) return id;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("no leader within " + timeoutMillis + " ms");
    }

    private static void awaitNoInterrupted(Backend b, Http http, String leader, long untilMs) throws InterruptedException {
        while (System.currentTimeMillis() < untilMs) {
            Http.Reply r = http.get(b.httpAddress(leader), "/v1/jobs?state=INTERRUPTED&limit=10000");
            if (r.ok() && r.body().path("jobs").isEmpty()) return;
            Thread.sleep(500);
        }
    }

    private static Map<String, Path> attemptsLogs(Backend b) {
        Map<String, Path> out = new TreeMap<>();
        for (String n : b.agentIds()) out.put(n, b.attemptsLog(n));
        return out;
    }

    /** Jobs that hold cards (PLACED, RUNNING, RESTARTING) -> their current attempt, from one replica's linearizable read. */
    static Map<String, Long> holdingJobs(Backend b, Http http, String leader) {
        Http.Reply r = http.get(b.httpAddress(leader), "/v1/jobs?limit=10000");
        if (!r.ok()) return null;
        Map<String, Long> out = new TreeMap<>();
        for (JsonNode j : r.body().path("jobs")) {
            String st = j.path("state").asText();
            if (st.equals("PLACED") || st.equals("RUNNING") || st.equals("RESTARTING")) out.put(j.path("jobId").asText(), j.path("attempt").asLong());
        }
        return out;
    }

    /** The last look of {@link #awaitRunningOnAgents}: jobs holding cards (job -> attempt) and attempts running on agents. */
    record OnAgents(Map<String, Long> holding, Map<String, Set<Long>> running) {
    }

    /**
     * Waits (until {@code untilMs}) for every job that holds cards to run its current attempt on some agent, as the
     * agents' attempts.log shows; returns the last look, which the liveness checker judges.
     */
    private static OnAgents awaitRunningOnAgents(Backend b, Http http, String leader, long untilMs) throws Exception {
        OnAgents last = new OnAgents(Map.of(), Map.of());
        while (true) {
            Map<String, Long> h = holdingJobs(b, http, leader);
            if (h != null) {
                Map<String, Set<Long>> running = AgentAttemptsChecker.runningAttempts(AgentAttemptsChecker.read(attemptsLogs(b)));
                last = new OnAgents(h, running);
                boolean all = true;
                for (Map.Entry<String, Long> e : h.entrySet()) {
                    if (!running.getOrDefault(e.getKey(), Set.of()).contains(e.getValue())) all = false;
                }
                if (all) return last;
            }
            if (System.currentTimeMillis() > untilMs) return last;
            Thread.sleep(500);
        }
    }

    private static Map<String, Integer> freeCards(Backend b, Http http) {
        Map<String, Integer> out = new TreeMap<>();
        for (String id : b.ids()) {
            Http.Reply r = http.get(b.httpAddress(id), "/v1/nodes");
            if (!r.ok()) continue;
            for (JsonNode n : r.body().path("nodes")) {
                boolean usable = n.path("online").asBoolean(true) && !n.path("cordoned").asBoolean(false);
                out.put(n.path("nodeId").asText(), usable ? n.path("cardsFree").asInt() : 0);
            }
            return out;
        }
        return out;
    }

    /** Waits (bounded) until every replica reports the same last event seq and state hash; returns the last statuses. */
    static Map<String, JsonNode> awaitConverged(Backend b, Http http, long timeoutMillis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        Map<String, JsonNode> last = new TreeMap<>();
        while (true) {
            last.clear();
            Set<String> hashes = new HashSet<>();
            boolean caughtUp = true;
            for (String id : b.ids()) {
                Http.Reply r = http.get(b.httpAddress(id), "/v1/status");
                last.put(id, r.status() == 200 ? r.body() : null);
                if (r.status() != 200) {
                    caughtUp = false;
                    continue;
                }
                if (r.body().path("appliedIndex").asLong() < r.body().path("commitIndex").asLong()) caughtUp = false;
                hashes.add(r.body().path("stateHash").asText() + "@" + r.body().path("lastEventSeq").asLong());
            }
            if (caughtUp && hashes.size() == 1) return last;
            if (System.currentTimeMillis() > deadline) return last;
            Thread.sleep(300);
        }
    }
}
