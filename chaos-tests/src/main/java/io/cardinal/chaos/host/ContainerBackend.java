package io.cardinal.chaos.host;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.transport.DockerHttpClient;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.dockerclient.TransportConfig;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.Container;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.AbstractWaitStrategy;
import org.testcontainers.utility.DockerImageName;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * Backend A: each replica is a Docker container (Testcontainers) with its own IP on a user-defined bridge network.
 * No registry is used: the image is an empty root filesystem imported locally ({@code docker import}); the host's
 * /usr (JDK included) and /etc/alternatives and the directories holding the server classpath are bind-mounted
 * read-only. Partitions and packet loss are iptables rules inside the containers (NET_ADMIN); pause is the cgroup
 * freezer; kill -9 is SIGKILL to the container's init (the JVM). Ryuk must be off (TESTCONTAINERS_RYUK_DISABLED=true):
 * {@link #close()} removes the containers and the network.
 *
 * <p>With agents, each node agent is a container of its own too (own IP, NET_ADMIN, tini as init so that orphaned
 * workers are reaped). Its main process only keeps the container up; the agent daemon is started in it with
 * {@code docker exec}, so that a kill -9 of the daemon leaves its workers running, as a real daemon crash does.
 */
public final class ContainerBackend implements Backend {
    public static final String IMAGE = "cardinal-chaos-base:1";

    private final Path dir;
    private final List<String> jvmProps;
    private final Map<String, String> ips = new LinkedHashMap<>();
    private final Map<String, GenericContainer<?>> containers = new LinkedHashMap<>();
    /** Agent node id -> IP; the agents' containers live in {@link #containers} under "agent-" + node id. */
    private final Map<String, String> agentIps = new LinkedHashMap<>();
    private final DockerClient docker;
    private Network network;
    /** Non-null when disk faults are on: each data dir is its own loop-mounted filesystem (bind-mounted with /host). */
    private final LoopDisks disks;

    public ContainerBackend(Path dir, int replicas, List<String> jvmProps) throws IOException {
        this(dir, replicas, jvmProps, false);
    }

    public ContainerBackend(Path dir, int replicas, List<String> jvmProps, boolean diskFaults) throws IOException {
        this(dir, replicas, jvmProps, diskFaults, 0);
    }

    /**
     * {@code diskFaults}: put each replica's data dir on its own small filesystem (needs root; see {@link LoopDisks}).
     * {@code agents}: node agents to run, each in a container of its own (0: none).
     */
    public ContainerBackend(Path dir, int replicas, List<String> jvmProps, boolean diskFaults, int agents) throws IOException {
        this.dir = dir;
        this.jvmProps = jvmProps;
        this.disks = LoopDisks.forFaults(diskFaults);
        this.docker = DockerClientFactory.instance().client();
        ensureImage(docker);
        int subnet = 1 + new Random().nextInt(200);
        for (int i = 1; i <= replicas; i++) ips.put("n" + i, "10.77." + subnet + "." + (10 + i));
        for (int i = 0; i < agents; i++) agentIps.put(ServerConfigs.agentNodeId(i), "10.77." + subnet + "." + (100 + i));
        Map<String, List<String>> peers = ServerConfigs.peersAt(ips, agents > 0);
        for (String id : ips.keySet()) {
            Files.createDirectories(dir.resolve(id));
            Files.writeString(dir.resolve(id).resolve("server.yaml"), ServerConfigs.yaml(id, "/host/data", peers));
            // Docker binds recursively (rbind): the loop mount under the work dir is visible as /host/data.
            if (disks != null) disks.create(id, dir.resolve(id).resolve("data"));
        }
        ServerConfigs.writeAgentConfigs(agentIps, ips.values(), cardsPerAgent(), this::agentDir, d -> "/host/data");
        String name = "cardinal-chaos-" + ProcessHandle.current().pid() + "-" + subnet;
        String cidr = "10.77." + subnet + ".0/24";
        network = Network.builder().createNetworkCmdModifier(cmd -> cmd.withName(name).withDriver("bridge")
                .withIpam(new com.github.dockerjava.api.model.Network.Ipam().withConfig(
                        new com.github.dockerjava.api.model.Network.Ipam.Config().withSubnet(cidr)))).build();
    }

    /** Imports the empty root filesystem image unless it exists (no registry, no pull). */
    static void ensureImage(DockerClient docker) throws IOException {
        try {
            docker.inspectImageCmd(IMAGE).exec();
            return;
        } catch (NotFoundException e) {
            // import it below
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(buf)) {
            for (String d : List.of("tmp/", "proc/", "sys/", "dev/", "etc/", "usr/", "opt/", "host/", "run/", "root/", "var/")) {
                TarArchiveEntry e = new TarArchiveEntry(d);
                e.setMode(d.equals("tmp/") ? 01777 : 0755);
                tar.putArchiveEntry(e);
                tar.closeArchiveEntry();
            }
            for (String[] l : new String[][]{{"bin", "usr/bin"}, {"sbin", "usr/sbin"}, {"lib", "usr/lib"}, {"lib64", "usr/lib64"}}) {
                TarArchiveEntry e = new TarArchiveEntry(l[0], TarArchiveEntry.LF_SYMLINK);
                e.setLinkName(l[1]);
                tar.putArchiveEntry(e);
                tar.closeArchiveEntry();
            }
        }
        importImage(buf.toByteArray());
    }

    /**
     * {@code POST /images/create?fromSrc=-} with the tar as the body, on docker-java's raw HTTP client: the shaded
     * {@code createImageCmd} of Testcontainers 1.21.3 sends its stream as the JSON body {@code {}} (seen with
     * Docker 20.10: "Error processing tar file: unexpected EOF"), so the image never got imported on a new machine.
     */
    private static void importImage(byte[] tar) throws IOException {
        String[] nt = IMAGE.split(":");
        TransportConfig transport = DockerClientFactory.instance().getTransportConfig();
        try (DockerHttpClient http = new ZerodepDockerHttpClient.Builder()
                .dockerHost(transport.getDockerHost()).sslConfig(transport.getSslConfig()).build()) {
            DockerHttpClient.Request request = DockerHttpClient.Request.builder()
                    .method(DockerHttpClient.Request.Method.POST)
                    .path("/images/create?fromSrc=-&repo=" + nt[0] + "&tag=" + nt[1])
                    .putHeader("Content-Type", "application/x-tar")
                    .body(new ByteArrayInputStream(tar))
                    .build();
            try (DockerHttpClient.Response response = http.execute(request)) {
                // The engine answers 200 with a JSON progress stream; a failed import says "error" in it.
                String body = new String(response.getBody().readAllBytes(), StandardCharsets.UTF_8);
                if (response.getStatusCode() != 200 || body.contains("\"error\"")) {
                    throw new IOException("docker import of " + IMAGE + " failed (HTTP " + response.getStatusCode() + "): " + body.strip());
                }
            }
        }
    }

    @Override
    public String name() {
        return "containers";
    }

    @Override
    public Set<String> capabilities() {
        Set<String> caps = new java.util.HashSet<>(Set.of(KILL, PAUSE, NETWORK, SHAPE));
        if (disks != null) caps.add(DISK);
        if (!agentIps.isEmpty()) caps.addAll(List.of(AGENTS, AGENT_NETWORK));
        return Set.copyOf(caps);
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
    public void startAll() {
        for (String id : ids()) {
            GenericContainer<?> c = container(id);
            c.start();
            containers.put(id, c);
        }
    }

    private GenericContainer<?> container(String id) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = serverClasspath();
        StringBuilder cmd = new StringBuilder("exec ").append(java);
        for (String f : ServerConfigs.JVM_FLAGS) cmd.append(' ').append(f);
        for (String p : jvmProps) cmd.append(' ').append(p);
        cmd.append(" -cp '").append(cp).append("' io.cardinal.server.ServerMain --config /host/server.yaml >> /host/server.log 2>&1");
        return container(id, ips.get(id), dir.resolve(id), cmd.toString(), false, 640L << 20);
    }

    /** A host on the run's network: its own IP, the host's /usr (JDK) and classpath read-only, {@code work} at /host. */
    private GenericContainer<?> container(String id, String ip, Path work, String shellCommand, boolean init, long memoryBytes) {
        String cp = serverClasspath();
        GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse(IMAGE))
                .withNetwork(network)
                .withNetworkAliases(id)
                .withFileSystemBind("/usr", "/usr", BindMode.READ_ONLY)
                .withFileSystemBind("/etc/alternatives", "/etc/alternatives", BindMode.READ_ONLY)
                .withFileSystemBind(work.toAbsolutePath().toString(), "/host", BindMode.READ_WRITE)
                .withCommand("/bin/sh", "-c", shellCommand)
                .waitingFor(new AbstractWaitStrategy() {
                    @Override
                    protected void waitUntilReady() {
                        // readiness is the harness's own bounded wait for a leader
                    }
                })
                .withCreateContainerCmdModifier(cc -> {
                    cc.withName("cardinal-chaos-" + ProcessHandle.current().pid() + "-" + id + "-" + ip.replace('.', '-'));
                    cc.withHostName(id);
                    cc.withIpv4Address(ip);
                    cc.getHostConfig().withCapAdd(Capability.NET_ADMIN).withMemory(memoryBytes).withInit(init);
                });
        // Debian's JDK keeps its conf (java.security...) under /etc/java-N-openjdk, linked from java.home/conf.
        Path jdkEtc = Path.of("/etc/java-" + Runtime.version().feature() + "-openjdk");
        if (Files.isDirectory(jdkEtc)) c.withFileSystemBind(jdkEtc.toString(), jdkEtc.toString(), BindMode.READ_ONLY);
        for (String root : classpathRoots(cp)) {
            if (!root.startsWith("/usr/")) c.withFileSystemBind(root, root, BindMode.READ_ONLY);
        }
        return c;
    }

    /** The server classpath (see {@link ServerConfigs#serverClasspath()}). */
    static String serverClasspath() {
        return ServerConfigs.serverClasspath();
    }

    /** The directories to mount so that every classpath entry exists at the same path inside the container. */
    static Set<String> classpathRoots(String cp) {
        TreeSet<String> dirs = new TreeSet<>();
        for (String e : cp.split(File.pathSeparator)) {
            if (e.isBlank()) continue;
            Path p = Path.of(e.endsWith("*") ? e.substring(0, e.length() - 1) : e).toAbsolutePath().normalize();
            Path d = Files.isDirectory(p) ? p : p.getParent();
            if (d != null) dirs.add(d.toString());
        }
        // Keep only outermost directories (a bind inside another bind is redundant).
        TreeSet<String> out = new TreeSet<>();
        for (String d : dirs) {
            boolean covered = false;
            for (String o : out) if (d.startsWith(o + "/")) covered = true;
            if (!covered) out.add(d);
        }
        // Collapse many jars of a Maven repository into the repository itself.
        TreeSet<String> collapsed = new TreeSet<>();
        for (String d : out) {
            int m2 = d.indexOf("/.m2/repository");
            collapsed.add(m2 >= 0 ? d.substring(0, m2 + "/.m2/repository".length()) : d);
        }
        TreeSet<String> fin = new TreeSet<>();
        for (String d : collapsed) {
            boolean covered = false;
            for (String o : fin) if (d.startsWith(o + "/")) covered = true;
            if (!covered) fin.add(d);
        }
        return fin;
    }

    private String cid(String id) {
        return containers.get(id).getContainerId();
    }

    @Override
    public void start(String id) throws Exception {
        if (running(id)) return;
        docker.startContainerCmd(cid(id)).exec();
    }

    @Override
    public void kill9(String id) throws Exception {
        if (!running(id)) return;
        docker.killContainerCmd(cid(id)).withSignal("KILL").exec();
        long deadline = System.currentTimeMillis() + 10_000;
        while (running(id)) {
            if (System.currentTimeMillis() > deadline) throw new IllegalStateException("container " + id + " did not die");
            Thread.sleep(50);
        }
    }

    @Override
    public boolean running(String id) {
        try {
            Boolean r = docker.inspectContainerCmd(cid(id)).exec().getState().getRunning();
            return r != null && r;
        } catch (NotFoundException e) {
            return false;
        }
    }

    @Override
    public void pause(String id) throws InterruptedException {
        // The cgroup freezer sometimes refuses ("unable to freeze") while a just-restarted container still has
        // processes exiting; a 25-minute soak saw it 4 times in 166 faults. Retry briefly before giving up.
        RuntimeException last = null;
        for (int attempt = 0; attempt < PAUSE_TRIES; attempt++) {
            try {
                docker.pauseContainerCmd(cid(id)).exec();
                return;
            } catch (RuntimeException e) {
                last = e;
                Thread.sleep(PAUSE_RETRY_MILLIS);
            }
        }
        throw last;
    }

    private static final int PAUSE_TRIES = 4;
    private static final long PAUSE_RETRY_MILLIS = 750;

    @Override
    public void resume(String id) {
        try {
            docker.unpauseContainerCmd(cid(id)).exec();
        } catch (RuntimeException e) {
            // not paused (e.g. killed meanwhile)
        }
    }

    @Override
    public void block(String from, String to) throws Exception {
        exec(to, "iptables", "-A", "INPUT", "-s", ips.get(from), "-j", "DROP");
    }

    @Override
    public void loss(String id, double fraction) throws Exception {
        String p = String.format(java.util.Locale.ROOT, "%.3f", fraction);
        exec(id, "iptables", "-A", "INPUT", "-m", "statistic", "--mode", "random", "--probability", p, "-j", "DROP");
        exec(id, "iptables", "-A", "OUTPUT", "-m", "statistic", "--mode", "random", "--probability", p, "-j", "DROP");
    }

    /**
     * htb on the container's eth0: one class at {@code rateKbit} (burst one MTU) feeding a 10 000-packet FIFO, so
     * the replica's sends queue instead of being dropped. tc comes from the host's /usr, bind-mounted.
     */
    @Override
    public void slowLink(String id, int rateKbit) throws Exception {
        String rate = rateKbit + "kbit";
        exec(id, "tc", "qdisc", "add", "dev", "eth0", "root", "handle", "1:", "htb", "default", "10");
        exec(id, "tc", "class", "add", "dev", "eth0", "parent", "1:", "classid", "1:10", "htb", "rate", rate, "ceil", rate,
                "burst", "1600", "cburst", "1600");
        exec(id, "tc", "qdisc", "add", "dev", "eth0", "parent", "1:10", "handle", "10:", "pfifo", "limit", "10000");
        shaped.add(id);
    }

    private final Set<String> shaped = new java.util.HashSet<>();

    /** The htb class's counters, one line: "Sent B bytes P pkt (dropped D, overlimits O requeues R) backlog ...". */
    @Override
    public String linkStats(String id) throws Exception {
        Container.ExecResult r = containers.get(id).execInContainer("tc", "-s", "class", "show", "dev", "eth0", "classid", "1:10");
        if (r.getExitCode() != 0) return "tc -s failed: " + r.getStderr().trim();
        return Backend.htbCounters(r.getStdout());
    }

    @Override
    public void healNetwork() throws Exception {
        for (String id : ids()) {
            if (!running(id)) continue;
            exec(id, "iptables", "-F", "INPUT");
            exec(id, "iptables", "-F", "OUTPUT");
            // a restarted container has a fresh network namespace, without the qdisc: then del fails, harmlessly
            if (shaped.remove(id)) containers.get(id).execInContainer("tc", "qdisc", "del", "dev", "eth0", "root");
        }
        for (String n : agentIds()) {
            if (!containers.containsKey("agent-" + n)) continue;
            exec("agent-" + n, "iptables", "-F", "INPUT");
            exec("agent-" + n, "iptables", "-F", "OUTPUT");
        }
    }

    @Override
    public Path diskCgroup(String id) throws Exception {
        // cgroupfs driver, cgroup v1: each container has its own blkio cgroup under docker/<full id>
        Path cg = LoopDisks.BLKIO.resolve("docker").resolve(cid(id));
        if (!Files.isDirectory(cg)) throw new IllegalStateException("no blkio cgroup " + cg + " for " + id + " (needs Docker's cgroupfs driver on cgroup v1)");
        return cg;
    }

    @Override
    public LoopDisks disks() {
        return disks;
    }

    private void exec(String id, String... cmd) throws Exception {
        Container.ExecResult r = containers.get(id).execInContainer(cmd);
        if (r.getExitCode() != 0) throw new IllegalStateException(id + ": " + String.join(" ", cmd) + " failed: " + r.getStderr());
    }

    // ---- agents -----------------------------------------------------------------------------------------------

    private Path agentDir(String nodeId) {
        return dir.resolve("agents").resolve(nodeId);
    }

    @Override
    public List<String> agentIds() {
        return new ArrayList<>(agentIps.keySet());
    }

    @Override
    public void startAgents() throws Exception {
        for (String n : agentIds()) {
            if (containers.containsKey("agent-" + n)) continue;
            // The main process only keeps the host up. It is tini (docker.io's docker-init, from the host's /usr: Docker's
            // own --init cannot mount into this image's read-only /sbin) so that the workers a crashed daemon leaves are
            // reaped when the restarted agent kills them.
            String keeper = Files.isExecutable(Path.of("/usr/bin/tini")) ? "exec /usr/bin/tini -s -- sleep infinity" : "exec sleep infinity";
            GenericContainer<?> c = container("agent-" + n, agentIps.get(n), agentDir(n), keeper, false, 512L << 20);
            c.start();
            containers.put("agent-" + n, c);
            startAgent(n);
        }
    }

    @Override
    public void startAgent(String nodeId) throws Exception {
        if (agentRunning(nodeId)) return;
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        StringBuilder cmd = new StringBuilder("echo $$ > /host/agent.pid; exec ").append(javaBin);
        for (String f : ServerConfigs.AGENT_JVM_FLAGS) cmd.append(' ').append(f);
        for (String f : io.cardinal.chaos.harness.LocalAgents.OPENS) cmd.append(' ').append(f);
        cmd.append(" -cp '").append(serverClasspath()).append("' io.cardinal.agent.AgentMain --config /host/agent.yaml >> /host/agent.log 2>&1");
        String cid = containers.get("agent-" + nodeId).getContainerId();
        Files.deleteIfExists(agentDir(nodeId).resolve("agent.pid"));
        String exec = docker.execCreateCmd(cid).withCmd("/bin/sh", "-c", cmd.toString()).exec().getId();
        docker.execStartCmd(exec).withDetach(true).exec(new com.github.dockerjava.api.async.ResultCallback.Adapter<>()).awaitCompletion(10,
                java.util.concurrent.TimeUnit.SECONDS);
        long deadline = System.currentTimeMillis() + 10_000;
        while (!Files.exists(agentDir(nodeId).resolve("agent.pid"))) {
            if (System.currentTimeMillis() > deadline) throw new IllegalStateException("agent " + nodeId + " did not start (no agent.pid)");
            Thread.sleep(50);
        }
    }

    @Override
    public void kill9Agent(String nodeId) throws Exception {
        GenericContainer<?> c = containers.get("agent-" + nodeId);
        if (c == null || !agentRunning(nodeId)) return;
        c.execInContainer("/bin/sh", "-c", "kill -9 $(cat /host/agent.pid)");
        long deadline = System.currentTimeMillis() + 10_000;
        while (agentRunning(nodeId)) {
            if (System.currentTimeMillis() > deadline) throw new IllegalStateException("agent " + nodeId + " did not die");
            Thread.sleep(50);
        }
    }

    @Override
    public boolean agentRunning(String nodeId) {
        GenericContainer<?> c = containers.get("agent-" + nodeId);
        if (c == null) return false;
        try {
            // A pid file and a live process with it that is the agent JVM (not a recycled pid).
            return c.execInContainer("/bin/sh", "-c", "p=$(cat /host/agent.pid 2>/dev/null) && grep -q AgentMain /proc/$p/cmdline")
                    .getExitCode() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    @Override
    public void isolateAgent(String nodeId) throws Exception {
        String a = "agent-" + nodeId;
        for (String ip : ips.values()) {
            exec(a, "iptables", "-A", "INPUT", "-s", ip, "-j", "DROP");
            exec(a, "iptables", "-A", "OUTPUT", "-d", ip, "-j", "DROP");
        }
    }

    @Override
    public Path attemptsLog(String nodeId) {
        return agentDir(nodeId).resolve("data").resolve("attempts.log");
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
        for (String id : new ArrayList<>(containers.keySet())) {
            GenericContainer<?> c = containers.get(id);
            if (c == null) continue;
            if (ips.containsKey(id)) resume(id);
            try {
                docker.removeContainerCmd(c.getContainerId()).withForce(true).withRemoveVolumes(true).exec();
            } catch (RuntimeException e) {
                // already gone
            }
        }
        containers.clear();
        if (disks != null) disks.close();
        if (network != null) {
            try {
                network.close();
            } catch (RuntimeException e) {
                // best effort
            }
            network = null;
        }
    }
}
