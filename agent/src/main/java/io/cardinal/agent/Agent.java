package io.cardinal.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.cardinal.agent.checkpoint.CheckpointApi;
import io.cardinal.agent.checkpoint.ShardStore;
import io.cardinal.agent.config.AgentConfig;
import io.cardinal.agent.config.AgentConfigLoader;
import io.cardinal.agent.config.HostPort;
import io.cardinal.agent.inventory.CardDiscovery;
import io.cardinal.agent.launcher.AttemptLog;
import io.cardinal.agent.launcher.Launcher;
import io.cardinal.agent.net.PeerClient;
import io.cardinal.agent.net.PeerServer;
import io.cardinal.agent.net.ServerSession;
import io.cardinal.agent.outbox.Outbox;
import io.cardinal.protocol.v1.AgentFrame;
import io.cardinal.protocol.v1.Assign;
import io.cardinal.protocol.v1.AssignRefused;
import io.cardinal.protocol.v1.CardHealth;
import io.cardinal.protocol.v1.CardInfo;
import io.cardinal.protocol.v1.CardRef;
import io.cardinal.protocol.v1.CheckpointDurable;
import io.cardinal.protocol.v1.CheckpointProgress;
import io.cardinal.protocol.v1.CheckpointRejected;
import io.cardinal.protocol.v1.EnvVar;
import io.cardinal.protocol.v1.Fence;
import io.cardinal.protocol.v1.Heartbeat;
import io.cardinal.protocol.v1.Hello;
import io.cardinal.protocol.v1.Inventory;
import io.cardinal.protocol.v1.RankAssignment;
import io.cardinal.protocol.v1.Report;
import io.cardinal.protocol.v1.ReportType;
import io.cardinal.protocol.v1.ShardPutAck;
import io.cardinal.protocol.v1.Stop;
import io.cardinal.protocol.v1.TaskExited;
import io.cardinal.protocol.v1.TaskStarted;
import io.cardinal.protocol.v1.TaskState;
import io.cardinal.protocol.v1.TaskStatus;
import io.cardinal.protocol.v1.Welcome;
import io.cardinal.protocol.wire.Frames;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node agent. One thread ("agent-state") owns everything that changes: the node epoch, card
 * health, jobs and their attempts, worker processes, checkpoint progress and the outbox. Network
 * handlers, process exits, the checkpoint API and the admin endpoint only hand work to that thread;
 * slow work (checksums, shard transfers, restores) runs on small bounded pools and hands its result
 * back. After each change the state thread publishes an immutable {@link Status} that heartbeats and
 * the admin endpoint read without locking.
 */
public final class Agent implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Agent.class);
  public static final String VERSION = "0.1.0";
  private static final int MAX_JOBS = 1024;
  private static final int MAX_SENDS_PER_SWEEP = 256;
  private static final long SWEEP_INTERVAL_MILLIS = 200;
  /** How often the state thread checks the lease; part of what {@link Lease#FENCE_MARGIN_MILLIS} covers. */
  private static final long LEASE_CHECK_INTERVAL_MILLIS = 100;
  private static final int MAX_REPLICATION_TRIES = 10;
  private static final int IO_QUEUE = 1024;

  private final AgentConfig config;
  private final Path dataDir;
  private final ScheduledExecutorService stateThread;
  private final ThreadPoolExecutor io;
  private final ThreadPoolExecutor replicator;
  private final ThreadPoolExecutor peerSenders;
  private final EventLoopGroup group;
  private final ShardStore store;
  private final Outbox outbox;
  private final AttemptLog attemptLog;
  private final Launcher launcher;
  private final PeerServer peerServer;
  private final PeerClient peerClient;
  private final CheckpointApi checkpointApi;
  private final CompletableFuture<String> fatal = new CompletableFuture<>();
  private ServerSession session;
  private AdminServer admin;
  private HostPort peerAddress;
  private HostPort apiAddress;
  private HostPort adminAddress;

  // Owned by the state thread.
  private long epoch;
  private final List<CardInfo> cards = new ArrayList<>();
  private String discovery;
  private final Map<String, Job> jobs = new LinkedHashMap<>();
  private ServerSession.Link link;
  private final Lease lease;
  private volatile long epochForHello;
  private volatile Status status;

  /** What heartbeats and the admin endpoint show; replaced whole after every change. */
  public record Status(String nodeId, long epoch, String session, String server, List<CardInfo> cards,
      List<TaskStatus> tasks, List<CheckpointProgress> checkpoints, int pendingReports) {}

  private static final class Job {
    final String id;
    long heldAttempt; // highest attempt accepted (or started, per the attempt log)
    long fenceFloor; // attempts below this are void
    Assign current;
    final Map<Integer, Task> tasks = new TreeMap<>();
    final Map<Integer, CheckpointProgress> progress = new TreeMap<>();

    Job(String id) {
      this.id = id;
    }

    boolean live() {
      return tasks.values().stream().anyMatch(t -> t.state == TaskState.TASK_STATE_RUNNING
          || t.state == TaskState.TASK_STATE_PREPARING);
    }
  }

  private static final class Task {
    final int rank;
    final int localRank;
    final long attempt;
    final List<Integer> cards;
    TaskState state = TaskState.TASK_STATE_PREPARING;
    Process process;
    long pid;
    long step;
    int exitCode;
    String shardSource = "none";
    Path checkpointDir;

    Task(int rank, int localRank, long attempt, List<Integer> cards) {
      this.rank = rank;
      this.localRank = localRank;
      this.attempt = attempt;
      this.cards = cards;
    }
  }

  public Agent(AgentConfig config) {
    this.config = config;
    this.dataDir = config.dataDir();
    try {
      Files.createDirectories(dataDir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create data dir " + dataDir, e);
    }
    this.stateThread = Executors.newSingleThreadScheduledExecutor(named("agent-state"));
    this.io = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(IO_QUEUE), named("agent-io"));
    this.replicator = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(IO_QUEUE),
        named("agent-replicator"));
    // Serving ShardGet has its own pool: if it shared agent-io with restores, two agents restoring
    // from each other could each block all their I/O threads waiting on the other.
    this.peerSenders = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(64),
        named("agent-peer-send"));
    this.group = new MultiThreadIoEventLoopGroup(2, named("agent-net"), NioIoHandler.newFactory());
    this.store = new ShardStore(dataDir, config.keepCheckpoints(), config.fsyncShards());
    this.outbox = new Outbox(dataDir.resolve("outbox"), config.nodeId());
    this.attemptLog = new AttemptLog(dataDir.resolve("attempts.log"));
    this.launcher = new Launcher(attemptLog);
    this.peerServer = new PeerServer(config.nodeId(), store, peerSenders, config.shardTransferTimeoutMillis());
    this.peerClient = new PeerClient(group, config.nodeId(), store, config.connectTimeoutMillis(),
        config.shardTransferTimeoutMillis());
    this.checkpointApi = new CheckpointApi(this::onCheckpointApi);
    this.lease = new Lease(config.killGraceMillis());
  }

  private static java.util.concurrent.ThreadFactory named(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /** Starts listening and connecting. Throws when a port cannot be bound or the inventory cannot be read. */
  public void start() throws Exception {
    call(() -> {
      recover();
      return null;
    });
    peerAddress = peerServer.bind(group, config.peerAddress());
    apiAddress = checkpointApi.bind(group, config.checkpointApiAddress());
    if (config.adminAddress() != null) {
      admin = new AdminServer(this);
      adminAddress = admin.bind(config.adminAddress());
    }
    stateThread.scheduleWithFixedDelay(() -> guarded("sweep", this::sweepOutbox), SWEEP_INTERVAL_MILLIS,
        SWEEP_INTERVAL_MILLIS, TimeUnit.MILLISECONDS);
    stateThread.scheduleWithFixedDelay(() -> guarded("lease", this::checkLease), LEASE_CHECK_INTERVAL_MILLIS,
        LEASE_CHECK_INTERVAL_MILLIS, TimeUnit.MILLISECONDS);
    session = new ServerSession(config, group.next(), new SessionListener());
    session.start();
    log.info("agent {} (supernode {}) started: data {}, peer {}, checkpoint API {}, admin {}, servers {}",
        config.nodeId(), config.supernodeId(), dataDir, peerAddress, apiAddress,
        adminAddress == null ? "off" : adminAddress, config.servers());
  }

  /** Restores what survives a restart: epoch, inventory, held attempts; kills workers left running. */
  private void recover() throws IOException {
    Path epochFile = dataDir.resolve("epoch");
    if (Files.exists(epochFile)) {
      epoch = Long.parseLong(Files.readString(epochFile).trim());
      epochForHello = epoch;
    }
    CardDiscovery.Result inv = CardDiscovery.discover(config.cards());
    cards.addAll(inv.cards());
    discovery = inv.method();
    Path healthFile = dataDir.resolve("failed-cards");
    if (Files.exists(healthFile)) {
      // Cards failed by hand (debug fail-card) stay failed across restarts until healed.
      for (String line : Files.readAllLines(healthFile)) {
        if (!line.isBlank()) {
          int idx = Integer.parseInt(line.trim());
          if (idx >= 0 && idx < cards.size()) {
            cards.set(idx, cards.get(idx).toBuilder().setHealthy(false).build());
          }
        }
      }
    }
    List<AttemptLog.Entry> entries = AttemptLog.read(attemptLog.file());
    AttemptLog.maxAttempts(entries).forEach((job, attempt) -> job(job).heldAttempt = attempt);
    List<AttemptLog.Entry> unstopped = AttemptLog.unstopped(entries);
    if (!unstopped.isEmpty()) {
      int killed = launcher.killOrphans(unstopped, config.killGraceMillis());
      log.warn("{} worker(s) of a previous agent run were still recorded as running; {} were alive and killed",
          unstopped.size(), killed);
      // Not killed_by_agent: no one told us to stop them, so the attempt has lost these ranks and the server must
      // restart it. (Reported as stopped on purpose, the server ignored them and kept a job RUNNING that no agent
      // ran, and refused re-sent Assigns of the same attempt keep it that way; the chaos agent-crash nemesis found it.)
      for (AttemptLog.Entry e : unstopped) {
        emit(Report.newBuilder().setType(ReportType.TASK_EXITED).setTaskExited(TaskExited.newBuilder()
            .setJobId(e.jobId()).setAttempt(e.attempt()).setRank(e.rank()).setExitCode(-1).setKilledByAgent(false)
            .setDetail("agent restarted: worker pid " + e.pid() + " of the previous agent run was stopped (the agent had crashed)")));
      }
    }
    publish();
  }

  public HostPort peerAddress() {
    return peerAddress;
  }

  public HostPort checkpointApiAddress() {
    return apiAddress;
  }

  public HostPort adminAddress() {
    return adminAddress;
  }

  public AgentConfig config() {
    return config;
  }

  public Status status() {
    return status;
  }

  /** TEST ONLY: see {@link ServerSession#dropTrafficForTest}; the admin endpoint allows it with test hooks on. */
  public void dropServerTrafficForTest(boolean on) {
    if (session != null) {
      session.dropTrafficForTest(on);
    }
  }

  public ServerSession.State sessionState() {
    return session == null ? ServerSession.State.DISCONNECTED : session.state();
  }

  /** Completes with a reason when the agent must exit (the server refused its protocol version). */
  public CompletableFuture<String> fatal() {
    return fatal;
  }

  private <T> T call(Callable<T> task) throws Exception {
    try {
      return stateThread.submit(task).get(60, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof Exception ex ? ex : new RuntimeException(e.getCause());
    }
  }

  private void onState(String what, Runnable r) {
    try {
      stateThread.execute(() -> guarded(what, r));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      log.debug("agent stopping; dropped {}", what);
    }
  }

  private void guarded(String what, Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      log.error("{} failed", what, e);
    }
  }

  private Job job(String id) {
    Job j = jobs.get(id);
    if (j == null) {
      if (jobs.size() >= MAX_JOBS) {
        // Forget the oldest job with nothing running; its attempt floor goes with it, which is safe
        // because the server fences by attempt too.
        for (Iterator<Job> it = jobs.values().iterator(); it.hasNext(); ) {
          if (!it.next().live()) {
            it.remove();
            break;
          }
        }
      }
      j = new Job(id);
      jobs.put(id, j);
    }
    return j;
  }

  // ---- session ----

  private final class SessionListener implements ServerSession.Listener {
    @Override
    public Hello hello() {
      return Hello.newBuilder().setProtocolVersion(Frames.PROTOCOL_VERSION).setNodeId(config.nodeId())
          .setSupernodeId(config.supernodeId()).setToken(config.token()).setLastEpoch(epochForHello)
          .setAgentAddress(peerAddress.toString()).addAllTiers(config.tiers()).setAgentVersion(VERSION).build();
    }

    @Override
    public void onEstablished(Welcome welcome, ServerSession.Link l) {
      onState("welcome", () -> established(welcome, l));
    }

    @Override
    public void onFrame(AgentFrame frame, ServerSession.Link l) {
      onState(frame.getBodyCase().toString(), () -> serverFrame(frame, l));
    }

    @Override
    public void onServerHeard(long sentNanos, ServerSession.Link l) {
      onState("server heard us", () -> {
        if (l == link) {
          lease.acked(sentNanos);
        }
      });
    }

    @Override
    public void onLost(String reason) {
      onState("session lost", () -> {
        link = null;
        publish();
      });
    }

    @Override
    public void onFatal(String reason) {
      fatal.complete(reason);
    }
  }

  private void established(Welcome w, ServerSession.Link l) {
    if (w.getNodeEpoch() != epoch) {
      if (epoch != 0) {
        log.warn("node epoch changed from {} to {}: the node was declared lost; killing everything it ran before",
            epoch, w.getNodeEpoch());
        List<Task> all = new ArrayList<>();
        for (Job j : jobs.values()) {
          all.addAll(j.tasks.values());
        }
        kill(all, "node epoch changed from " + epoch + " to " + w.getNodeEpoch());
      }
      epoch = w.getNodeEpoch();
      epochForHello = epoch;
      writeAtomically(dataDir.resolve("epoch"), Long.toString(epoch));
    }
    link = l;
    if (w.getLeaseMillis() != lease.leaseMillis()) {
      lease.setLeaseMillis(w.getLeaseMillis());
      Lease.Plan plan = lease.plan();
      if (plan == null) {
        log.warn("the server grants no node lease (lostNodeHoldMillis 0 or an older server): workers are not fenced "
            + "when this agent is cut off from the servers");
      } else {
        log.info("node lease {} ms: workers are killed {} ms after the newest acked heartbeat was sent ({})",
            w.getLeaseMillis(), plan.fenceAfterMillis(), plan.graceMillis() > 0
                ? "SIGTERM, SIGKILL after " + plan.graceMillis() + " ms" : "SIGKILL: the kill grace does not fit");
        if (plan.fenceAfterMillis() <= config.sessionTimeoutMillis()) {
          log.warn("node lease {} ms fences workers {} ms after the last ack, within sessionTimeoutMillis {}: a leader "
              + "pause may kill healthy workers before this agent moves to the new leader", w.getLeaseMillis(),
              plan.fenceAfterMillis(), config.sessionTimeoutMillis());
        }
      }
    }
    l.send(AgentFrame.newBuilder().setInventory(inventory()).build());
    for (Outbox.Pending p : outbox.pending()) {
      p.lastSentMillis = 0; // resend everything unacked on the new session
    }
    sweepOutbox();
    long interval = w.getHeartbeatIntervalMillis() > 0 ? w.getHeartbeatIntervalMillis()
        : config.heartbeatIntervalMillis();
    l.startHeartbeats(interval, this::heartbeatFrame);
    publish();
  }

  private Inventory inventory() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "";
    }
    return Inventory.newBuilder().addAllCards(cards).setAgentAddress(peerAddress.toString())
        .addAllTiers(config.tiers()).setHostname(host).setDiscovery(discovery).build();
  }

  /** Built on the session's event loop from the last published status. */
  private AgentFrame heartbeatFrame(long seq) {
    Status s = status;
    return AgentFrame.newBuilder().setHeartbeat(Heartbeat.newBuilder().setSequence(seq).setNodeEpoch(s.epoch())
        .addAllCards(s.cards()).addAllTasks(s.tasks()).addAllCheckpoints(s.checkpoints())
        .setPendingReports(s.pendingReports()).setSentAtMillis(System.currentTimeMillis())).build();
  }

  private void serverFrame(AgentFrame f, ServerSession.Link l) {
    if (l != link) {
      return; // a frame that raced with the end of its session
    }
    switch (f.getBodyCase()) {
      case ACK -> {
        if (outbox.retire(f.getAck().getReportIdsList()) > 0) {
          publish();
        }
      }
      case ASSIGN -> onAssign(f.getAssign());
      case STOP -> onStop(f.getStop());
      case FENCE -> onFence(f.getFence());
      case CHECKPOINT_COMMITTED -> pinCommitted(f.getCheckpointCommitted().getJobId(),
          f.getCheckpointCommitted().getStep());
      case FAIL_CARD -> setCardHealth(f.getFailCard().getCardIndex(), f.getFailCard().getHealthy(),
          f.getFailCard().getReason().isEmpty() ? "failed by the server" : f.getFailCard().getReason());
      default -> log.warn("ignoring {} from the server", f.getBodyCase());
    }
  }

  // ---- reports ----

  private void emit(Report.Builder b) {
    Report r = outbox.append(b.setNodeEpoch(epoch).setCreatedAtMillis(System.currentTimeMillis()));
    log.debug("report {} {} queued", r.getId(), r.getType());
    sweepOutbox();
    publish();
  }

  /** Sends pending reports never sent on this session or unacked for resendAfterMillis. */
  private void sweepOutbox() {
    ServerSession.Link l = link;
    if (l == null) {
      return;
    }
    long now = System.currentTimeMillis();
    int sent = 0;
    for (Outbox.Pending p : outbox.pending()) {
      if (sent >= MAX_SENDS_PER_SWEEP) {
        break;
      }
      if (p.lastSentMillis == 0 || now - p.lastSentMillis >= config.resendAfterMillis()) {
        if (!l.send(AgentFrame.newBuilder().setReport(p.report).build())) {
          return;
        }
        p.lastSentMillis = now;
        sent++;
      }
    }
  }

  // ---- assignments and fencing ----

  private void onAssign(Assign a) {
    String problem = validate(a);
    Job job = AgentConfigLoader.ID.matcher(a.getJobId()).matches() ? job(a.getJobId()) : null;
    if (problem == null && a.getNodeEpoch() != epoch) {
      problem = "stale node epoch " + a.getNodeEpoch() + " (this node is at epoch " + epoch + ")";
    }
    if (problem == null) {
      long floor = Math.max(job.heldAttempt, job.fenceFloor);
      if (a.getAttempt() < floor) {
        problem = "attempt " + a.getAttempt() + " is older than attempt " + floor + " held for job " + a.getJobId();
      } else if (a.getAttempt() == job.heldAttempt && job.current != null
          && job.current.getAttempt() == a.getAttempt()) {
        log.debug("duplicate Assign for job {} attempt {} ignored", a.getJobId(), a.getAttempt());
        return;
      } else if (a.getAttempt() == job.heldAttempt && a.getAttempt() >= job.fenceFloor && job.heldAttempt > 0) {
        problem = "attempt " + a.getAttempt() + " of job " + a.getJobId() + " already ran on this node and was stopped";
      }
    }
    if (problem != null) {
      log.warn("refusing Assign job {} attempt {}: {}", a.getJobId(), a.getAttempt(), problem);
      emit(Report.newBuilder().setType(ReportType.ASSIGN_REFUSED).setAssignRefused(AssignRefused.newBuilder()
          .setJobId(a.getJobId()).setAttempt(a.getAttempt()).setHeldAttempt(job == null ? 0 : job.heldAttempt)
          .setReason(problem).setNodeEpoch(epoch)));
      return;
    }
    if (job.current != null) {
      kill(new ArrayList<>(job.tasks.values()), "job " + job.id + " attempt " + job.current.getAttempt()
          + " superseded by attempt " + a.getAttempt());
    }
    Set<Integer> used = busyCards(job.id);
    for (RankAssignment r : a.getRanksList()) {
      for (int c : r.getCardIndicesList()) {
        if (used.contains(c)) {
          // Not refused: the server may have sent this before the Stop of the other job; say so.
          log.warn("job {} attempt {} rank {} gets card {} which another job's worker still uses", a.getJobId(),
              a.getAttempt(), r.getRank(), c);
        }
      }
    }
    job.heldAttempt = a.getAttempt();
    job.current = a;
    // The step this attempt restores from is committed by definition; a restarted agent learns it here.
    pinCommitted(a.getJobId(), a.getRestoreStep());
    job.tasks.clear();
    log.info("accepted job {} attempt {}: ranks {}, restore step {}, buddy {}", a.getJobId(), a.getAttempt(),
        a.getRanksList().stream().map(RankAssignment::getRank).toList(), a.getRestoreStep(),
        a.getBuddyAddress().isEmpty() ? "none" : a.getBuddyNodeId() + "@" + a.getBuddyAddress());
    for (RankAssignment r : a.getRanksList()) {
      Task t = new Task(r.getRank(), r.getLocalRank(), a.getAttempt(), List.copyOf(r.getCardIndicesList()));
      job.tasks.put(r.getRank(), t);
      Path rankDir = workDir(a.getJobId(), a.getAttempt(), r.getRank());
      t.checkpointDir = rankDir.resolve("ckpt");
      List<String> sources = new ArrayList<>(r.getRestoreSourcesList());
      if (!a.getBuddyAddress().isEmpty()) {
        sources.add(a.getBuddyAddress());
      }
      long step = a.getRestoreStep();
      Path dest = rankDir.resolve("restore").resolve("step-" + step + ".shard");
      submitIo("restore", () -> {
        Restored res = prepareRestore(a.getJobId(), r.getRank(), step, sources, dest);
        onState("launch", () -> launch(a.getJobId(), a.getAttempt(), r.getRank(), res));
      });
    }
    publish();
  }

  private String validate(Assign a) {
    if (!AgentConfigLoader.ID.matcher(a.getJobId()).matches()) {
      return "bad job id '" + a.getJobId() + "'";
    }
    if (a.getAttempt() < 1) {
      return "attempt must be >= 1";
    }
    if (a.getRanksCount() == 0) {
      return "no ranks for this node";
    }
    if (a.getCommandCount() == 0 || a.getCommand(0).isBlank()) {
      return "empty command";
    }
    if (a.getWorldSize() < a.getRanksCount()) {
      return "world size " + a.getWorldSize() + " is smaller than the " + a.getRanksCount() + " ranks here";
    }
    Set<Integer> seenCards = new HashSet<>();
    Set<Integer> seenRanks = new HashSet<>();
    for (RankAssignment r : a.getRanksList()) {
      if (r.getRank() < 0 || r.getRank() >= a.getWorldSize() || !seenRanks.add(r.getRank())) {
        return "bad or repeated rank " + r.getRank();
      }
      for (int c : r.getCardIndicesList()) {
        if (c < 0 || c >= cards.size()) {
          return "card " + c + " does not exist on node " + config.nodeId() + " (it has " + cards.size() + ")";
        }
        if (!seenCards.add(c)) {
          return "card " + c + " given to two ranks";
        }
      }
    }
    return null;
  }

  private Set<Integer> busyCards(String exceptJob) {
    Set<Integer> used = new HashSet<>();
    for (Job j : jobs.values()) {
      if (!j.id.equals(exceptJob)) {
        j.tasks.values().stream().filter(t -> t.state == TaskState.TASK_STATE_RUNNING)
            .forEach(t -> used.addAll(t.cards));
      }
    }
    return used;
  }

  private Path workDir(String jobId, long attempt, int rank) {
    return dataDir.resolve("work").resolve(jobId).resolve(Long.toString(attempt)).resolve("rank-" + rank);
  }

  private record Restored(String source, Path path, String detail, boolean failed) {}

  /** Runs on an I/O thread: makes the rank's shard of step available at dest. */
  private Restored prepareRestore(String jobId, int rank, long step, List<String> sources, Path dest) {
    if (step <= 0) {
      return new Restored("none", null, "fresh start", false);
    }
    List<String> why = new ArrayList<>();
    Optional<ShardStore.StoredShard> local = store.find(jobId, step, rank);
    if (local.isPresent()) {
      String bad = ShardStore.verify(local.get());
      if (bad == null) {
        try {
          ShardStore.materialize(local.get(), dest);
          log.info("restore job {} step {} rank {}: shard from the local store ({} copy)", jobId, step, rank,
              local.get().kind());
          return new Restored("local", dest, "local " + local.get().kind().name().toLowerCase() + " copy", false);
        } catch (IOException e) {
          why.add("local copy unusable: " + e.getMessage());
        }
      } else {
        log.warn("restore job {} step {} rank {}: local shard is corrupt ({}); trying peers", jobId, step, rank, bad);
        why.add("local copy corrupt: " + bad);
      }
    } else {
      why.add("not in the local store");
    }
    for (String s : new LinkedHashSet<>(sources)) {
      if (s.equals(peerAddress.toString())) {
        continue;
      }
      try {
        peerClient.fetch(HostPort.parse(s), jobId, rank, step, dest);
        log.info("restore job {} step {} rank {}: shard fetched from peer {}", jobId, step, rank, s);
        return new Restored("buddy", dest, "fetched from " + s, false);
      } catch (IOException | IllegalArgumentException e) {
        log.warn("restore job {} step {} rank {}: peer {} failed: {}", jobId, step, rank, s, e.getMessage());
        why.add(s + ": " + e.getMessage());
      }
    }
    return new Restored("none", null, "restore failed: no valid shard for job " + jobId + " step " + step
        + " rank " + rank + " (" + String.join("; ", why) + ")", true);
  }

  private void launch(String jobId, long attempt, int rank, Restored restored) {
    Job job = jobs.get(jobId);
    Task t = job == null ? null : job.tasks.get(rank);
    if (job == null || job.current == null || job.current.getAttempt() != attempt || t == null
        || t.attempt != attempt || t.state != TaskState.TASK_STATE_PREPARING) {
      log.info("not starting job {} attempt {} rank {}: superseded or stopped while its shard was prepared",
          jobId, attempt, rank);
      return;
    }
    Assign a = job.current;
    if (restored.failed()) {
      log.error("job {} attempt {} rank {} not started: {}", jobId, attempt, rank, restored.detail());
      t.state = TaskState.TASK_STATE_FAILED_TO_START;
      t.exitCode = -1;
      emit(Report.newBuilder().setType(ReportType.TASK_EXITED).setTaskExited(TaskExited.newBuilder()
          .setJobId(jobId).setAttempt(attempt).setRank(rank).setExitCode(-1).setFailedToStart(true)
          .setDetail(restored.detail())));
      return;
    }
    Map<String, String> env = new LinkedHashMap<>();
    for (EnvVar e : a.getEnvList()) {
      env.put(e.getName(), e.getValue());
    }
    Path rankDir = workDir(jobId, attempt, rank);
    Launcher.LaunchSpec spec = new Launcher.LaunchSpec(config.nodeId(), jobId, attempt, rank, t.localRank,
        a.getLocalWorldSize() > 0 ? a.getLocalWorldSize() : a.getRanksCount(), a.getWorldSize(), t.cards,
        a.getMasterAddr().isEmpty() ? "127.0.0.1" : a.getMasterAddr(), a.getMasterPort(), a.getCommandList(), env,
        a.getRestoreStep(), restored.path(), rankDir, t.checkpointDir,
        dataDir.resolve("logs").resolve(jobId).resolve(Long.toString(attempt)).resolve("rank-" + rank + ".log"),
        apiAddress.toString());
    try {
      Process p = launcher.start(spec);
      t.process = p;
      t.pid = p.pid();
      t.state = TaskState.TASK_STATE_RUNNING;
      t.shardSource = restored.source();
      t.step = a.getRestoreStep();
      p.onExit().thenAccept(done -> {
        // Stamped here, on the reaper thread: the state thread may run exited() a while later (after other work),
        // and the STOP line must not claim the worker lived on while the server already restarted it elsewhere.
        long exitedAtMillis = System.currentTimeMillis();
        onState("exit", () -> exited(jobId, attempt, rank, done, exitedAtMillis));
      });
      emit(Report.newBuilder().setType(ReportType.TASK_STARTED).setTaskStarted(TaskStarted.newBuilder()
          .setJobId(jobId).setAttempt(attempt).setRank(rank).setPid(p.pid()).setRestoreStep(a.getRestoreStep())
          .setShardSource(restored.source()).setDetail("shardSource=" + restored.source() + " ("
              + restored.detail() + ")")));
    } catch (IOException | RuntimeException e) {
      log.error("job {} attempt {} rank {}: cannot start {}: {}", jobId, attempt, rank, a.getCommandList(),
          e.getMessage());
      t.state = TaskState.TASK_STATE_FAILED_TO_START;
      t.exitCode = -1;
      emit(Report.newBuilder().setType(ReportType.TASK_EXITED).setTaskExited(TaskExited.newBuilder()
          .setJobId(jobId).setAttempt(attempt).setRank(rank).setExitCode(-1).setFailedToStart(true)
          .setDetail("cannot start " + a.getCommandList() + ": " + e.getMessage())));
    }
  }

  private void exited(String jobId, long attempt, int rank, Process p, long exitedAtMillis) {
    Job job = jobs.get(jobId);
    Task t = job == null ? null : job.tasks.get(rank);
    if (t == null || t.process != p || t.state != TaskState.TASK_STATE_RUNNING) {
      return; // killed by us: already recorded
    }
    t.state = TaskState.TASK_STATE_EXITED;
    t.exitCode = p.exitValue();
    log.info("job {} attempt {} rank {} pid {} exited with code {}", jobId, attempt, rank, p.pid(), t.exitCode);
    // The report goes into the outbox before the STOP line: a kill -9 between the two must leave the exit either
    // in the outbox (resent after restart) or unstopped in attempts.log (reported by recover()), never in neither.
    emit(Report.newBuilder().setType(ReportType.TASK_EXITED).setTaskExited(TaskExited.newBuilder()
        .setJobId(jobId).setAttempt(attempt).setRank(rank).setExitCode(t.exitCode).setLastStep(t.step)
        .setDetail("exited with code " + t.exitCode)));
    attemptLog.write(AttemptLog.Kind.STOP, jobId, attempt, rank, p.pid(), exitedAtMillis);
  }

  /** Kills the given tasks (blocking the state thread until they are gone) and reports each. */
  private void kill(List<Task> tasks, String reason) {
    kill(tasks, reason, config.killGraceMillis(), true);
  }

  private void kill(List<Task> tasks, String reason, long graceMillis, boolean killedByAgent) {
    List<Launcher.Victim> victims = new ArrayList<>();
    List<Task> killed = new ArrayList<>();
    String jobOf = null;
    for (Job j : jobs.values()) {
      for (Task t : tasks) {
        if (j.tasks.get(t.rank) == t) {
          if (t.state == TaskState.TASK_STATE_RUNNING) {
            victims.add(new Launcher.Victim(j.id, t.attempt, t.rank, t.process.toHandle()));
            killed.add(t);
            jobOf = j.id;
          } else if (t.state == TaskState.TASK_STATE_PREPARING) {
            t.state = TaskState.TASK_STATE_KILLED;
          }
        }
      }
    }
    if (victims.isEmpty()) {
      return;
    }
    launcher.kill(victims, graceMillis, reason);
    for (int i = 0; i < killed.size(); i++) {
      Task t = killed.get(i);
      Launcher.Victim v = victims.get(i);
      t.state = TaskState.TASK_STATE_KILLED;
      t.exitCode = t.process.isAlive() ? -1 : t.process.exitValue();
      emit(Report.newBuilder().setType(ReportType.TASK_EXITED).setTaskExited(TaskExited.newBuilder()
          .setJobId(v.jobId()).setAttempt(t.attempt).setRank(t.rank).setExitCode(t.exitCode)
          .setKilledByAgent(killedByAgent).setLastStep(t.step).setDetail("killed by the agent: " + reason)));
    }
    log.info("killed {} worker(s) (last job {}): {}", killed.size(), jobOf, reason);
    publish();
  }

  private void onStop(Stop s) {
    Job job = jobs.get(s.getJobId());
    if (job == null) {
      log.info("Stop for unknown job {} ignored", s.getJobId());
      return;
    }
    List<Task> victims = job.tasks.values().stream()
        .filter(t -> s.getAttempt() == 0 || t.attempt <= s.getAttempt()).toList();
    kill(new ArrayList<>(victims), "stopped by the server: " + s.getReason());
    publish();
  }

  /** Keeps the job's restore point out of keep-last-K collection (file I/O, so on the I/O pool). */
  private void pinCommitted(String jobId, long step) {
    if (step <= 0) {
      return; // start fresh: nothing to keep
    }
    submitIo("pin committed step " + step + " of " + jobId, () -> {
      try {
        store.pinCommitted(jobId, step);
      } catch (ShardStore.ShardRejectedException e) {
        log.warn("ignoring committed step {} of job '{}': {}", step, jobId, e.getMessage());
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
  }

  private void onFence(Fence f) {
    if (!AgentConfigLoader.ID.matcher(f.getJobId()).matches()) {
      log.warn("Fence with bad job id '{}' ignored", f.getJobId());
      return;
    }
    Job job = job(f.getJobId());
    job.fenceFloor = Math.max(job.fenceFloor, f.getMinAttempt());
    List<Task> victims = job.tasks.values().stream().filter(t -> t.attempt < f.getMinAttempt()).toList();
    log.info("fence job {}: attempts below {} are void ({})", f.getJobId(), f.getMinAttempt(), f.getReason());
    kill(new ArrayList<>(victims), "fenced: attempts below " + f.getMinAttempt() + " are void: " + f.getReason());
    publish();
  }

  // ---- self-fencing ----

  /**
   * Kills every worker once the lease is about to run out with no newer heartbeat ack: the servers may already have
   * declared this node lost and may start its jobs' next attempts elsewhere when the lease ends.
   */
  private void checkLease() {
    long nowNanos = System.nanoTime();
    if (!lease.due(nowNanos)) {
      return;
    }
    lease.fenced();
    List<Task> live = new ArrayList<>();
    Map<Task, String> preparing = new LinkedHashMap<>();
    for (Job j : jobs.values()) {
      for (Task t : j.tasks.values()) {
        if (t.state == TaskState.TASK_STATE_RUNNING || t.state == TaskState.TASK_STATE_PREPARING) {
          live.add(t);
        }
        if (t.state == TaskState.TASK_STATE_PREPARING) {
          preparing.put(t, j.id);
        }
      }
    }
    if (live.isEmpty()) {
      return;
    }
    Lease.Plan plan = lease.plan();
    log.warn("SELF-FENCE: no heartbeat ack for {} ms (node lease {} ms): killing all {} worker(s) before the servers "
        + "may restart their jobs elsewhere", lease.sinceAckMillis(nowNanos), lease.leaseMillis(), live.size());
    // Any Assign of these attempts that arrives late (a stale session, a slow server) is refused, not run again.
    for (Job j : jobs.values()) {
      if (j.live()) {
        j.fenceFloor = Math.max(j.fenceFloor, j.heldAttempt + 1);
      }
    }
    // Lost ranks, not killed_by_agent: no server told us to stop them, so when it hears these it must restart the
    // attempt (a server that did not declare the node lost still counts them as running otherwise).
    String reason = "self-fence: no heartbeat ack for " + lease.sinceAckMillis(nowNanos) + " ms of a "
        + lease.leaseMillis() + " ms node lease";
    kill(live, reason, plan.graceMillis(), false);
    // A rank still restoring its shard is never started now; the server must hear that it is lost too.
    preparing.forEach((t, jobId) -> emit(Report.newBuilder().setType(ReportType.TASK_EXITED).setTaskExited(
        TaskExited.newBuilder().setJobId(jobId).setAttempt(t.attempt).setRank(t.rank).setExitCode(-1)
            .setFailedToStart(true).setDetail("not started: " + reason))));
    publish();
  }

  // ---- cards ----

  /** Flips a card's health (fault injection or the server's FailCard). Returns an error or null. */
  public String failCard(int index, boolean healthy, String reason) throws Exception {
    return call(() -> setCardHealth(index, healthy, reason));
  }

  private String setCardHealth(int index, boolean healthy, String reason) {
    if (index < 0 || index >= cards.size()) {
      String err = "card " + index + " does not exist on node " + config.nodeId() + " (it has " + cards.size()
          + " cards: 0.." + (cards.size() - 1) + ")";
      log.warn("fail-card refused: {}", err);
      return err;
    }
    cards.set(index, cards.get(index).toBuilder().setHealthy(healthy).build());
    log.warn("card {} marked {}: {}", index, healthy ? "healthy" : "FAILED", reason);
    StringBuilder failed = new StringBuilder();
    for (CardInfo c : cards) {
      if (!c.getHealthy()) {
        failed.append(c.getIndex()).append('\n');
      }
    }
    writeAtomically(dataDir.resolve("failed-cards"), failed.toString());
    emit(Report.newBuilder().setType(ReportType.CARD_HEALTH).setCardHealth(CardHealth.newBuilder()
        .setCard(CardRef.newBuilder().setNodeId(config.nodeId()).setIndex(index)).setHealthy(healthy)
        .setReason(reason)));
    return null;
  }

  // ---- checkpoints ----

  private CompletableFuture<Map<String, Object>> onCheckpointApi(JsonNode req) {
    CompletableFuture<Map<String, Object>> reply = new CompletableFuture<>();
    String op = req.path("op").asText();
    String jobId = req.path("job").asText();
    long attempt = req.path("attempt").asLong();
    int rank = req.path("rank").asInt(-1);
    long step = req.path("step").asLong();
    onState("checkpoint api " + op, () -> {
      Job job = jobs.get(jobId);
      Task t = job == null ? null : job.tasks.get(rank);
      if (t == null || t.attempt != attempt || t.state != TaskState.TASK_STATE_RUNNING) {
        reply.complete(CheckpointApi.error("no running task job " + jobId + " attempt " + attempt + " rank " + rank
            + " on this node (superseded or stopped?)"));
        return;
      }
      switch (op) {
        case "progress" -> {
          t.step = Math.max(t.step, step);
          publish();
          reply.complete(new LinkedHashMap<>());
        }
        case "checkpoint" -> checkpoint(job, t, req, reply);
        default -> reply.complete(CheckpointApi.error("unknown op '" + op + "' (checkpoint, progress)"));
      }
    });
    return reply;
  }

  private void checkpoint(Job job, Task t, JsonNode req, CompletableFuture<Map<String, Object>> reply) {
    long step = req.path("step").asLong();
    long bytes = req.path("bytes").asLong(-1);
    String checksum = req.path("checksum").asText("");
    String pathText = req.path("path").asText("");
    if (pathText.isEmpty() || bytes < 0) {
      reply.complete(CheckpointApi.error("checkpoint needs path, bytes and checksum"));
      return;
    }
    Path path = Path.of(pathText);
    Assign a = job.current;
    String jobId = job.id;
    long attempt = t.attempt;
    int rank = t.rank;
    t.step = Math.max(t.step, step);
    submitIo("store shard", () -> {
      try {
        ShardStore.StoredShard s = store.storeLocal(jobId, attempt, rank, step, path, bytes, checksum);
        onState("shard stored", () -> {
          progress(job, rank, attempt, step, false);
          replicate(s, a.getBuddyNodeId(), a.getBuddyAddress(), 1);
        });
        Map<String, Object> ok = new LinkedHashMap<>();
        ok.put("step", step);
        ok.put("stored", s.path().toString());
        reply.complete(ok);
      } catch (ShardStore.ShardRejectedException | IOException e) {
        onState("shard rejected", () -> {
          long fallback = store.latestLocalStep(jobId, rank, step);
          log.warn("rejecting checkpoint shard job {} attempt {} rank {} step {}: {}; keeping the previous step {}",
              jobId, attempt, rank, step, e.getMessage(), fallback == 0 ? "(none)" : fallback);
          emit(Report.newBuilder().setType(ReportType.CHECKPOINT_REJECTED).setCheckpointRejected(
              CheckpointRejected.newBuilder().setJobId(jobId).setAttempt(attempt).setRank(rank).setStep(step)
                  .setReason(e.getMessage()).setFallbackStep(fallback)));
          reply.complete(CheckpointApi.error("shard rejected: " + e.getMessage() + "; the latest good step stays "
              + fallback));
        });
      }
    }, () -> reply.complete(CheckpointApi.error("agent busy: too many checkpoint operations queued")));
  }

  private void progress(Job job, int rank, long attempt, long step, boolean durable) {
    CheckpointProgress old = job.progress.getOrDefault(rank, CheckpointProgress.getDefaultInstance());
    CheckpointProgress.Builder b = old.toBuilder().setJobId(job.id).setRank(rank).setAttempt(attempt);
    if (durable) {
      b.setDurableStep(Math.max(old.getDurableStep(), step));
    } else {
      b.setLocalStep(Math.max(old.getLocalStep(), step));
    }
    job.progress.put(rank, b.build());
    publish();
  }

  /** Streams a stored shard to the buddy (on the replicator thread); reports it durable once acked. */
  private void replicate(ShardStore.StoredShard s, String buddyNode, String buddyAddress, int tryNo) {
    if (buddyAddress.isEmpty()) {
      log.info("job {} step {} rank {}: no buddy assigned; reporting the local copy only", s.jobId(), s.step(),
          s.rank());
      durable(s, "", "");
      return;
    }
    try {
      replicator.execute(() -> {
        long startNanos = System.nanoTime();
        String error;
        try {
          ShardPutAck ack = peerClient.put(HostPort.parse(buddyAddress), s);
          error = ack.getOk() ? null : "buddy refused it: " + ack.getError();
        } catch (IOException | IllegalArgumentException e) {
          error = e.getMessage();
        }
        if (error == null) {
          log.info("shard job {} step {} rank {} ({} bytes) replicated to buddy {} in {} ms", s.jobId(), s.step(),
              s.rank(), s.bytes(), buddyAddress, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
          onState("shard durable", () -> durable(s, buddyNode, buddyAddress));
        } else if (tryNo >= MAX_REPLICATION_TRIES) {
          log.error("shard job {} step {} rank {} NOT replicated to buddy {} after {} tries ({}); it stays local "
              + "only and is not reported durable", s.jobId(), s.step(), s.rank(), buddyAddress, tryNo, error);
        } else {
          long delayMillis = Math.min(2000, 100L << Math.min(tryNo, 5));
          log.warn("replicating shard job {} step {} rank {} to buddy {} failed (try {}): {}; retrying in {} ms",
              s.jobId(), s.step(), s.rank(), buddyAddress, tryNo, error, delayMillis);
          stateThread.schedule(() -> replicate(s, buddyNode, buddyAddress, tryNo + 1), delayMillis,
              TimeUnit.MILLISECONDS);
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      log.error("replication queue full; shard job {} step {} rank {} not replicated", s.jobId(), s.step(), s.rank());
    }
  }

  private void durable(ShardStore.StoredShard s, String buddyNode, String buddyAddress) {
    Job job = job(s.jobId());
    progress(job, s.rank(), s.attempt(), s.step(), true);
    emit(Report.newBuilder().setType(ReportType.CHECKPOINT_DURABLE).setCheckpointDurable(CheckpointDurable
        .newBuilder().setJobId(s.jobId()).setAttempt(s.attempt()).setRank(s.rank()).setStep(s.step())
        .setShardBytes(s.bytes()).setChecksum(s.checksum()).setBuddyNodeId(buddyNode).setBuddyAddress(buddyAddress)
        .setAgentAddress(peerAddress.toString())));
  }

  private void submitIo(String what, Runnable r) {
    submitIo(what, r, () -> log.error("I/O queue full; dropped {}", what));
  }

  private void submitIo(String what, Runnable r, Runnable onRejected) {
    try {
      io.execute(() -> guarded(what, r));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      onRejected.run();
    }
  }

  // ---- status ----

  private void publish() {
    List<TaskStatus> tasks = new ArrayList<>();
    List<CheckpointProgress> progress = new ArrayList<>();
    for (Job j : jobs.values()) {
      for (Task t : j.tasks.values()) {
        tasks.add(TaskStatus.newBuilder().setJobId(j.id).setAttempt(t.attempt).setRank(t.rank).setState(t.state)
            .setStep(t.step).setPid(t.pid).setExitCode(t.exitCode).build());
      }
      progress.addAll(j.progress.values());
    }
    status = new Status(config.nodeId(), epoch, session == null ? "DISCONNECTED" : session.state().name(),
        session == null ? "" : session.server(), List.copyOf(cards), List.copyOf(tasks), List.copyOf(progress),
        outbox.pendingCount());
  }

  private static void writeAtomically(Path file, String text) {
    try {
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  /** Stops the agent: closes the session and ports and kills its workers (recording their STOP lines). */
  @Override
  public void close() {
    if (session != null) {
      session.close();
    }
    if (admin != null) {
      admin.close();
    }
    checkpointApi.close();
    peerServer.close();
    try {
      stateThread.submit(() -> {
        List<Task> all = new ArrayList<>();
        jobs.values().forEach(j -> all.addAll(j.tasks.values()));
        kill(all, "agent shutting down");
        outbox.close();
        attemptLog.close();
      }).get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("agent shutdown: {}", e.toString());
    }
    stateThread.shutdownNow();
    io.shutdownNow();
    replicator.shutdownNow();
    peerSenders.shutdownNow();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3000);
    log.info("agent {} stopped", config.nodeId());
  }
}
