package io.cardinal.chaos.host;

import io.cardinal.chaos.harness.LocalAgents;
import io.cardinal.chaos.harness.LocalCluster;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Replicas as plain processes on loopback (one JVM each, own data dir): kill -9 and SIGSTOP/SIGCONT only, since all
 * share one network stack. Fast, for developing the workload and checkers and for the bug-injection tests.
 * With agents, each node is a real cardinal-agent process on loopback ({@link LocalAgents}); agents can crash but
 * cannot be partitioned (one network stack).
 */
public final class LocalBackend implements Backend {
    private final Path dir;
    private final List<String> jvmProps;
    private final Map<String, int[]> ports = new LinkedHashMap<>();
    private final Map<String, Process> processes = new LinkedHashMap<>();
    /** Non-null when disk faults are on: each data dir is its own loop-mounted filesystem. */
    private final LoopDisks disks;
    private final List<String> agentIds = new ArrayList<>();
    private LocalAgents agents;

    public LocalBackend(Path dir, int replicas, List<String> jvmProps) throws IOException {
        this(dir, replicas, jvmProps, false);
    }

    public LocalBackend(Path dir, int replicas, List<String> jvmProps, boolean diskFaults) throws IOException {
        this(dir, replicas, jvmProps, diskFaults, 0);
    }

    /**
     * {@code diskFaults}: put each replica's data dir on its own small filesystem (needs root; see {@link LoopDisks}).
     * {@code agents}: node agents to run (0: none; the workload then registers nodes by hand).
     */
    public LocalBackend(Path dir, int replicas, List<String> jvmProps, boolean diskFaults, int agents) throws IOException {
        this.dir = dir;
        this.jvmProps = jvmProps;
        this.disks = LoopDisks.forFaults(diskFaults);
        for (int i = 1; i <= replicas; i++) {
            // LocalCluster's ports lie outside the ephemeral range and are never handed out twice.
            int raft = LocalCluster.freePort(), http = LocalCluster.freePort();
            ports.put("n" + i, agents > 0 ? new int[]{raft, http, LocalCluster.freePort()} : new int[]{raft, http});
        }
        for (int i = 0; i < agents; i++) agentIds.add(ServerConfigs.agentNodeId(i));
        Map<String, List<String>> peers = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : ports.entrySet()) {
            List<String> addrs = new ArrayList<>();
            for (int p : e.getValue()) addrs.add("127.0.0.1:" + p);
            peers.put(e.getKey(), addrs);
        }
        for (String id : ports.keySet()) {
            Files.createDirectories(dir.resolve(id));
            Files.writeString(dir.resolve(id).resolve("server.yaml"), ServerConfigs.yaml(id, dir.resolve(id).resolve("data").toString(), peers));
            if (disks != null) disks.create(id, dir.resolve(id).resolve("data"));
        }
    }

    @Override
    public String name() {
        return "local";
    }

    @Override
    public Set<String> capabilities() {
        Set<String> caps = new java.util.HashSet<>(Set.of(KILL, PAUSE));
        if (disks != null) caps.add(DISK);
        if (!agentIds.isEmpty()) caps.add(AGENTS);
        return Set.copyOf(caps);
    }

    @Override
    public List<String> ids() {
        return new ArrayList<>(ports.keySet());
    }

    @Override
    public String httpAddress(String id) {
        return "127.0.0.1:" + ports.get(id)[1];
    }

    @Override
    public void startAll() throws IOException {
        for (String id : ids()) start(id);
    }

    @Override
    public synchronized void start(String id) throws IOException {
        if (running(id)) return;
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(ServerConfigs.JVM_FLAGS);
        cmd.addAll(jvmProps);
        cmd.add("-cp");
        cmd.add(System.getProperty("cardinal.server.classpath", System.getProperty("java.class.path")));
        cmd.add("io.cardinal.server.ServerMain");
        cmd.add("--config");
        cmd.add(dir.resolve(id).resolve("server.yaml").toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(id).resolve("server.log").toFile())).start();
        processes.put(id, p);
    }

    @Override
    public synchronized void kill9(String id) throws InterruptedException {
        Process p = processes.remove(id);
        if (p == null) return;
        p.destroyForcibly();
        if (!p.waitFor(10, TimeUnit.SECONDS)) throw new IllegalStateException("replica " + id + " did not die");
    }

    @Override
    public synchronized boolean running(String id) {
        Process p = processes.get(id);
        return p != null && p.isAlive();
    }

    @Override
    public void pause(String id) throws Exception {
        signal(id, "STOP");
    }

    @Override
    public void resume(String id) throws Exception {
        signal(id, "CONT");
    }

    private void signal(String id, String sig) throws Exception {
        Process p;
        synchronized (this) {
            p = processes.get(id);
        }
        if (p == null) return;
        Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).redirectErrorStream(true).start();
        if (!k.waitFor(5, TimeUnit.SECONDS)) k.destroyForcibly();
    }

    @Override
    public Path diskCgroup(String id) throws Exception {
        Process p;
        synchronized (this) {
            p = processes.get(id);
        }
        if (p == null || !p.isAlive()) throw new IllegalStateException("replica " + id + " is not running");
        return LoopDisks.localCgroup(id, p.pid());
    }

    @Override
    public LoopDisks disks() {
        return disks;
    }

    @Override
    public List<String> agentIds() {
        return List.copyOf(agentIds);
    }

    @Override
    public synchronized void startAgents() throws IOException {
        if (agentIds.isEmpty() || agents != null) return;
        List<String> gateways = new ArrayList<>();
        for (int[] p : ports.values()) gateways.add("127.0.0.1:" + p[2]);
        agents = new LocalAgents(dir.resolve("agents"), gateways, "");
        for (String n : agentIds) agents.add(n, ServerConfigs.supernodeOf(n), cardsPerAgent());
    }

    @Override
    public synchronized void startAgent(String nodeId) throws IOException {
        if (!agents.alive(nodeId)) agents.start(nodeId);
    }

    @Override
    public synchronized void kill9Agent(String nodeId) throws InterruptedException {
        agents.kill9(nodeId);
    }

    @Override
    public synchronized boolean agentRunning(String nodeId) {
        return agents != null && agents.alive(nodeId);
    }

    @Override
    public Path attemptsLog(String nodeId) {
        return dir.resolve("agents").resolve(nodeId).resolve("data").resolve("attempts.log");
    }

    @Override
    public void collectLogs(Path out) throws IOException {
        Files.createDirectories(out);
        for (String id : ids()) {
            Path log = dir.resolve(id).resolve("server.log");
            if (Files.exists(log)) Files.copy(log, out.resolve(id + ".log"), StandardCopyOption.REPLACE_EXISTING);
        }
        for (String n : agentIds) {
            Path log = dir.resolve("agents").resolve(n).resolve("agent.log");
            if (Files.exists(log)) Files.copy(log, out.resolve("agent-" + n + ".log"), StandardCopyOption.REPLACE_EXISTING);
            if (Files.exists(attemptsLog(n))) Files.copy(attemptsLog(n), out.resolve("attempts-" + n + ".log"), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @Override
    public synchronized void close() {
        if (agents != null) agents.close(); // every agent and every worker, orphans of killed agents included
        for (Process p : processes.values()) {
            ProcessHandle.of(p.pid()).ifPresent(h -> {
                try {
                    new ProcessBuilder("kill", "-CONT", Long.toString(p.pid())).start().waitFor(2, TimeUnit.SECONDS);
                } catch (Exception ignored) {
                    // best effort: a stopped process still dies on SIGKILL
                }
            });
            p.destroyForcibly();
        }
        for (Process p : processes.values()) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        processes.clear();
        if (disks != null) disks.close();
    }
}
