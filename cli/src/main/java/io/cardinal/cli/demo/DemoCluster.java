package io.cardinal.cli.demo;

import io.cardinal.cli.dev.DevLayout;
import io.cardinal.cli.dev.Ports;
import io.cardinal.cli.dev.Readiness;
import io.cardinal.cli.dev.Replica;
import io.cardinal.cli.dev.ReplicaProcesses;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The processes of a demo: a dev cluster of real {@code cardinal-server} replicas (the `dev up` code) and real
 * {@code cardinal-agent} daemons, each started under {@code setsid} so it leads its own process group (its workers
 * run in that group too). {@link #close()} stops all of them and is safe to call twice and from a shutdown hook.
 */
public final class DemoCluster implements AutoCloseable {
  /** The agents' JVM flags: small heaps and quick start-up on a small machine (workers inherit them). */
  static final String AGENT_JAVA_OPTS = "-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1";
  static final int HEARTBEAT_MILLIS = 500;
  static final Duration AGENT_STOP_GRACE = Duration.ofSeconds(3);
  static final Duration SERVER_STOP_GRACE = Duration.ofSeconds(5);

  /** One agent: its node, its directory DIR/agents/&lt;node&gt;/ and the pid (= process group) it runs as. */
  public record Agent(String nodeId, String supernodeId, Path dir, String peerAddress, String adminAddress,
      long pid) {
    public Path configFile() {
      return dir.resolve("agent.yaml");
    }

    public Path logFile() {
      return dir.resolve("agent.log");
    }
  }

  private final Path home;
  private final Path dir;
  private final PrintStream log;
  private List<Replica> replicas = List.of();
  private final List<Agent> agents = new ArrayList<>();
  private final List<Long> killed = new ArrayList<>();
  private boolean closed;

  public DemoCluster(Path cardinalHome, Path dir, PrintStream log) {
    this.home = cardinalHome;
    this.dir = dir.toAbsolutePath().normalize();
    this.log = log;
  }

  public Path dir() {
    return dir;
  }

  public synchronized List<Replica> replicas() {
    return replicas;
  }

  public synchronized List<Agent> agents() {
    return List.copyOf(agents);
  }

  public String servers() {
    return DevLayout.servers(replicas());
  }

  /** Writes the replicas' configs, starts them and waits for a leader and a healthy majority. */
  public Readiness.State startServers(Duration timeout) {
    List<Replica> layout = DevLayout.plan(dir, 3, null);
    DevLayout.write(layout);
    ReplicaProcesses processes = new ReplicaProcesses(home);
    synchronized (this) {
      checkOpen();
      replicas = layout;
    }
    for (Replica r : layout) {
      long pid;
      synchronized (this) {
        checkOpen();
        pid = processes.start(r);
      }
      log.println("  started server " + r.id() + " (pid " + pid + ", http " + r.httpAddress() + ")");
    }
    try {
      Files.writeString(dir.resolve("servers"), DevLayout.servers(layout) + "\n");
    } catch (IOException e) {
      throw new IllegalStateException("cannot write " + dir.resolve("servers") + ": " + e.getMessage(), e);
    }
    List<String> http = new ArrayList<>();
    layout.forEach(r -> http.add(r.httpAddress()));
    return new Readiness().await(http, timeout,
        () -> layout.stream().anyMatch(r -> ReplicaProcesses.live(r).isPresent()));
  }

  /** Starts one agent per (node, supernode) with {@code cards} simulated cards of {@code model}. */
  public void startAgents(List<Map.Entry<String, String>> nodes, int cards, String model) {
    List<Integer> ports = Ports.free(2 * nodes.size());
    List<String> gateways = new ArrayList<>();
    replicas().forEach(r -> gateways.add(r.agentAddress()));
    Path agentBinary = home.resolve("bin").resolve("cardinal-agent");
    if (!Files.isExecutable(agentBinary)) {
      throw new IllegalStateException("cannot run " + agentBinary + " (missing or not executable)");
    }
    for (int i = 0; i < nodes.size(); i++) {
      String nodeId = nodes.get(i).getKey();
      String supernodeId = nodes.get(i).getValue();
      Path agentDir = dir.resolve("agents").resolve(nodeId);
      String peer = "127.0.0.1:" + ports.get(2 * i);
      String admin = "127.0.0.1:" + ports.get(2 * i + 1);
      StringBuilder yaml = new StringBuilder()
          .append("# Written by 'cardinal demo'; see agent/src/main/dist/agent.example.yaml.\n")
          .append("nodeId: ").append(nodeId).append('\n')
          .append("supernodeId: ").append(supernodeId).append('\n')
          .append("servers:\n");
      gateways.forEach(g -> yaml.append("  - ").append(g).append('\n'));
      yaml.append("dataDir: ").append(agentDir.resolve("data")).append('\n')
          .append("peerAddress: ").append(peer).append('\n')
          .append("adminAddress: ").append(admin).append('\n')
          .append("cards: {count: ").append(cards).append(", model: ").append(model)
          .append(", memoryMib: 81920}\n")
          .append("heartbeatIntervalMillis: ").append(HEARTBEAT_MILLIS).append('\n')
          .append("killGraceMillis: 1000\n");
      Agent a;
      try {
        Files.createDirectories(agentDir.resolve("data"));
        Files.writeString(agentDir.resolve("agent.yaml"), yaml.toString());
        ProcessBuilder pb = new ProcessBuilder(detached(agentBinary.toString(), "--config",
            agentDir.resolve("agent.yaml").toString()))
            .directory(agentDir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(agentDir.resolve("agent.log").toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("CARDINAL_JAVA_OPTS", AGENT_JAVA_OPTS);
        synchronized (this) {
          checkOpen();
          Process p = pb.start();
          // setsid execs in place (a fresh child is no group leader) and the launcher execs java: this pid is the
          // agent's own and the id of its process group.
          a = new Agent(nodeId, supernodeId, agentDir, peer, admin, p.pid());
          agents.add(a);
        }
        Files.writeString(agentDir.resolve("pid"), a.pid() + "\n");
      } catch (IOException e) {
        throw new IllegalStateException("cannot start the agent of " + nodeId + ": " + e.getMessage(), e);
      }
      log.println("  started agent " + nodeId + " of " + supernodeId + " (pid " + a.pid() + ", log "
          + a.logFile() + ")");
    }
  }

  public Optional<Agent> agent(String nodeId) {
    return agents().stream().filter(a -> a.nodeId().equals(nodeId)).findFirst();
  }

  /** Whether the agent's process is still alive (it exits on a bad config or a port in use). */
  public static boolean alive(Agent a) {
    return ProcessHandle.of(a.pid()).map(ProcessHandle::isAlive).orElse(false);
  }

  /** SIGKILL to the agent's whole process group: the node and its workers vanish at once, as in a power loss. */
  public void killNode(Agent a) {
    signalGroup(a.pid(), "KILL");
    synchronized (this) {
      killed.add(a.pid());
    }
    awaitGroupGone(a.pid(), Duration.ofSeconds(5));
  }

  /** Stops every agent (and its workers) and every replica. Idempotent. */
  @Override
  public void close() {
    List<Agent> toStop;
    List<Replica> servers;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      toStop = List.copyOf(agents);
      servers = replicas;
    }
    // Everything gets SIGTERM at once, so the waits overlap.
    for (Agent a : toStop) {
      if (groupAlive(a.pid())) {
        signalGroup(a.pid(), "TERM");
      }
    }
    List<ProcessHandle> live = new ArrayList<>();
    for (Replica r : servers) {
      ReplicaProcesses.live(r).ifPresent(h -> {
        h.destroy();
        live.add(h);
      });
    }
    long agentsDeadline = System.nanoTime() + AGENT_STOP_GRACE.toNanos();
    for (Agent a : toStop) {
      Duration left = Duration.ofNanos(Math.max(0, agentsDeadline - System.nanoTime()));
      if (!awaitGroupGone(a.pid(), left)) {
        signalGroup(a.pid(), "KILL");
        awaitGroupGone(a.pid(), Duration.ofSeconds(5));
      }
    }
    for (ProcessHandle h : live) {
      if (!ReplicaProcesses.awaitExit(h, SERVER_STOP_GRACE)) {
        h.destroyForcibly();
        ReplicaProcesses.awaitExit(h, Duration.ofSeconds(5));
      }
    }
    for (Replica r : servers) {
      try {
        Files.deleteIfExists(r.pidFile());
      } catch (IOException ignored) {
        // The directory may be deleted next anyway.
      }
    }
  }

  /** What is still running after {@link #close()}: a line per leftover, empty when everything is gone. */
  public List<String> leftovers() {
    List<String> left = new ArrayList<>();
    for (Agent a : agents()) {
      if (groupAlive(a.pid())) {
        left.add("process group " + a.pid() + " (agent " + a.nodeId() + ")");
      }
    }
    for (Replica r : replicas()) {
      ReplicaProcesses.live(r).ifPresent(h -> left.add("server " + r.id() + " (pid " + h.pid() + ")"));
    }
    return left;
  }

  /** Whether {@link #close()} has begun (the demo ended, or Ctrl-C). */
  public synchronized boolean closed() {
    return closed;
  }

  private synchronized void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the demo is shutting down");
    }
  }

  static boolean groupAlive(long pgid) {
    return kill("-0", pgid) == 0;
  }

  static void signalGroup(long pgid, String signal) {
    kill("-" + signal, pgid);
  }

  static boolean awaitGroupGone(long pgid, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (groupAlive(pgid)) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      try {
        TimeUnit.MILLISECONDS.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return !groupAlive(pgid);
      }
    }
    return true;
  }

  /** kill(1) on a process group; returns its exit status (0: the group exists and was signalled). */
  private static int kill(String signalFlag, long pgid) {
    if (pgid <= 1) {
      throw new IllegalArgumentException("not a process group: " + pgid);
    }
    try {
      Process k = new ProcessBuilder("kill", signalFlag, "--", "-" + pgid).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (!k.waitFor(5, TimeUnit.SECONDS)) {
        k.destroyForcibly();
        return -1;
      }
      return k.exitValue();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private static List<String> detached(String... command) {
    for (String setsid : List.of("/usr/bin/setsid", "/bin/setsid")) {
      if (Files.isExecutable(Path.of(setsid))) {
        List<String> all = new ArrayList<>();
        all.add(setsid);
        all.addAll(List.of(command));
        return all;
      }
    }
    throw new IllegalStateException("setsid is needed to give each agent its own process group (util-linux)");
  }
}
