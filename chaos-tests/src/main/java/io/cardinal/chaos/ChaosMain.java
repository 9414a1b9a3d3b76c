package io.cardinal.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.chaos.host.Backend;
import io.cardinal.chaos.host.LoopDisks;
import io.cardinal.chaos.host.NetnsBackend;
import io.cardinal.chaos.nemesis.Nemesis;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code bin/cardinal-chaos}: the Jepsen-style failover suite. Exit codes: 0 valid, 1 invalid (a checker failed; the
 * seed and the command that reproduces the run are printed), 2 bad usage or the run could not complete.
 */
@Command(name = "cardinal-chaos", mixinStandardHelpOptions = true, description = "Runs Cardinal replicas under faults and checks the history.")
public final class ChaosMain implements Callable<Integer> {
    @Option(names = "--backend", description = "containers (Docker via Testcontainers; default when Docker answers), netns (Linux network namespaces; "
            + "default without Docker when root with iproute2 and iptables) or local (processes on loopback: kill and pause only)")
    String backend;
    @Option(names = "--profile", defaultValue = "ci", description = "ci (short, several nemeses) or soak")
    String profile;
    @Option(names = "--time", description = "workload duration: 90s, 5m, 1h (default: ci 150s, soak 1h)")
    String time;
    @Option(names = "--seed", description = "schedule and workload seed (default: random, printed)")
    Long seed;
    @Option(names = "--out", description = "output directory (default target/chaos/<seed>)")
    Path out;
    @Option(names = "--inject-bug", description = "run with a test-only injected bug (see --list-bugs); the run must end invalid")
    String injectBug;
    @Option(names = "--list-bugs", description = "print the injectable bug names, one a line")
    boolean listBugs;
    @Option(names = "--replicas", defaultValue = "3")
    int replicas;
    @Option(names = "--clients", description = "concurrent clients (default 4; an injected bug may need more)")
    Integer clients;
    @Option(names = "--agents", description = "real node agents (2 nodes per supernode, 8 cards each; default 4, or the injected bug's; 0: none, nodes registered by hand)")
    Integer agents;
    @Option(names = "--nemesis", split = ",", description = "faults to schedule (default: every one the backend supports; 'none' for none): ${COMPLETION-CANDIDATES}")
    List<String> nemesis;

    public static void main(String[] args) {
        System.exit(new CommandLine(new ChaosMain()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (listBugs) {
            for (String b : Bugs.ALL.keySet()) System.out.println(b);
            return 0;
        }
        if (injectBug != null && !Bugs.ALL.containsKey(injectBug)) {
            System.err.println("cardinal-chaos: unknown bug " + injectBug + "; --list-bugs shows them");
            return 2;
        }
        if (!profile.equals("ci") && !profile.equals("soak")) {
            System.err.println("cardinal-chaos: --profile must be ci or soak, got " + profile);
            return 2;
        }
        String be = backend != null ? backend : defaultBackend();
        if (!List.of("containers", "netns", "local").contains(be)) {
            System.err.println("cardinal-chaos: --backend must be containers, netns or local, got " + be);
            return 2;
        }
        if (be.equals("netns")) {
            String why = NetnsBackend.unavailableReason();
            if (why != null) {
                System.err.println("cardinal-chaos: backend netns is not available: " + why);
                return 2;
            }
        }
        int ag = agents != null ? agents : injectBug != null ? Bugs.ALL.get(injectBug).agents() : 4;
        if (ag < 0 || ag > 64) {
            System.err.println("cardinal-chaos: --agents must be 0..64, got " + ag);
            return 2;
        }
        long secs = time != null ? parseSeconds(time) : profile.equals("soak") ? 3600 : 150;
        long s = seed != null ? seed : System.nanoTime() & 0xffffffffL;
        List<String> nem = nemeses(be, ag);
        for (String f : nem) {
            String why = Nemesis.refusal(f, be, capabilities(be, ag));
            if (why != null) {
                System.err.println("cardinal-chaos: " + why + (f.startsWith("disk-") && LoopDisks.unavailable() != null ? " (" + LoopDisks.unavailable() + ")" : ""));
                return 2;
            }
        }
        Path dir = out != null ? out.toAbsolutePath() : Path.of("target", "chaos", Long.toString(s)).toAbsolutePath();
        int cl = clients != null ? clients : injectBug != null ? Bugs.ALL.get(injectBug).clients() : 4;
        RunConfig cfg = new RunConfig(be, profile, secs, s, dir, injectBug, replicas, nem, cl, ag);
        ObjectNode verdict;
        try {
            verdict = new Runner(cfg, System.out).run();
        } catch (Exception e) {
            System.err.println("cardinal-chaos: the run could not complete: " + e);
            System.err.println("seed " + s + "; reproduce: " + cfg.reproduceCommand());
            return 2;
        }
        return report(verdict, cfg);
    }

    static int report(ObjectNode verdict, RunConfig cfg) {
        boolean valid = verdict.path("valid").asBoolean();
        System.out.println("chaos: verdict " + (valid ? "VALID" : "INVALID") + " (seed " + cfg.seed() + "), " + cfg.out().resolve("verdict.json"));
        for (Iterator<Map.Entry<String, JsonNode>> it = verdict.path("checkers").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> c = it.next();
            System.out.println("  " + (c.getValue().path("valid").asBoolean() ? "ok     " : "INVALID") + " " + c.getKey()
                    + (c.getValue().path("valid").asBoolean() ? "" : ": " + c.getValue().path("errors").path(0).asText()));
        }
        System.out.println("  failover_ms " + verdict.path("failover_ms"));
        if (!valid) {
            System.out.println("chaos: INVALID with seed " + cfg.seed() + "; reproduce with:");
            System.out.println("  " + cfg.reproduceCommand());
        }
        return valid ? 0 : 1;
    }

    private List<String> nemeses(String be, int agents) {
        if (nemesis != null && !nemesis.isEmpty()) return nemesis.equals(List.of("none")) ? List.of() : List.copyOf(nemesis);
        if (injectBug != null) return Bugs.ALL.get(injectBug).nemeses();
        return Nemesis.supported(capabilities(be, agents));
    }

    /**
     * As {@link #capabilities(String)}, with {@code agents} node agents in the run: each its own host (container or
     * network namespace) with its own address, except on local, where agents share loopback and cannot be cut off.
     */
    public static Set<String> capabilities(String be, int agents) {
        Set<String> caps = capabilities(be);
        if (agents > 0 && List.of("local", "containers", "netns").contains(be)) {
            caps.add(Backend.AGENTS);
            if (!be.equals("local")) caps.add(Backend.AGENT_NETWORK);
        }
        return caps;
    }

    /** What a backend can do on this machine (disk faults need root and loop mounts: {@link LoopDisks}). */
    public static Set<String> capabilities(String be) {
        Set<String> caps = new java.util.TreeSet<>(be.equals("local") ? Set.of(Backend.KILL, Backend.PAUSE)
                : Set.of(Backend.KILL, Backend.PAUSE, Backend.NETWORK, Backend.SHAPE));
        if (LoopDisks.unavailable() == null) caps.add(Backend.DISK);
        return caps;
    }

    static long parseSeconds(String t) {
        String v = t.trim().toLowerCase();
        long mult = 1;
        if (v.endsWith("h")) mult = 3600;
        else if (v.endsWith("m")) mult = 60;
        if (v.endsWith("h") || v.endsWith("m") || v.endsWith("s")) v = v.substring(0, v.length() - 1);
        return Long.parseLong(v) * mult;
    }

    /** containers when a Docker engine answers, else netns when it can run here, else local. */
    static String defaultBackend() {
        if (dockerAvailable()) return "containers";
        return NetnsBackend.unavailableReason() == null ? "netns" : "local";
    }

    public static boolean dockerAvailable() {
        try {
            return org.testcontainers.DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable t) {
            return false;
        }
    }
}
