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
 * </ul>
 * Partitions and packet loss are iptables rules in the replica's namespace, as in {@link ContainerBackend};
 * kill -9 and SIGSTOP/SIGCONT go to every process in the replica's namespace (the whole "host", like a container).
 * {@link #close()} (also run by a shutdown hook) deletes the namespaces and the root veth; the constructor first
 * sweeps what runs whose JVM is gone left behind.
 */
public final class NetnsBackend implements Backend {
    static final String PREFIX = "cch";
    static final int RAFT_PORT = 7000;
    static final int HTTP_PORT = 8000;
    static final long CMD_TIMEOUT_MILLIS = 15_000;
    static final int MAX_REPLICAS = 200;

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
    private boolean closed;

    public NetnsBackend(Path dir, int replicas, List<String> jvmProps) throws IOException, InterruptedException {
        this(dir, replicas, jvmProps, false);
    }

    /** {@code diskFaults}: put each replica's data dir on its own small filesystem (see {@link LoopDisks}). */
    public NetnsBackend(Path dir, int replicas, List<String> jvmProps, boolean diskFaults) throws IOException, InterruptedException {
        String why = unavailableReason();
        if (why != null) throw new IllegalStateException("backend netns is not available: " + why);
        if (replicas < 1 || replicas > MAX_REPLICAS) throw new IllegalArgumentException("netns backend: replicas must be 1.." + MAX_REPLICAS + ", got " + replicas);
        this.dir = dir;
        this.jvmProps = jvmProps;
        this.ip = tool("ip");
        this.iptables = tool("iptables");
        this.tc = tool("tc");
        this.disks = LoopDisks.forFaults(diskFaults);
        sweepStale();
        int subnet = freeSubnet(new Random());
        long pid = ProcessHandle.current().pid();
        this.tag = PREFIX + "-" + pid + "-" + subnet;
        this.bridgeNs = tag + "-br";
        this.hostLink = PREFIX + pid + "-" + subnet;
        for (int i = 1; i <= replicas; i++) ips.put("n" + i, "10.78." + subnet + "." + (10 + i));
        Map<String, List<String>> peers = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : ips.entrySet()) {
            peers.put(e.getKey(), List.of(e.getValue() + ":" + RAFT_PORT, e.getValue() + ":" + HTTP_PORT));
        }
        for (String id : ips.keySet()) {
            Files.createDirectories(dir.resolve(id));
            Files.writeString(dir.resolve(id).resolve("server.yaml"),
                    ServerConfigs.yaml(id, dir.resolve(id).resolve("data").toAbsolutePath().toString(), peers));
            // Mounted before the replica starts: ip netns exec's private mount namespace is a copy of this one.
            if (disks != null) disks.create(id, dir.resolve(id).resolve("data").toAbsolutePath());
        }
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
        for (Map.Entry<String, String> e : ips.entrySet()) {
            String ns = ns(e.getKey());
            must(ip, "netns", "add", ns);
            inNs(ns, ip, "link", "set", "lo", "up");
            must(ip, "link", "add", "name", "eth0", "netns", ns, "type", "veth", "peer", "name", "v-" + e.getKey(), "netns", bridgeNs);
            inNs(ns, ip, "addr", "add", e.getValue() + "/24", "dev", "eth0");
            inNs(ns, ip, "link", "set", "eth0", "up");
            inNs(bridgeNs, ip, "link", "set", "v-" + e.getKey(), "master", "br0", "up");
        }
    }

    private String ns(String id) {
        return tag + "-" + id;
    }

    /** The run's namespaces and root-namespace link, for tests and diagnostics. */
    public List<String> namespaces() {
        List<String> out = new ArrayList<>();
        out.add(bridgeNs);
        for (String id : ips.keySet()) out.add(ns(id));
        return out;
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
        return caps;
    }

    @Override
    public List<String> ids() {
        return new ArrayList<>(ips.keySet());
    }

    @Override
    public String httpAddress(String id) {
        return ips.get(id) + ":" + HTTP_PORT;
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

    @Override
    public void collectLogs(Path out) throws IOException {
        Files.createDirectories(out);
        for (String id : ids()) {
            Path log = dir.resolve(id).resolve("server.log");
            if (Files.exists(log)) Files.copy(log, out.resolve(id + ".log"), StandardCopyOption.REPLACE_EXISTING);
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
        if (disks != null) disks.close();
        List<List<String>> steps = new ArrayList<>();
        for (String id : ids()) steps.add(List.of(ip, "netns", "del", ns(id)));
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

    record Result(int exit, String output) {
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
