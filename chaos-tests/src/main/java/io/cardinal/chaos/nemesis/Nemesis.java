package io.cardinal.chaos.nemesis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.chaos.history.History;
import io.cardinal.chaos.history.Http;
import io.cardinal.chaos.history.Op;
import io.cardinal.chaos.host.Backend;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Faults on a seeded schedule: each step picks one fault from the enabled set, holds it for a random time, heals
 * it, and waits a quiet gap. Every fault is recorded in the history (f = "nemesis", from start to heal).
 * {@link #healAll()} undoes everything (resume, restart, remove network rules) before the final checks.
 */
public final class Nemesis {
    /** Every fault, by name; which ones a backend can run depends on its capabilities. */
    public static final List<String> ALL = List.of("kill-leader", "kill-random", "kill-majority", "pause-leader", "pause-random",
            "pause-followers", "kill-leader-while-isolated", "partition-halves", "partition-leader", "partition-bridge",
            "partition-one-way", "loss", "slow-link", "clock-skew", "disk-stall", "disk-full", "agent-crash", "agent-partition");
    public static final List<String> NEEDS_NETWORK = List.of("partition-halves", "partition-leader", "partition-bridge",
            "partition-one-way", "loss");
    /** Faults on node agents: they need a run with agents ({@code --agents N}). */
    public static final List<String> NEEDS_AGENTS = List.of("agent-crash", "agent-partition");
    /** Fault -> the backend capability it needs (faults not listed need only kill/pause, or the server's test hooks). */
    static final Map<String, String> NEEDS = needs();
    /** disk-full leaves this much free: below the servers' default minFreeDiskMiB (64), so the leader must refuse writes. */
    public static final long DISK_FULL_LEAVE_MIB = 16;
    /** kill-leader waits at most this long for every replica to follow one leader before it kills. */
    static final long HEALTHY_WAIT_MILLIS = 30_000;

    private final Backend backend;
    private final History history;
    private final Http http;
    private final Random rnd;
    private final List<String> faults;
    private final Set<String> paused = new HashSet<>();
    private final Set<String> killed = new HashSet<>();
    private final Set<String> crashedAgents = new HashSet<>();
    private final List<Long> leaderKillsMs = Collections.synchronizedList(new ArrayList<>());
    private final Set<String> skewed = new HashSet<>();
    /** (killed id, ms just before the kill was sent, ms when the backend confirmed it dead) */
    public interface LeaderKillListener {
        void killed(String id, long killMs, long deadMs);
    }

    private volatile LeaderKillListener onLeaderKilled = (id, ms, dead) -> { };
    private volatile boolean stop;

    public Nemesis(Backend backend, History history, Http http, long seed, List<String> faults) {
        this.backend = backend;
        this.history = history;
        this.http = http;
        this.rnd = new Random(seed ^ 0x5DEECE66DL);
        this.faults = List.copyOf(faults);
        for (String f : faults) {
            String why = refusal(f, backend.name(), backend.capabilities());
            if (why != null) throw new IllegalArgumentException(why);
        }
    }

    private static Map<String, String> needs() {
        Map<String, String> m = new HashMap<>();
        for (String f : NEEDS_NETWORK) m.put(f, Backend.NETWORK);
        m.put("slow-link", Backend.SHAPE);
        m.put("disk-stall", Backend.DISK);
        m.put("disk-full", Backend.DISK);
        m.put("agent-crash", Backend.AGENTS);
        // Cutting an agent off from the replicas needs the agent to have an address of its own.
        m.put("agent-partition", Backend.AGENT_NETWORK);
        return Map.copyOf(m);
    }

    /** Null if a backend with {@code caps} can run {@code fault}, else a message saying why not. */
    public static String refusal(String fault, String backendName, Set<String> caps) {
        if (!ALL.contains(fault)) return "unknown nemesis " + fault + "; known: " + ALL;
        String need = NEEDS.get(fault);
        if (need == null || caps.contains(need)) return null;
        String what = switch (need) {
            case Backend.NETWORK -> "a backend where each host has its own address (containers, netns)";
            case Backend.SHAPE -> "a backend that can shape a host's own interface with tc (containers, netns; netem latency is not in this kernel, so this is an htb rate limit)";
            case Backend.DISK -> "a backend with each data dir on its own loop-mounted filesystem and blkio cgroups (local, containers or netns, as root)";
            case Backend.AGENTS -> "node agents in the run (--agents N with N > 0)";
            case Backend.AGENT_NETWORK -> "node agents (--agents N) each on its own address, to cut one off from the replicas "
                    + "(containers or netns; on local, agents and replicas share loopback)";
            default -> need;
        };
        return "nemesis " + fault + " needs " + what + "; backend " + backendName + " has " + new java.util.TreeSet<>(caps);
    }

    /** The faults a backend can run. */
    public static List<String> supported(Backend b) {
        return supported(b.capabilities());
    }

    public static List<String> supported(Set<String> caps) {
        List<String> out = new ArrayList<>();
        for (String f : ALL) if (refusal(f, "", caps) == null) out.add(f);
        return out;
    }

    /** Called after each kill-leader. */
    public void onLeaderKilled(LeaderKillListener listener) {
        this.onLeaderKilled = listener;
    }

    public List<Long> leaderKillsMs() {
        return List.copyOf(leaderKillsMs);
    }

    public void stop() {
        stop = true;
    }

    /** Runs faults until {@code endMs} (or {@link #stop()}); always leaves every fault healed. */
    public void run(long endMs, long minHoldMs, long maxHoldMs, long minGapMs, long maxGapMs) {
        sleepUntil(Math.min(endMs, System.currentTimeMillis() + minGapMs));
        while (!stop && System.currentTimeMillis() + minHoldMs < endMs && !faults.isEmpty()) {
            String fault = faults.get(rnd.nextInt(faults.size()));
            long hold = minHoldMs + (long) (rnd.nextDouble() * (maxHoldMs - minHoldMs));
            long invNs = history.nowNs();
            long invMs = System.currentTimeMillis();
            ObjectNode args = Http.JSON.createObjectNode().put("fault", fault).put("holdMs", hold);
            ArrayNode targets = args.putArray("targets");
            String type = Op.INFO;
            ObjectNode result = Http.JSON.createObjectNode();
            try {
                for (String t : inject(fault, hold, endMs)) targets.add(t);
                result.put("outcome", targets.isEmpty() ? "skipped: no target (no leader the replicas agree on" + (fault.equals("kill-leader") ? ", with every replica caught up)" : ")") : "healed");
                if (lastKillNote != null) result.put("kill", lastKillNote);
                if (lastLinkStats != null) result.put("link", lastLinkStats);
                lastLinkStats = null;
                lastKillNote = null;
                String full = takeDiskFullReply();
                if (full != null) result.put("writeToFullLeader", full);
            } catch (Exception e) {
                result.put("outcome", "error: " + e);
            } finally {
                try {
                    healAll();
                } catch (Exception e) {
                    result.put("healError", e.toString());
                }
                if (lastDiskHeal != null) result.put("diskThrottle", lastDiskHeal);
                lastDiskHeal = null;
            }
            history.record("nemesis", "nemesis", type, "", invNs, invMs, args, result);
            long gap = minGapMs + (long) (rnd.nextDouble() * (maxGapMs - minGapMs));
            sleepUntil(Math.min(endMs, System.currentTimeMillis() + gap));
        }
    }

    /** Applies one fault, holds it, returns its targets (healing is left to {@link #healAll()}). */
    List<String> inject(String fault, long holdMs, long endMs) throws Exception {
        List<String> ids = backend.ids();
        // A failover is only measured from a healthy cluster: every replica follows the leader that is killed
        // (else a kill right after the previous victim restarts is a loss of majority, not a failover).
        String leader = fault.equals("kill-leader") ? healthyLeader(Math.min(endMs, System.currentTimeMillis() + HEALTHY_WAIT_MILLIS)) : leader();
        List<String> others = new ArrayList<>(ids);
        if (leader != null) others.remove(leader);
        Collections.shuffle(others, rnd);
        List<String> targets = new ArrayList<>();
        long until = Math.min(endMs, System.currentTimeMillis() + holdMs);
        switch (fault) {
            case "kill-leader" -> {
                if (leader == null) return targets;
                long killMs = System.currentTimeMillis();
                leaderKillsMs.add(killMs);
                kill(leader);
                long deadMs = System.currentTimeMillis();
                targets.add(leader);
                lastKillNote = "kill started at " + killMs + ", confirmed dead after " + (deadMs - killMs) + " ms";
                onLeaderKilled.killed(leader, killMs, deadMs);
            }
            case "kill-random" -> {
                String t = ids.get(rnd.nextInt(ids.size()));
                kill(t);
                targets.add(t);
            }
            case "kill-majority" -> {
                List<String> all = new ArrayList<>(ids);
                Collections.shuffle(all, rnd);
                for (String t : all.subList(0, ids.size() / 2 + 1)) {
                    kill(t);
                    targets.add(t);
                }
            }
            case "pause-leader" -> {
                if (leader == null) return targets;
                pause(leader);
                targets.add(leader);
            }
            case "pause-random" -> {
                String t = ids.get(rnd.nextInt(ids.size()));
                pause(t);
                targets.add(t);
            }
            case "pause-followers" -> {
                for (String t : others) {
                    pause(t);
                    targets.add(t);
                }
            }
            case "kill-leader-while-isolated" -> {
                // The leader keeps running while no follower hears it, then dies before they come back: whatever it
                // acknowledged in between must have been committed, or an acknowledged write is lost.
                if (leader == null) return targets;
                targets.add(leader);
                if (backend.capabilities().contains(Backend.NETWORK)) {
                    for (String o : others) {
                        backend.block(leader, o);
                        backend.block(o, leader);
                    }
                } else {
                    for (String o : others) pause(o);
                }
                // Ratis steps an unheard leader down after about one election timeout (1 s by default), so the
                // window in which it still acknowledges is short: kill it inside that window.
                sleepUntil(Math.min(until, System.currentTimeMillis() + 900));
                kill(leader);
                for (String o : List.copyOf(paused)) resume(o);
                backend.healNetwork();
                // Let the others elect a leader before the old one returns.
                sleepUntil(System.currentTimeMillis() + 3000);
                return targets;
            }
            case "partition-halves" -> {
                List<String> all = new ArrayList<>(ids);
                Collections.shuffle(all, rnd);
                List<String> a = all.subList(0, all.size() / 2);
                List<String> b = all.subList(all.size() / 2, all.size());
                for (String x : a) for (String y : b) {
                    backend.block(x, y);
                    backend.block(y, x);
                }
                targets.add(a + "|" + b);
            }
            case "partition-leader" -> {
                if (leader == null) return targets;
                for (String o : others) {
                    backend.block(leader, o);
                    backend.block(o, leader);
                }
                targets.add(leader);
            }
            case "partition-bridge" -> {
                // Two halves that only one replica (the bridge) can talk to both of.
                List<String> all = new ArrayList<>(ids);
                Collections.shuffle(all, rnd);
                String bridge = all.get(0);
                List<String> rest = all.subList(1, all.size());
                List<String> a = rest.subList(0, rest.size() / 2);
                List<String> b = rest.subList(rest.size() / 2, rest.size());
                for (String x : a) for (String y : b) {
                    backend.block(x, y);
                    backend.block(y, x);
                }
                targets.add("bridge " + bridge + ": " + a + "|" + b);
            }
            case "partition-one-way" -> {
                if (leader == null || others.isEmpty()) return targets;
                // The leader cannot hear its followers, but they hear it.
                for (String o : others) backend.block(o, leader);
                targets.add(others + "->" + leader);
            }
            case "loss" -> {
                String t = ids.get(rnd.nextInt(ids.size()));
                backend.loss(t, 0.3);
                targets.add(t + " 30%");
            }
            case "slow-link" -> {
                // What the replica sends queues behind a slow link (htb + deep FIFO): delay, not loss.
                String t = rnd.nextBoolean() && leader != null ? leader : ids.get(rnd.nextInt(ids.size()));
                int kbit = List.of(128, 256, 512).get(rnd.nextInt(3));
                backend.slowLink(t, kbit);
                targets.add(t + " " + kbit + "kbit");
                sleepUntil(until);
                // evidence the link was slowed: what went through the class, and how often it had to wait
                lastLinkStats = backend.linkStats(t);
            }
            case "clock-skew" -> {
                // The leader stamps times into commands, so its skew is the interesting one; a follower's matters
                // once it leads.
                // Only a replica that answers: one restarted after an earlier kill may still be starting (15-40 s
                // on a loaded host), and its HTTP port would refuse the hook.
                List<String> up = answering(ids);
                if (up.isEmpty()) return targets;
                String t = rnd.nextBoolean() && leader != null && up.contains(leader) ? leader : up.get(rnd.nextInt(up.size()));
                long offset = (rnd.nextBoolean() ? 1 : -1) * (2_000 + (long) rnd.nextInt(8_001));
                setClockOffset(t, offset);
                skewed.add(t);
                targets.add(t + " " + (offset > 0 ? "+" : "") + offset + "ms");
            }
            case "disk-stall" -> {
                String t = rnd.nextBoolean() && leader != null ? leader : ids.get(rnd.nextInt(ids.size()));
                backend.stallDisk(t);
                targets.add(t);
            }
            case "disk-full" -> {
                // The leader's disk: it must refuse writes (503, minFreeDiskMiB) while full and take them again after.
                if (leader == null) return targets;
                backend.fillDisk(leader, DISK_FULL_LEAVE_MIB);
                targets.add(leader + " " + DISK_FULL_LEAVE_MIB + "MiB free");
                sleepUntil(Math.min(until, System.currentTimeMillis() + 500));
                // Record what a write to the full leader gets: the server's disk check must answer it, clearly.
                // Only while it still leads (else a follower rightly forwards the write to a leader with space).
                if (!leads(leader)) {
                    lastDiskFullReply = "skipped: " + leader + " no longer leads";
                } else {
                    Http.Reply r = http.post(backend.httpAddress(leader), "/v1/quotas", "{\"tenant\":\"chaos-disk-full\",\"cards\":1}");
                    lastDiskFullReply = (r.ok() && !leads(leader) ? "skipped: " + leader + " lost the leadership during the write: " : "")
                            + r.status() + " " + r.body();
                }
            }
            case "agent-crash" -> {
                // The daemon dies (SIGKILL), its workers keep running orphaned; it comes back with the same data dir
                // after the hold and must fence them. A hold past the server's heartbeat TTL also makes the node lost.
                List<String> agents = busyFirst(backend.agentIds());
                String t = agents.get(rnd.nextInt(agents.size()));
                backend.kill9Agent(t);
                crashedAgents.add(t);
                targets.add(t);
            }
            case "agent-partition" -> {
                List<String> agents = busyFirst(backend.agentIds());
                String t = agents.get(rnd.nextInt(agents.size()));
                backend.isolateAgent(t);
                targets.add(t);
            }
            default -> throw new IllegalArgumentException(fault);
        }
        sleepUntil(until);
        return targets;
    }

    /**
     * The agents whose nodes hold allocated cards (as the first replica that answers /v1/nodes says), else all of
     * them: a crash or cut-off of an idle agent exercises nothing of the restart and fencing paths.
     */
    List<String> busyFirst(List<String> agents) {
        for (String id : backend.ids()) {
            Http.Reply r = http.get(backend.httpAddress(id), "/v1/nodes?stale=true");
            if (!r.ok()) continue;
            List<String> busy = new ArrayList<>();
            for (com.fasterxml.jackson.databind.JsonNode n : r.body().path("nodes")) {
                String node = n.path("nodeId").asText();
                if (agents.contains(node) && n.path("cardsAllocated").asInt() > 0) busy.add(node);
            }
            Collections.sort(busy); // the seeded pick must not depend on the reply's order
            return busy.isEmpty() ? agents : busy;
        }
        return agents;
    }

    private volatile String lastDiskFullReply;
    private volatile String lastDiskHeal;
    private volatile String lastKillNote;
    private volatile String lastLinkStats;

    /** What the last disk-full step's write to the full leader got (status and body), for the history. */
    String takeDiskFullReply() {
        String r = lastDiskFullReply;
        lastDiskFullReply = null;
        return r;
    }

    /** The replicas whose HTTP API answers /v1/status now, in id order. */
    private List<String> answering(List<String> ids) {
        List<String> up = new ArrayList<>();
        for (String id : ids) if (http.get(backend.httpAddress(id), "/v1/status").status() == 200) up.add(id);
        return up;
    }

    private boolean leads(String id) {
        Http.Reply s = http.get(backend.httpAddress(id), "/v1/status");
        return s.status() == 200 && s.body().path("leaderReady").asBoolean();
    }

    /** A few tries: a replica on a starved host may miss one request's timeout, and an unhealed skew spoils the run. */
    private void setClockOffset(String id, long offsetMillis) {
        Http.Reply r = null;
        for (int i = 0; i < 3; i++) {
            r = http.post(backend.httpAddress(id), "/v1/debug/clock-offset", "{\"offsetMillis\":" + offsetMillis + "}");
            if (r.ok()) return;
            sleepUntil(System.currentTimeMillis() + 500);
        }
        throw new IllegalStateException("clock-offset on " + id + ": HTTP " + r.status() + " " + r.body());
    }

    private void kill(String id) throws Exception {
        if (paused.remove(id)) backend.resume(id);
        backend.kill9(id);
        killed.add(id);
    }

    private void pause(String id) throws Exception {
        if (killed.contains(id)) return;
        backend.pause(id);
        paused.add(id);
    }

    private void resume(String id) throws Exception {
        backend.resume(id);
        paused.remove(id);
    }

    /**
     * Heals every fault: resumes paused replicas, removes network rules and shaping (agents' too), disk throttles and
     * ballast, clock offsets, restarts killed replicas and crashed agents.
     */
    public void healAll() throws Exception {
        for (String id : List.copyOf(paused)) resume(id);
        backend.healNetwork();
        String disk = backend.healDisks();
        if (disk != null) lastDiskHeal = disk;
        for (String id : List.copyOf(skewed)) {
            // a killed replica restarts with no offset
            if (!killed.contains(id)) setClockOffset(id, 0);
            skewed.remove(id);
        }
        for (String id : new LinkedHashSet<>(killed)) {
            backend.start(id);
            killed.remove(id);
        }
        for (String n : new LinkedHashSet<>(crashedAgents)) {
            backend.startAgent(n);
            crashedAgents.remove(n);
        }
    }

    /**
     * The leader as a majority sees it, or null: a replica whose controller is ready and whose leadership (its id
     * and term) a majority of all replicas report. One replica's {@code leaderReady} alone is not enough: just
     * after a change the old leader may still say so.
     */
    public String leader() {
        return leader(backend.ids().size() / 2 + 1);
    }

    /**
     * Waits (until {@code untilMs}) for a healthy cluster: a leader every replica follows at the same term, and every
     * replica has applied all that leader had committed when asked. A replica still catching up after its own
     * restart would make a kill of the leader a double fault, not a failover (round 4 of the failover figures:
     * the slowest kill came 0.9 s after a survivor restarted, 35 entries behind). Null if none by then.
     */
    String healthyLeader(long untilMs) {
        while (!stop) {
            String l = leader(backend.ids().size());
            if (l != null && caughtUp(l, untilMs)) return l;
            if (System.currentTimeMillis() >= untilMs) return null;
            sleepUntil(Math.min(untilMs, System.currentTimeMillis() + 200));
        }
        return null;
    }

    /** True once every replica's applied index reaches the leader's commit index as read first (bounded). */
    private boolean caughtUp(String leader, long untilMs) {
        Http.Reply lr = http.get(backend.httpAddress(leader), "/v1/status");
        if (lr.status() != 200) return false;
        long committed = lr.body().path("commitIndex").asLong();
        for (String id : backend.ids()) {
            while (true) {
                Http.Reply r = http.get(backend.httpAddress(id), "/v1/status");
                if (r.status() == 200 && r.body().path("appliedIndex").asLong() >= committed) break;
                if (stop || System.currentTimeMillis() >= untilMs) return false;
                sleepUntil(Math.min(untilMs, System.currentTimeMillis() + 100));
            }
        }
        return true;
    }

    private String leader(int quorum) {
        Map<String, JsonNode> status = new HashMap<>();
        for (String id : backend.ids()) {
            if (paused.contains(id) || killed.contains(id)) continue;
            Http.Reply r = http.get(backend.httpAddress(id), "/v1/status");
            if (r.status() == 200) status.put(id, r.body());
        }
        for (Map.Entry<String, JsonNode> c : status.entrySet()) {
            if (!c.getValue().path("leaderReady").asBoolean()) continue;
            long term = c.getValue().path("term").asLong();
            int agree = 0;
            for (JsonNode s : status.values()) {
                if (s.path("leaderId").asText().equals(c.getKey()) && s.path("term").asLong() == term) agree++;
            }
            if (agree >= quorum) return c.getKey();
        }
        return null;
    }

    static void sleepUntil(long ms) {
        long d;
        while ((d = ms - System.currentTimeMillis()) > 0) {
            try {
                Thread.sleep(Math.min(d, 200));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
