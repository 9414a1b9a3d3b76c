package io.cardinal.chaos.nemesis;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.chaos.history.History;
import io.cardinal.chaos.history.Http;
import io.cardinal.chaos.history.Op;
import io.cardinal.chaos.host.Backend;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
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
            "partition-one-way", "loss");
    public static final List<String> NEEDS_NETWORK = List.of("partition-halves", "partition-leader", "partition-bridge",
            "partition-one-way", "loss");

    private final Backend backend;
    private final History history;
    private final Http http;
    private final Random rnd;
    private final List<String> faults;
    private final Set<String> paused = new HashSet<>();
    private final Set<String> killed = new HashSet<>();
    private final List<Long> leaderKillsMs = Collections.synchronizedList(new ArrayList<>());
    private volatile boolean stop;

    public Nemesis(Backend backend, History history, Http http, long seed, List<String> faults) {
        this.backend = backend;
        this.history = history;
        this.http = http;
        this.rnd = new Random(seed ^ 0x5DEECE66DL);
        this.faults = List.copyOf(faults);
        for (String f : faults) {
            if (!ALL.contains(f)) throw new IllegalArgumentException("unknown nemesis " + f + "; known: " + ALL);
            if (NEEDS_NETWORK.contains(f) && !backend.capabilities().contains(Backend.NETWORK)) {
                throw new IllegalArgumentException("nemesis " + f + " needs a backend with its own address per host (containers); "
                        + backend.name() + " has " + backend.capabilities());
            }
        }
    }

    /** The faults a backend can run. */
    public static List<String> supported(Backend b) {
        List<String> out = new ArrayList<>();
        for (String f : ALL) if (!NEEDS_NETWORK.contains(f) || b.capabilities().contains(Backend.NETWORK)) out.add(f);
        return out;
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
                result.put("outcome", "healed");
            } catch (Exception e) {
                result.put("outcome", "error: " + e);
            } finally {
                try {
                    healAll();
                } catch (Exception e) {
                    result.put("healError", e.toString());
                }
            }
            history.record("nemesis", "nemesis", type, "", invNs, invMs, args, result);
            long gap = minGapMs + (long) (rnd.nextDouble() * (maxGapMs - minGapMs));
            sleepUntil(Math.min(endMs, System.currentTimeMillis() + gap));
        }
    }

    /** Applies one fault, holds it, returns its targets (healing is left to {@link #healAll()}). */
    List<String> inject(String fault, long holdMs, long endMs) throws Exception {
        List<String> ids = backend.ids();
        String leader = leader();
        List<String> others = new ArrayList<>(ids);
        if (leader != null) others.remove(leader);
        Collections.shuffle(others, rnd);
        List<String> targets = new ArrayList<>();
        long until = Math.min(endMs, System.currentTimeMillis() + holdMs);
        switch (fault) {
            case "kill-leader" -> {
                if (leader == null) return targets;
                leaderKillsMs.add(System.currentTimeMillis());
                kill(leader);
                targets.add(leader);
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
            default -> throw new IllegalArgumentException(fault);
        }
        sleepUntil(until);
        return targets;
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

    /** Heals every fault: resumes paused replicas, removes network rules, restarts killed replicas. */
    public void healAll() throws Exception {
        for (String id : List.copyOf(paused)) resume(id);
        backend.healNetwork();
        for (String id : new LinkedHashSet<>(killed)) {
            backend.start(id);
            killed.remove(id);
        }
    }

    /** The replica whose controller is ready, or null. */
    public String leader() {
        for (String id : backend.ids()) {
            if (paused.contains(id) || killed.contains(id)) continue;
            Http.Reply r = http.get(backend.httpAddress(id), "/v1/status");
            if (r.status() == 200 && r.body().path("leaderReady").asBoolean()) return id;
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
