package io.cardinal.chaos.host;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Backend B: each replica is a process in its own Linux network namespace with its own address, for machines
 * without a Docker engine. Needs root, iproute2 and iptables.
 *
 * <p>Layout of one run (tag {@code cch-<pid>-<subnet>}, subnet {@code 10.78.<subnet>.0/24} picked unused):
 * <ul>
 *   <li>{@code <tag>-br}: a private namespace holding the bridge {@code br0}. The bridge is not in the root
 *   namespace because there Docker's {@code FORWARD DROP} policy (with br_netfilter) would filter bridged traffic,
 *   and changing the host's iptables is off limits.</li>
 *   <li>{@code <tag>-nK}: replica K's namespace; {@code eth0} (10.78.S.10+K) is a veth whose peer is a bridge port.</li>
 *   <li>{@code cch<pid>-<subnet>} in the root namespace (10.78.S.1), a veth whose peer is a bridge port: the test
 *   JVM reaches the replicas through it. Its connected /24 route is the only change to the root namespace.</li>
 *   <li>{@code <tag>-aK} (with agents): node agent K's namespace on the same bridge, {@code eth0} = 10.78.S.(100+K-1).
 *   The replicas' configs then carry an {@code agentAddress} (their agent gateway, port 9000) and every agent's
 *   {@code servers} list holds those gateways.</li>
 * </ul>
 * Partitions and packet loss are iptables rules in the replica's namespace, as in {@link ContainerBackend};
 * kill -9 and SIGSTOP/SIGCONT go to every process in the replica's namespace (the whole "host", like a container).
 * {@link #close()} (also run by a shutdown hook) deletes the namespaces and the root veth; the constructor first
 * sweeps what runs whose JVM is gone left behind.
 *
 * <p>Agents: each agent daemon runs in its namespace under a keeper, {@code tini -s -- sh -c '...'}. A namespace
 * has no init of its own, so when {@link #kill9Agent} SIGKILLs the daemon (its pid is in {@code agent.pid}) its
 * workers would be reparented to the machine's init, which here does not reap (they would stay zombies once the
 * restarted agent kills them). tini as a subreaper adopts them instead, and the keeper shell stays until the last
 * of them is gone; that is backend A's tini-in-the-container, per agent run. Without tini on the machine the
 * daemon runs under sh alone and orphans go to init (the agent copes with zombies). {@link #isolateAgent} is
 * iptables in the agent's namespace (drop to and from every replica); {@link #close()} kills every process in an
 * agent's namespace ({@code ip netns pids}: daemon, keeper, orphaned workers), the keepers last, so that the
 * workers are reaped.
 */
public final class NetnsBackend implements Backend {
    static final String PREFIX = "cch";
    static final long CMD_TIMEOUT_MILLIS = 15_000;
    static final int MAX_REPLICAS = 80;
    static final int MAX_AGENTS = 100;
    static final long AGENT_START_MILLIS = 10_000;

    private static final Pattern NS_NAME = Pattern.compile("^" + PREFIX + "-(\\d+)-\\d+-.+$");
    private static final Pattern LINK_NAME = Pattern.compile("^" + PREFIX + "(\\d+)-\\d+$");

    private final Path dir;
    private final List<String> jvmProps;
    private final String tag;
    private final String bridgeNs;
    private final String hostLink;
    private final Map<String, String> ips = new LinkedHashMap<>();
    private final Map<String, Process> processes = new LinkedHashMap<>();
    private final Thread shutdownHook;
    private final String ip;
    private final String iptables;
    private final String tc;
    /** Non-null when disk faults are on: each data dir is its own loop-mounted filesystem. */
    private final LoopDisks disks;
    private final Set<String> shaped = new TreeSet<>();
    /** Agent node id -> IP, and -> its namespace suffix (a1, a2, ...). */
    private final Map<String, String> agentIps = new LinkedHashMap<>();
    private final Map<String, String> agentNs = new LinkedHashMap<>();
    /** Every keeper started per agent, oldest first: a crashed run's keeper lives on while its orphans do. */
    private final Map<String, List<Process>> agentKeepers = new LinkedHashMap<>();
    /** /usr/bin/tini (a subreaper for each agent run), or null. */
    private final String tini;
    private boolean closed;

    public NetnsBackend(Path dir, int replicas, List<String> jvmProps) throws IOException, InterruptedException {
        this(dir, replicas, jvmProps, false);
    }

    /** {@code diskFaults}: put each replica's data dir on its own small filesystem (see {@link LoopDisks}). */
    public NetnsBackend(Path dir, int replicas, List<String> jvmProps, boolean diskFaults) throws IOException, InterruptedException {
        this(dir, replicas, jvmProps, diskFaults, 0);
    }

    /**
     * {@code diskFaults}: put each replica's data dir on its own small filesystem (see {@link LoopDisks}).
     * {@code agents}: node agents to run, each in a namespace of its own (0: none).
     */
    public NetnsBackend(Path dir, int replicas, List<String> jvmProps, boolean diskFaults, int agents) throws IOException, InterruptedException {
        String why = unavailableReason();
        if (why != null) throw new IllegalStateException("backend netns is not available: " + why);
        if (replicas < 1 || replicas > MAX_REPLICAS) throw new IllegalArgumentException("netns backend: replicas must be 1.." + MAX_REPLICAS + ", got " + replicas);
        if (agents < 0 || agents > MAX_AGENTS) throw new IllegalArgumentException("netns backend: agents must be 0.." + MAX_AGENTS + ", got " + agents);
        // The agent's start script quotes paths in single quotes.
        if (agents > 0 && dir.toAbsolutePath().toString().contains("'")) {
            throw new IllegalArgumentException("netns backend: the work dir must not contain a single quote: " + dir.toAbsolutePath());
        }
        this.dir = dir;
        this.jvmProps = jvmProps;
        this.ip = tool("ip");
        this.iptables = tool("iptables");
        this.tc = tool("tc");
        this.tini = tool("tini");
        this.disks = LoopDisks.forFaults(diskFaults);
        sweepStale();
        int subnet = freeSubnet(new Random());
        long pid = ProcessHandle.current().pid();
        this.tag = PREFIX + "-" + pid + "-" + subnet;
        this.bridgeNs = tag + "-br";
        this.hostLink = PREFIX + pid + "-" + subnet;
        for (int i = 1; i <= replicas; i++) ips.put("n" + i, "10.78." + subnet + "." + (10 + i));
        for (int i = 0; i < agents; i++) {
            String node = ServerConfigs.agentNodeId(i);
            agentIps.put(node, "10.78." + subnet + "." + (100 + i));
            agentNs.put(node, "a" + (i + 1));
        }
        Map<String, List<String>> peers = ServerConfigs.peersAt(ips, agents > 0);
        for (String id : ips.keySet()) {
            Files.createDirectories(dir.resolve(id));
            Files.writeString(dir.resolve(id).resolve("server.yaml"),
                    ServerConfigs.yaml(id, dir.resolve(id).resolve("data").toAbsolutePath().toString(), peers));
            // Mounted before the replica starts: ip netns exec's private mount namespace is a copy of this one.
            if (disks != null) disks.create(id, dir.resolve(id).resolve("data").toAbsolutePath());
        }
        ServerConfigs.writeAgentConfigs(agentIps, ips.values(), cardsPerAgent(), this::agentDir, d -> d.resolve("data").toAbsolutePath().toString());
        this.shutdownHook = new Thread(this::close, "netns-cleanup-" + tag);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        try {
            createNetwork(subnet);
        } catch (IOException | InterruptedException | RuntimeException e) {
            close();
            throw e;
        }
    }

    private static volatile String unavailable;
    private static volatile boolean probed;

    /**
     * Why this backend cannot run here (not Linux, not root, no iproute2 or iptables, or root without the right to
     * create a namespace or use iptables in it, as in an unprivileged container), or null. Probed once per JVM by
     * creating and deleting a namespace.
     */
    public static synchronized String unavailableReason() {
        if (!probed) {
            unavailable = probe();
            probed = true;
        }
        return unavailable;
    }

    private static String probe() {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            return "network namespaces need Linux (this is " + System.getProperty("os.name") + ")";
        }
        try {
            String uid = null;
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("Uid:")) uid = l.substring(4).trim().split("\\s+")[1];
            }
            if (!"0".equals(uid)) return "creating network namespaces needs root (effective uid " + uid + ")";
        } catch (IOException | RuntimeException e) {
            return "cannot read the effective uid from /proc/self/status: " + e.getMessage();
        }
        String ipTool = tool("ip");
        if (ipTool == null) return "iproute2's ip is not installed (apt-get install iproute2)";
        String iptablesTool = tool("iptables");
        if (iptablesTool == null) return "iptables is not installed (apt-get install iptables)";
        // Named like a run's namespace, so that the sweep removes it should this JVM die in between.
        String ns = PREFIX + "-" + ProcessHandle.current().pid() + "-0-probe";
        try {
            Result add = run(List.of(ipTool, "netns", "add", ns), CMD_TIMEOUT_MILLIS);
            if (add.exit() != 0) return "'ip netns add' failed: " + add.output().trim();
            try {
                Result ipt = run(List.of(ipTool, "netns", "exec", ns, iptablesTool, "-w", "5", "-S", "INPUT"), CMD_TIMEOUT_MILLIS);
                if (ipt.exit() != 0) return "iptables does not work inside a network namespace: " + ipt.output().trim();
            } finally {
                run(List.of(ipTool, "netns", "del", ns), CMD_TIMEOUT_MILLIS);
            }
        } catch (IOException e) {
            return "cannot run ip: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while probing ip netns";
        }
        return null;
    }

    private void createNetwork(int subnet) throws IOException, InterruptedException {
        String cidrHost = "10.78." + subnet + ".1/24";
        must(ip, "netns", "add", bridgeNs);
        inNs(bridgeNs, ip, "link", "set", "lo", "up");
        inNs(bridgeNs, ip, "link", "add", "br0", "type", "bridge");
        inNs(bridgeNs, ip, "link", "set", "br0", "up");
        must(ip, "link", "add", hostLink, "type", "veth", "peer", "name", "host", "netns", bridgeNs);
        must(ip, "addr", "add", cidrHost, "dev", hostLink);
        must(ip, "link", "set", hostLink, "up");
        inNs(bridgeNs, ip, "link", "set", "host", "master", "br0", "up");
        for (Map.Entry<String, String> e : ips.entrySet()) addHost(e.getKey(), e.getValue());
        for (Map.Entry<String, String> e : agentIps.entrySet()) addHost(agentNs.get(e.getKey()), e.getValue());
    }

    /** A namespace {@code <tag>-<suffix>} whose eth0 (address {@code addr}) is a port of the bridge. */
    private void addHost(String suffix, String addr) throws IOException, InterruptedException {
        String ns = ns(suffix);
        must(ip, "netns", "add", ns);
        inNs(ns, ip, "link", "set", "lo", "up");
        must(ip, "link", "add", "name", "eth0", "netns", ns, "type", "veth", "peer", "name", "v-" + suffix, "netns", bridgeNs);
        inNs(ns, ip, "addr", "add", addr + "/24", "dev", "eth0");
        inNs(ns, ip, "link", "set", "eth0", "up");
        inNs(bridgeNs, ip, "link", "set", "v-" + suffix, "master", "br0", "up");
    }

    /** The namespace of agent {@code nodeId}. */
    private String agentNamespace(String nodeId) {
        String suffix = agentNs.get(nodeId);
        if (suffix == null) throw new IllegalArgumentException("no agent " + nodeId + " in this run (agents: " + agentIps.keySet() + ")");
        return ns(suffix);
    }

    private String ns(String id) {
        return tag + "-" + id;
    }

    /** The run's namespaces and root-namespace link, for tests and diagnostics. */
    public List<String> namespaces() {
        List<String> out = new ArrayList<>();
        out.add(bridgeNs);
        for (String id : ips.keySet()) out.add(ns(id));
        for (String n : agentIps.keySet()) out.add(agentNamespace(n));
        return out;
    }

    /** The agent's IP (its namespace's eth0). */
    public String agentAddress(String nodeId) {
        agentNamespace(nodeId);
        return agentIps.get(nodeId);
    }

    /** Pids of every process in the agent's namespace (daemon, keepers, workers, orphans included). */
    public Set<Long> agentNamespacePids(String nodeId) throws IOException, InterruptedException {
        return nsPids(agentNamespace(nodeId));
    }

    /**
     * Runs {@code cmd} inside the agent's namespace (as a process on that host would); its exit code and output.
     * For tests: e.g. whether the agent reaches a replica.
     */
    public Result execInAgent(String nodeId, List<String> cmd, long timeoutMillis) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(List.of(ip, "netns", "exec", agentNamespace(nodeId)));
        full.addAll(cmd);
        return run(full, timeoutMillis);
    }

    public String hostLink() {
        return hostLink;
    }

    @Override
    public String name() {
        return "netns";
    }

    @Override
    public Set<String> capabilities() {
        Set<String> caps = new TreeSet<>(Set.of(KILL, PAUSE, NETWORK));
        if (tc != null) caps.add(SHAPE);
        if (disks != null) caps.add(DISK);
        if (!agentIps.isEmpty()) caps.addAll(List.of(AGENTS, AGENT_NETWORK));
        return caps;
    }

    @Override
    public List<String> ids() {
        return new ArrayList<>(ips.keySet());
    }

    @Override
    public String httpAddress(String id) {
        return ips.get(id) + ":" + ServerConfigs.HTTP_PORT;
    }

    @Override
    public void startAll() throws IOException {
        for (String id : ids()) start(id);
    }

    @Override
    public synchronized void start(String id) throws IOException {
        if (closed) throw new IllegalStateException("netns backend is closed");
        if (running(id)) return;
        List<String> cmd = new ArrayList<>(List.of(ip, "netns", "exec", ns(id)));
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(ServerConfigs.JVM_FLAGS);
        cmd.addAll(jvmProps);
        cmd.add("-cp");
        cmd.add(ServerConfigs.serverClasspath());
        cmd.add("io.cardinal.server.ServerMain");
        cmd.add("--config");
        cmd.add(dir.resolve(id).resolve("server.yaml").toAbsolutePath().toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(id).resolve("server.log").toFile())).start();
        processes.put(id, p);
    }

    @Override
    public void kill9(String id) throws Exception {
        Process p;
        synchronized (this) {
            p = processes.remove(id);
        }
        if (p == null) return;
        // ip netns exec may fork (batch mode, other iproute2 versions): kill every process of the namespace and
        // whatever descends from the wrapper, not only the pid we started.
        Set<Long> pids = pids(id, p);
        signal("KILL", pids);
        long deadline = System.currentTimeMillis() + 10_000;
        while (p.isAlive() || !nsPids(ns(id)).isEmpty()) {
            if (System.currentTimeMillis() > deadline) throw new IllegalStateException("replica " + id + " did not die (pids " + pids(id, p) + ")");
            signal("KILL", pids(id, p));
            Thread.sleep(50);
        }
    }

    @Override
    public synchronized boolean running(String id) {
        Process p = processes.get(id);
        return p != null && p.isAlive();
    }

    @Override
    public void pause(String id) throws Exception {
        Process p;
        synchronized (this) {
            p = processes.get(id);
        }
        if (p != null) signal("STOP", pids(id, p));
    }

    @Override
    public void resume(String id) throws Exception {
        Process p;
        synchronized (this) {
            p = processes.get(id);
        }
        if (p != null) signal("CONT", pids(id, p));
    }

    private Set<Long> pids(String id, Process p) throws IOException, InterruptedException {
        Set<Long> out = new TreeSet<>(nsPids(ns(id)));
        if (p.isAlive()) out.add(p.pid());
        p.descendants().forEach(h -> out.add(h.pid()));
        return out;
    }

    private Set<Long> nsPids(String ns) throws IOException, InterruptedException {
        Result r = run(List.of(ip, "netns", "pids", ns), CMD_TIMEOUT_MILLIS);
        Set<Long> out = new TreeSet<>();
        if (r.exit() != 0) return out;
        for (String l : r.output().split("\\s+")) {
            if (!l.isBlank() && l.chars().allMatch(Character::isDigit)) out.add(Long.parseLong(l));
        }
        return out;
    }

    private static void signal(String sig, Set<Long> pids) throws IOException, InterruptedException {
        if (pids.isEmpty()) return;
        List<String> cmd = new ArrayList<>(List.of("kill", "-" + sig));
        for (long pid : pids) cmd.add(Long.toString(pid));
        // Exit status is ignored: a pid may have exited between listing and signalling.
        run(cmd, CMD_TIMEOUT_MILLIS);
    }

    @Override
    public void block(String from, String to) throws Exception {
        inNs(ns(to), iptables, "-w", "5", "-A", "INPUT", "-s", ips.get(from), "-j", "DROP");
    }

    @Override
    public void loss(String id, double fraction) throws Exception {
        String p = String.format(Locale.ROOT, "%.3f", fraction);
        inNs(ns(id), iptables, "-w", "5", "-A", "INPUT", "-m", "statistic", "--mode", "random", "--probability", p, "-j", "DROP");
        inNs(ns(id), iptables, "-w", "5", "-A", "OUTPUT", "-m", "statistic", "--mode", "random", "--probability", p, "-j", "DROP");
    }

    /** htb on the replica's eth0, as in {@link ContainerBackend#slowLink}: a rate-limited class feeding a deep FIFO. */
    @Override
    public void slowLink(String id, int rateKbit) throws Exception {
        if (tc == null) Backend.super.slowLink(id, rateKbit);
        String rate = rateKbit + "kbit";
        synchronized (shaped) {
            shaped.add(id);
        }
        inNs(ns(id), tc, "qdisc", "add", "dev", "eth0", "root", "handle", "1:", "htb", "default", "10");
        inNs(ns(id), tc, "class", "add", "dev", "eth0", "parent", "1:", "classid", "1:10", "htb", "rate", rate, "ceil", rate,
                "burst", "1600", "cburst", "1600");
        inNs(ns(id), tc, "qdisc", "add", "dev", "eth0", "parent", "1:10", "handle", "10:", "pfifo", "limit", "10000");
    }

    @Override
    public String linkStats(String id) throws Exception {
        if (tc == null) return null;
        Result r = run(List.of(ip, "netns", "exec", ns(id), tc, "-s", "class", "show", "dev", "eth0", "classid", "1:10"), CMD_TIMEOUT_MILLIS);
        if (r.exit() != 0) return "tc -s failed: " + r.output().trim();
        return Backend.htbCounters(r.output());
    }

    @Override
    public void healNetwork() throws Exception {
        // Unlike a container's, a namespace outlives its killed process, so rules on a dead replica must go too.
        for (String id : ids()) {
            inNs(ns(id), iptables, "-w", "5", "-F", "INPUT");
            inNs(ns(id), iptables, "-w", "5", "-F", "OUTPUT");
            boolean wasShaped;
            synchronized (shaped) {
                wasShaped = shaped.remove(id);
            }
            if (wasShaped) inNs(ns(id), tc, "qdisc", "del", "dev", "eth0", "root");
        }
        for (String n : agentIps.keySet()) {
            inNs(agentNamespace(n), iptables, "-w", "5", "-F", "INPUT");
            inNs(agentNamespace(n), iptables, "-w", "5", "-F", "OUTPUT");
        }
    }

    @Override
    public Path diskCgroup(String id) throws Exception {
        Process p;
        synchronized (this) {
            p = processes.get(id);
        }
        if (p == null || !p.isAlive()) throw new IllegalStateException("replica " + id + " is not running");
        Path cg = null;
        for (long pid : pids(id, p)) cg = LoopDisks.localCgroup(id, pid);
        return cg;
    }

    @Override
    public LoopDisks disks() {
        return disks;
    }


    // ---- agents -----------------------------------------------------------------------------------------------

    private Path agentDir(String nodeId) {
        return dir.resolve("agents").resolve(nodeId).toAbsolutePath();
    }

    @Override
    public List<String> agentIds() {
        return new ArrayList<>(agentIps.keySet());
    }

    @Override
    public void startAgents() throws Exception {
        for (String n : agentIds()) startAgent(n);
    }

    @Override
    public synchronized void startAgent(String nodeId) throws Exception {
        if (closed) throw new IllegalStateException("netns backend is closed");
        String ns = agentNamespace(nodeId);
        if (agentRunning(nodeId)) return;
        Path d = agentDir(nodeId);
        Path pidFile = d.resolve("agent.pid");
        Files.deleteIfExists(pidFile);
        StringBuilder java = new StringBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String f : ServerConfigs.AGENT_JVM_FLAGS) java.append(' ').append(f);
        for (String f : io.cardinal.chaos.harness.LocalAgents.OPENS) java.append(' ').append(f);
        java.append(" -cp '").append(ServerConfigs.serverClasspath()).append("' io.cardinal.agent.AgentMain --config '")
                .append(d.resolve("agent.yaml")).append("' >> '").append(d.resolve("agent.log")).append("' 2>&1");
        // The daemon runs in the background so that this shell (and tini above it) outlives a kill -9 of it; the
        // pid file is renamed into place so that a reader never sees half of it. After the daemon is gone the
        // shell stays while tini has other children (the daemon's orphaned workers), so that tini reaps them.
        String script = java + " &\n"
                + "echo $! > '" + pidFile + ".tmp' && mv '" + pidFile + ".tmp' '" + pidFile + "'\n"
                + "wait $!\n"
                + (tini != null ? "while [ \"$(pgrep -c -P $PPID)\" -gt 1 ]; do sleep 1; done\n" : "");
        List<String> cmd = new ArrayList<>(List.of(ip, "netns", "exec", ns));
        if (tini != null) cmd.addAll(List.of(tini, "-s", "--"));
        cmd.addAll(List.of("/bin/sh", "-c", script));
        Process keeper = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(d.resolve("keeper.log").toFile())).start();
        List<Process> keepers = agentKeepers.computeIfAbsent(nodeId, k -> new ArrayList<>());
        keepers.removeIf(k -> !k.isAlive());
        keepers.add(keeper);
        long deadline = System.currentTimeMillis() + AGENT_START_MILLIS;
        while (!Files.exists(pidFile)) {
            if (!keeper.isAlive()) {
                throw new IllegalStateException("agent " + nodeId + ": its keeper exited with " + keeper.exitValue() + " before the agent started; see "
                        + d.resolve("keeper.log") + " and " + d.resolve("agent.log"));
            }
            if (System.currentTimeMillis() > deadline) throw new IllegalStateException("agent " + nodeId + " did not start within "
                    + AGENT_START_MILLIS + " ms (no " + pidFile + ")");
            Thread.sleep(50);
        }
    }

    /** The pid in the agent's agent.pid if that process is alive and is the agent JVM (not a recycled pid), else -1. */
    private long agentPid(String nodeId) {
        try {
            Path pidFile = agentDir(nodeId).resolve("agent.pid");
            if (!Files.exists(pidFile)) return -1;
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            // A zombie's cmdline is empty, so a daemon that died but is not yet reaped does not count.
            byte[] cmdline = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            return new String(cmdline, StandardCharsets.UTF_8).contains("io.cardinal.agent.AgentMain") ? pid : -1;
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    /** SIGKILL of the daemon's pid only: the keeper and the workers stay (the workers orphaned, as in a real crash). */
    @Override
    public void kill9Agent(String nodeId) throws Exception {
        agentNamespace(nodeId);
        long pid = agentPid(nodeId);
        if (pid < 0) return;
        signal("KILL", Set.of(pid));
        long deadline = System.currentTimeMillis() + 10_000;
        while (agentRunning(nodeId)) {
            if (System.currentTimeMillis() > deadline) throw new IllegalStateException("agent " + nodeId + " (pid " + pid + ") did not die");
            Thread.sleep(50);
        }
    }

    @Override
    public boolean agentRunning(String nodeId) {
        return agentIps.containsKey(nodeId) && agentPid(nodeId) >= 0;
    }

    @Override
    public void isolateAgent(String nodeId) throws Exception {
        String ns = agentNamespace(nodeId);
        for (String r : ips.values()) {
            inNs(ns, iptables, "-w", "5", "-A", "INPUT", "-s", r, "-j", "DROP");
            inNs(ns, iptables, "-w", "5", "-A", "OUTPUT", "-d", r, "-j", "DROP");
        }
    }

    @Override
    public Path attemptsLog(String nodeId) {
        agentNamespace(nodeId);
        return agentDir(nodeId).resolve("data").resolve("attempts.log");
    }

    /**
     * Kills every process in the agent's namespace: first all but the keepers, which are then still there to reap
     * the orphaned workers, then the keepers. Bounded; returns the pids still in the namespace (empty on success).
     */
    private Set<Long> killAgentHost(String nodeId) throws IOException, InterruptedException {
        String ns = agentNamespace(nodeId);
        Set<Long> keeperPids = new TreeSet<>();
        List<Process> keepers;
        synchronized (this) {
            keepers = new ArrayList<>(agentKeepers.getOrDefault(nodeId, List.of()));
            agentKeepers.remove(nodeId);
        }
        for (Process k : keepers) {
            if (!k.isAlive()) continue;
            keeperPids.add(k.pid());
            // tini's first child, the keeper shell, must not die before the workers either: tini exits with it.
            k.children().filter(c -> c.info().command().map(cmd -> cmd.endsWith("sh")).orElse(false)).forEach(c -> keeperPids.add(c.pid()));
        }
        long deadline = System.currentTimeMillis() + 10_000;
        Set<Long> left = nsPids(ns);
        while (System.currentTimeMillis() < deadline) {
            Set<Long> others = new TreeSet<>(left);
            others.removeAll(keeperPids);
            if (others.isEmpty()) break;
            signal("CONT", others);
            signal("KILL", others);
            Thread.sleep(50);
            left = nsPids(ns);
        }
        // The keepers' shells exit on their own once their orphans are gone; whatever is left goes now.
        signal("KILL", nsPids(ns));
        for (Process k : keepers) k.waitFor(5, TimeUnit.SECONDS);
        while (System.currentTimeMillis() < deadline) {
            left = nsPids(ns);
            if (left.isEmpty()) return left;
            signal("KILL", left);
            Thread.sleep(50);
        }
        return nsPids(ns);
    }

    @Override
    public void collectLogs(Path out) throws IOException {
        Files.createDirectories(out);
        for (String id : ids()) {
            Path log = dir.resolve(id).resolve("server.log");
            if (Files.exists(log)) Files.copy(log, out.resolve(id + ".log"), StandardCopyOption.REPLACE_EXISTING);
        }
        for (String n : agentIds()) {
            Path log = agentDir(n).resolve("agent.log");
            if (Files.exists(log)) Files.copy(log, out.resolve("agent-" + n + ".log"), StandardCopyOption.REPLACE_EXISTING);
            if (Files.exists(attemptsLog(n))) Files.copy(attemptsLog(n), out.resolve("attempts-" + n + ".log"), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // already shutting down: this is the hook itself
        }
        for (String id : ids()) {
            try {
                Process p;
                synchronized (this) {
                    p = processes.remove(id);
                }
                Set<Long> pids = p != null ? pids(id, p) : nsPids(ns(id));
                // A stopped process dies on SIGKILL too; SIGCONT first keeps no frozen leftovers if KILL races.
                signal("CONT", pids);
                signal("KILL", pids);
                if (p != null) p.waitFor(10, TimeUnit.SECONDS);
            } catch (IOException e) {
                System.err.println("netns backend: could not stop replica " + id + ": " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (String n : agentIds()) {
            try {
                Set<Long> left = killAgentHost(n);
                if (!left.isEmpty()) System.err.println("netns backend: processes of agent " + n + " did not die: " + left);
            } catch (IOException e) {
                System.err.println("netns backend: could not stop agent " + n + ": " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (disks != null) disks.close();
        List<List<String>> steps = new ArrayList<>();
        for (String id : ids()) steps.add(List.of(ip, "netns", "del", ns(id)));
        for (String n : agentIds()) steps.add(List.of(ip, "netns", "del", agentNamespace(n)));
        steps.add(List.of(ip, "link", "del", hostLink));
        steps.add(List.of(ip, "netns", "del", bridgeNs));
        for (List<String> s : steps) {
            try {
                run(s, CMD_TIMEOUT_MILLIS);
            } catch (IOException e) {
                System.err.println("netns backend: cleanup step " + String.join(" ", s) + " failed: " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Removes namespaces and root links with this backend's prefix whose creating JVM is gone (a run killed with
     * SIGKILL cannot run its shutdown hook). Runs of live JVMs are left alone.
     */
    static void sweepStale() throws IOException, InterruptedException {
        String ipTool = tool("ip");
        Result ns = run(List.of(ipTool, "netns", "list"), CMD_TIMEOUT_MILLIS);
        for (String name : staleNamespaces(ns.output())) {
            Result pids = run(List.of(ipTool, "netns", "pids", name), CMD_TIMEOUT_MILLIS);
            Set<Long> ps = new TreeSet<>();
            for (String l : pids.output().split("\\s+")) if (!l.isBlank() && l.chars().allMatch(Character::isDigit)) ps.add(Long.parseLong(l));
            signal("CONT", ps);
            // An agent host's tini must outlive the workers it adopted so that it reaps them: kill it last.
            Set<Long> keepers = new TreeSet<>();
            for (long pid : ps) if (isTini(pid)) keepers.add(pid);
            Set<Long> others = new TreeSet<>(ps);
            others.removeAll(keepers);
            signal("KILL", others);
            if (!keepers.isEmpty()) Thread.sleep(500);
            signal("KILL", ps);
            run(List.of(ipTool, "netns", "del", name), CMD_TIMEOUT_MILLIS);
            System.err.println("netns backend: removed stale namespace " + name);
        }
        Result links = run(List.of(ipTool, "-o", "link", "show"), CMD_TIMEOUT_MILLIS);
        for (String link : staleLinks(links.output())) {
            run(List.of(ipTool, "link", "del", link), CMD_TIMEOUT_MILLIS);
            System.err.println("netns backend: removed stale link " + link);
        }
    }

    private static boolean isTini(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "comm")).trim().startsWith("tini");
        } catch (IOException e) {
            return false;
        }
    }

    /** Names in {@code ip netns list} output made by this backend in a JVM that no longer exists. */
    static List<String> staleNamespaces(String ipNetnsList) {
        List<String> out = new ArrayList<>();
        for (String line : ipNetnsList.split("\n")) {
            String name = line.trim().split("\\s+")[0];
            Matcher m = NS_NAME.matcher(name);
            if (m.matches() && !alive(Long.parseLong(m.group(1)))) out.add(name);
        }
        return out;
    }

    /** Links in {@code ip -o link show} output made by this backend in a JVM that no longer exists. */
    static List<String> staleLinks(String ipOLinkShow) {
        Set<String> out = new LinkedHashSet<>();
        for (String line : ipOLinkShow.split("\n")) {
            String[] f = line.split(":\\s+", 3);
            if (f.length < 2) continue;
            String name = f[1].split("@")[0].trim();
            Matcher m = LINK_NAME.matcher(name);
            if (m.matches() && !alive(Long.parseLong(m.group(1)))) out.add(name);
        }
        return new ArrayList<>(out);
    }

    private static boolean alive(long pid) {
        return pid == ProcessHandle.current().pid() || ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** A third octet for 10.78.X.0/24 that no route of the root namespace uses (other runs, other networks). */
    private int freeSubnet(Random rnd) throws IOException, InterruptedException {
        String routes = run(List.of(ip, "-4", "route", "show", "table", "all"), CMD_TIMEOUT_MILLIS).output()
                + run(List.of(ip, "-4", "addr", "show"), CMD_TIMEOUT_MILLIS).output();
        List<Integer> free = new ArrayList<>();
        for (int s = 1; s <= 254; s++) if (!routes.contains("10.78." + s + ".")) free.add(s);
        if (free.isEmpty()) throw new IllegalStateException("no free 10.78.X.0/24 subnet in the root namespace");
        return free.get(rnd.nextInt(free.size()));
    }

    private void inNs(String ns, String... cmd) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(List.of(ip, "netns", "exec", ns));
        full.addAll(List.of(cmd));
        must(full.toArray(String[]::new));
    }

    private static void must(String... cmd) throws IOException, InterruptedException {
        Result r = run(List.of(cmd), CMD_TIMEOUT_MILLIS);
        if (r.exit() != 0) throw new IllegalStateException(String.join(" ", cmd) + " failed (exit " + r.exit() + "): " + r.output().trim());
    }

    /** A command's exit code and output. */
    public record Result(int exit, String output) {
    }

    /** Runs a command with a deadline; its output (stdout and stderr, at most 64 KiB kept) and exit code. */
    static Result run(List<String> cmd, long timeoutMillis) throws IOException, InterruptedException {
        Path outFile = Files.createTempFile("cardinal-netns", ".out");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(outFile.toFile()).start();
            if (!p.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " did not finish within " + timeoutMillis + " ms");
            }
            byte[] b = Files.readAllBytes(outFile);
            return new Result(p.exitValue(), new String(b, 0, Math.min(b.length, 64 << 10), StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(outFile);
        }
    }

    /** Absolute path of a system tool (root's sbin directories are not always on PATH), or null. */
    static String tool(String name) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.addAll(List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin"));
        for (String d : dirs) {
            if (d.isBlank()) continue;
            Path p = Path.of(d, name);
            if (Files.isExecutable(p)) return p.toString();
        }
        return null;
    }
}
