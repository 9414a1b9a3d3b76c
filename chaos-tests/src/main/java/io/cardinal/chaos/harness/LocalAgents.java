package io.cardinal.chaos.harness;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Real cardinal-agent processes on loopback, one JVM per node ({@code io.cardinal.agent.AgentMain --config FILE}),
 * each with its own data dir under {@code dir/<nodeId>/data}, fixed peer and admin ports (so a restarted agent keeps
 * its addresses) and the Chronicle Queue opens of {@code bin/_launch}. Workers are whatever the job's command says;
 * {@link #trainerCommand()} gives the simulated trainer as a plain {@code java -cp} command.
 *
 * <p>The agent classpath is this JVM's unless {@code cardinal.agent.classpath} says otherwise. Every wait is
 * bounded; {@link #close()} kills every agent and every worker it (or a killed predecessor) started.
 */
public final class LocalAgents implements AutoCloseable {
    /** The opens of bin/_launch: Chronicle Queue needs them on Java 17+. */
    public static final List<String> OPENS = List.of("--add-opens=java.base/java.lang=ALL-UNNAMED",
            "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED", "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
            "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED", "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED",
            "--add-opens=jdk.unsupported/sun.misc=ALL-UNNAMED", "-Dchronicle.analytics.disable=true");
    // Test hooks on: these agents only ever run under tests (dropServerTraffic needs them).
    private static final List<String> AGENT_JVM_FLAGS = List.of("-Xmx160m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-XX:-UsePerfData", "-Dcardinal.testHooks=true");
    private static final List<String> TRAINER_JVM_FLAGS = List.of("-Xmx32m", "-Xss512k", "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", "-XX:CICompilerCount=1");

    /** One node: its identity, cards and fixed ports. */
    public record Node(String nodeId, String supernodeId, int cards, int peerPort, int adminPort) {
    }

    /** One line of attempts.log: {@code <epochMillis> START|STOP <job> <attempt> <rank> <pid>}. */
    public record AttemptLine(String nodeId, long timeMillis, boolean start, String jobId, long attempt, int rank, long pid) {
    }

    /** A worker's life as attempts.log records it; {@code stopMillis} is Long.MAX_VALUE while no STOP line exists. */
    public record Interval(String nodeId, String jobId, long attempt, int rank, long pid, long startMillis, long stopMillis) {
    }

    private final Path dir;
    private final List<String> servers;
    private final String extraConfig;
    private final Map<String, Node> nodes = new LinkedHashMap<>();
    private final Map<String, Process> processes = new LinkedHashMap<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /**
     * @param servers     the server replicas' agent gateways (host:port)
     * @param extraConfig YAML lines appended to every agent config (e.g. {@code keepCheckpoints: 4})
     */
    public LocalAgents(Path dir, List<String> servers, String extraConfig) {
        this.dir = dir;
        this.servers = List.copyOf(servers);
        this.extraConfig = extraConfig == null ? "" : extraConfig;
    }

    /** Writes the node's config and starts its agent. */
    public Node add(String nodeId, String supernodeId, int cards) throws IOException {
        Node n = new Node(nodeId, supernodeId, cards, LocalCluster.freePort(), LocalCluster.freePort());
        nodes.put(nodeId, n);
        writeConfig(n);
        start(nodeId);
        return n;
    }

    private void writeConfig(Node n) throws IOException {
        StringBuilder y = new StringBuilder();
        y.append("nodeId: ").append(n.nodeId()).append('\n');
        y.append("supernodeId: ").append(n.supernodeId()).append('\n');
        y.append("servers:\n");
        for (String s : servers) y.append("  - ").append(s).append('\n');
        y.append("dataDir: ").append(dataDir(n.nodeId())).append('\n');
        y.append("peerAddress: 127.0.0.1:").append(n.peerPort()).append('\n');
        y.append("adminAddress: 127.0.0.1:").append(n.adminPort()).append('\n');
        y.append("cards: {count: ").append(n.cards()).append(", model: H100, memoryMib: 81920}\n");
        y.append(extraConfig);
        Files.createDirectories(dir.resolve(n.nodeId()));
        Files.writeString(config(n.nodeId()), y.toString());
    }

    public Path config(String nodeId) {
        return dir.resolve(nodeId).resolve("agent.yaml");
    }

    public Path dataDir(String nodeId) {
        return dir.resolve(nodeId).resolve("data");
    }

    public Path attemptsLog(String nodeId) {
        return dataDir(nodeId).resolve("attempts.log");
    }

    public Path log(String nodeId) {
        return dir.resolve(nodeId).resolve("agent.log");
    }

    public Node node(String nodeId) {
        return nodes.get(nodeId);
    }

    public List<String> nodeIds() {
        return new ArrayList<>(nodes.keySet());
    }

    public String peerAddress(String nodeId) {
        return "127.0.0.1:" + nodes.get(nodeId).peerPort();
    }

    /** Starts (or restarts, with the same data dir) the node's agent. */
    public void start(String nodeId) throws IOException {
        if (alive(nodeId)) throw new IllegalStateException("agent " + nodeId + " is already running");
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBinary());
        cmd.addAll(AGENT_JVM_FLAGS);
        cmd.addAll(OPENS);
        cmd.add("-cp");
        cmd.add(System.getProperty("cardinal.agent.classpath", System.getProperty("java.class.path")));
        cmd.add("io.cardinal.agent.AgentMain");
        cmd.add("--config");
        cmd.add(config(nodeId).toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log(nodeId).toFile())).start();
        processes.put(nodeId, p);
    }

    public boolean alive(String nodeId) {
        Process p = processes.get(nodeId);
        return p != null && p.isAlive();
    }

    public long pid(String nodeId) {
        Process p = processes.get(nodeId);
        return p == null ? -1 : p.pid();
    }

    /** SIGKILL of the agent only: its workers keep running, orphaned (a restarted agent kills them). */
    public void kill9(String nodeId) throws InterruptedException {
        Process p = processes.remove(nodeId);
        if (p == null) return;
        p.destroyForcibly();
        if (!p.waitFor(10, TimeUnit.SECONDS)) throw new IllegalStateException("agent " + nodeId + " did not die");
    }

    /**
     * The whole node dies: SIGKILL of the agent and of every process under it (listed first, since orphans cannot be
     * found from a dead parent), plus any worker attempts.log still shows as running.
     */
    public void kill9WithWorkers(String nodeId) throws InterruptedException {
        Process p = processes.remove(nodeId);
        List<ProcessHandle> all = new ArrayList<>();
        if (p != null) {
            all.add(p.toHandle());
            p.descendants().forEach(all::add);
        }
        all.addAll(liveWorkers(nodeId));
        for (ProcessHandle h : all) h.destroyForcibly();
        for (ProcessHandle h : all) {
            try {
                h.onExit().get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException("process " + h.pid() + " of node " + nodeId + " did not die", e);
            }
        }
    }

    /** SIGTERM and a bounded wait: the agent stops its workers (writing their STOP lines) and exits. */
    public void stop(String nodeId) throws InterruptedException {
        Process p = processes.remove(nodeId);
        if (p == null) return;
        p.destroy();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Worker processes recorded in the node's attempts.log without a STOP line that are still alive. */
    public List<ProcessHandle> liveWorkers(String nodeId) {
        List<ProcessHandle> out = new ArrayList<>();
        Map<String, AttemptLine> open = new HashMap<>();
        for (AttemptLine l : readAttempts(nodeId, attemptsLog(nodeId))) {
            String key = l.jobId() + "/" + l.attempt() + "/" + l.rank() + "/" + l.pid();
            if (l.start()) open.put(key, l);
            else open.remove(key);
        }
        for (AttemptLine l : open.values()) {
            Optional<ProcessHandle> h = ProcessHandle.of(l.pid());
            // The process must have started when the START line was written, so a recycled pid is never touched.
            if (h.isPresent() && h.get().isAlive() && h.get().info().startInstant()
                    .map(t -> Math.abs(t.toEpochMilli() - l.timeMillis()) < 10_000).orElse(false)) {
                out.add(h.get());
            }
        }
        return out;
    }

    /** GET on the agent's loopback admin endpoint; null when it does not answer. */
    public JsonNode admin(String nodeId, String path) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + nodes.get(nodeId).adminPort() + path))
                    .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? LocalCluster.JSON.readTree(r.body()) : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /**
     * TEST HOOK: the agent drops all traffic with the servers while {@code on} (an agent-to-server partition on
     * loopback, where none can be made with the network). Throws when the agent does not confirm it.
     */
    public void dropServerTraffic(String nodeId, boolean on) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + nodes.get(nodeId).adminPort()
                    + "/v1/test/drop-server-traffic?on=" + on)).timeout(Duration.ofSeconds(5))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) throw new IllegalStateException("agent " + nodeId + " refused drop-server-traffic: " + r.body());
        } catch (IOException e) {
            throw new IllegalStateException("agent " + nodeId + " admin endpoint: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    // ---- attempts.log -------------------------------------------------------------------------------------------

    public static List<AttemptLine> readAttempts(String nodeId, Path file) {
        List<AttemptLine> out = new ArrayList<>();
        if (!Files.exists(file)) return out;
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + file, e);
        }
        for (String line : lines) {
            String[] f = line.trim().split("\\s+");
            if (f.length != 6) continue; // a torn last line of a killed agent
            try {
                out.add(new AttemptLine(nodeId, Long.parseLong(f[0]), f[1].equals("START"), f[2], Long.parseLong(f[3]),
                        Integer.parseInt(f[4]), Long.parseLong(f[5])));
            } catch (NumberFormatException e) {
                // torn line
            }
        }
        return out;
    }

    /** Every node's attempts.log lines. */
    public List<AttemptLine> allAttempts() {
        List<AttemptLine> out = new ArrayList<>();
        for (String n : nodes.keySet()) out.addAll(readAttempts(n, attemptsLog(n)));
        return out;
    }

    /** One job's worker lives across all nodes: START matched with the next STOP of the same (attempt, rank, pid). */
    public static List<Interval> intervals(List<AttemptLine> lines, String jobId) {
        List<Interval> out = new ArrayList<>();
        Map<String, AttemptLine> open = new LinkedHashMap<>();
        List<AttemptLine> sorted = new ArrayList<>(lines);
        sorted.sort(Comparator.comparingLong(AttemptLine::timeMillis));
        for (AttemptLine l : sorted) {
            if (!l.jobId().equals(jobId)) continue;
            String key = l.nodeId() + "/" + l.attempt() + "/" + l.rank() + "/" + l.pid();
            if (l.start()) {
                open.put(key, l);
            } else {
                AttemptLine s = open.remove(key);
                if (s != null) out.add(new Interval(l.nodeId(), jobId, l.attempt(), l.rank(), l.pid(), s.timeMillis(), l.timeMillis()));
            }
        }
        for (AttemptLine s : open.values()) {
            out.add(new Interval(s.nodeId(), jobId, s.attempt(), s.rank(), s.pid(), s.timeMillis(), Long.MAX_VALUE));
        }
        return out;
    }

    /**
     * Pairs of worker lives of different attempts of the job that overlap in time (closed intervals, across all
     * nodes): empty when no two attempts ever ran at once.
     */
    public static List<String> overlappingAttempts(List<AttemptLine> lines, String jobId) {
        List<Interval> iv = intervals(lines, jobId);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < iv.size(); i++) {
            for (int j = i + 1; j < iv.size(); j++) {
                Interval a = iv.get(i);
                Interval b = iv.get(j);
                if (a.attempt() == b.attempt()) continue;
                if (a.startMillis() <= b.stopMillis() && b.startMillis() <= a.stopMillis()) out.add(a + " overlaps " + b);
            }
        }
        return out;
    }

    // ---- workers --------------------------------------------------------------------------------------------------

    /** {@code java ... io.cardinal.agent.trainer.TrainerMain}: the simulated trainer, from the agent's classpath. */
    public static List<String> trainerCommand() {
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBinary());
        cmd.addAll(TRAINER_JVM_FLAGS);
        cmd.add("-cp");
        cmd.add(trainerClasspath());
        cmd.add("io.cardinal.agent.trainer.TrainerMain");
        return cmd;
    }

    /** Where TrainerMain lives (it needs JDK classes only): the agent's classes dir or jar. */
    static String trainerClasspath() {
        String explicit = System.getProperty("cardinal.trainer.classpath");
        if (explicit != null) return explicit;
        try {
            Class<?> c = Class.forName("io.cardinal.agent.trainer.TrainerMain");
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (ReflectiveOperationException | java.net.URISyntaxException | RuntimeException e) {
            return System.getProperty("cardinal.agent.classpath", System.getProperty("java.class.path"));
        }
    }

    static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Kills every agent and every worker (including orphans of killed agents). */
    @Override
    public void close() {
        for (String n : new ArrayList<>(nodes.keySet())) {
            try {
                kill9WithWorkers(n);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                System.err.println("LocalAgents: cleaning up " + n + ": " + e);
            }
        }
        processes.clear();
    }
}
