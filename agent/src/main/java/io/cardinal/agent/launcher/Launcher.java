package io.cardinal.agent.launcher;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts worker processes (one per rank) with the launcher environment, and kills process trees.
 * Every start and stop is written to the {@link AttemptLog}. Called only from the agent's state
 * thread, so a kill finishes (STOP written) before the next attempt's START.
 */
public final class Launcher {
  private static final Logger log = LoggerFactory.getLogger(Launcher.class);
  /** After SIGKILL, how long to wait for the kernel to reap; beyond it something is badly wrong. */
  private static final long AFTER_KILL_WAIT_MILLIS = 5000;

  /** Everything one rank's process needs. */
  public record LaunchSpec(
      String nodeId, String jobId, long attempt, int rank, int localRank, int localWorldSize, int worldSize,
      List<Integer> cardIndices, String masterAddr, int masterPort, List<String> command,
      Map<String, String> jobEnv, long restoreStep, Path restorePath, Path workDir, Path checkpointDir,
      Path logFile, String agentSocket) {}

  private final AttemptLog attemptLog;

  public Launcher(AttemptLog attemptLog) {
    this.attemptLog = attemptLog;
  }

  /**
   * The worker's environment on top of the agent's own: the job's env first, then the launcher
   * variables, which the job env cannot override (they carry the fencing token and the cards).
   */
  public static Map<String, String> environment(LaunchSpec s) {
    Map<String, String> env = new LinkedHashMap<>(s.jobEnv());
    String devices = s.cardIndices().stream().map(String::valueOf).collect(Collectors.joining(","));
    env.put("RANK", Integer.toString(s.rank()));
    env.put("WORLD_SIZE", Integer.toString(s.worldSize()));
    env.put("LOCAL_RANK", Integer.toString(s.localRank()));
    env.put("LOCAL_WORLD_SIZE", Integer.toString(s.localWorldSize()));
    env.put("MASTER_ADDR", s.masterAddr());
    env.put("MASTER_PORT", Integer.toString(s.masterPort()));
    env.put("CUDA_VISIBLE_DEVICES", devices);
    env.put("ASCEND_RT_VISIBLE_DEVICES", devices);
    env.put("CARDINAL_NODE_ID", s.nodeId());
    env.put("CARDINAL_JOB_ID", s.jobId());
    env.put("CARDINAL_ATTEMPT", Long.toString(s.attempt()));
    env.put("RESTORE_STEP", Long.toString(s.restoreStep()));
    if (s.restorePath() != null) {
      env.put("CARDINAL_RESTORE_PATH", s.restorePath().toString());
    } else {
      env.remove("CARDINAL_RESTORE_PATH");
    }
    env.put("CARDINAL_CHECKPOINT_DIR", s.checkpointDir().toString());
    env.put("CARDINAL_AGENT_SOCKET", s.agentSocket());
    return env;
  }

  /** Starts the rank's process and writes its START line. */
  public Process start(LaunchSpec spec) throws IOException {
    Files.createDirectories(spec.workDir());
    Files.createDirectories(spec.checkpointDir());
    Files.createDirectories(spec.logFile().getParent());
    ProcessBuilder pb = new ProcessBuilder(spec.command())
        .directory(spec.workDir().toFile())
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(spec.logFile().toFile()))
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.environment().putAll(environment(spec));
    Process p = pb.start();
    attemptLog.write(AttemptLog.Kind.START, spec.jobId(), spec.attempt(), spec.rank(), p.pid());
    log.info("started job {} attempt {} rank {} pid {} cards {} (log {})", spec.jobId(), spec.attempt(),
        spec.rank(), p.pid(), spec.cardIndices(), spec.logFile());
    return p;
  }

  /** A process to kill and the identity its STOP line carries. */
  public record Victim(String jobId, long attempt, int rank, ProcessHandle process) {}

  /**
   * Kills the process trees (SIGTERM, then SIGKILL after graceMillis), waits until each is gone, and
   * writes a STOP line per victim. Descendants are listed before the first signal: once a parent dies
   * its children are re-parented and cannot be found from it.
   */
  public void kill(List<Victim> victims, long graceMillis, String reason) {
    if (victims.isEmpty()) {
      return;
    }
    List<ProcessHandle> all = new ArrayList<>();
    for (Victim v : victims) {
      all.add(v.process());
      v.process().descendants().forEach(all::add);
    }
    log.info("killing {} worker process(es) ({} with descendants): {}", victims.size(), all.size(), reason);
    all.forEach(ProcessHandle::destroy);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(graceMillis);
    List<ProcessHandle> survivors = new ArrayList<>();
    for (ProcessHandle h : all) {
      if (!waitFor(h, Math.max(0, deadline - System.nanoTime()))) {
        survivors.add(h);
      }
    }
    if (!survivors.isEmpty()) {
      // A child started during the grace period would escape the first list; look again.
      for (Victim v : victims) {
        v.process().descendants().filter(h -> !all.contains(h)).forEach(survivors::add);
      }
      log.warn("{} process(es) ignored SIGTERM for {} ms; sending SIGKILL", survivors.size(), graceMillis);
      survivors.forEach(ProcessHandle::destroyForcibly);
      for (ProcessHandle h : survivors) {
        if (!waitFor(h, TimeUnit.MILLISECONDS.toNanos(AFTER_KILL_WAIT_MILLIS))) {
          log.error("process {} still alive {} ms after SIGKILL", h.pid(), AFTER_KILL_WAIT_MILLIS);
        }
      }
    }
    for (Victim v : victims) {
      attemptLog.write(AttemptLog.Kind.STOP, v.jobId(), v.attempt(), v.rank(), v.process().pid());
    }
  }

  /**
   * Polls rather than using onExit: for processes that are not our children (a worker's own
   * children) the JDK polls with a growing delay, which would stretch every kill by a second or more.
   */
  private static boolean waitFor(ProcessHandle h, long nanos) {
    long deadline = System.nanoTime() + nanos;
    while (h.isAlive() && !isZombie(h.pid())) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      try {
        Thread.sleep(Math.max(1, Math.min(10, TimeUnit.NANOSECONDS.toMillis(left))));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return !h.isAlive();
      }
    }
    return true;
  }

  /**
   * A zombie has exited and holds nothing (no memory, no device) but stays "alive" to the JDK until
   * its parent reaps it, and an orphaned grandchild's new parent (a container's init) may take seconds.
   */
  public static boolean isZombie(long pid) {
    try {
      String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Long.toString(pid), "stat"));
      int close = stat.lastIndexOf(')');
      return close > 0 && close + 2 < stat.length() && stat.charAt(close + 2) == 'Z';
    } catch (java.io.IOException | RuntimeException e) {
      return false; // no /proc (not Linux) or already gone: isAlive decides
    }
  }

  /**
   * Kills workers a previous run of this agent started and never saw stop (the agent was killed), so
   * nothing runs that the new run does not know about. A pid is only killed if the process started no
   * later than its START line (pids are reused).
   */
  public int killOrphans(List<AttemptLog.Entry> unstopped, long graceMillis) {
    List<Victim> victims = new ArrayList<>();
    for (AttemptLog.Entry e : unstopped) {
      Optional<ProcessHandle> h = ProcessHandle.of(e.pid());
      boolean same = h.isPresent() && h.get().isAlive() && h.get().info().startInstant()
          .map(start -> !start.isAfter(Instant.ofEpochMilli(e.atMillis()).plusSeconds(1))).orElse(false);
      if (same) {
        victims.add(new Victim(e.jobId(), e.attempt(), e.rank(), h.get()));
      } else {
        // Already gone: record its end so the log is balanced.
        attemptLog.write(AttemptLog.Kind.STOP, e.jobId(), e.attempt(), e.rank(), e.pid());
      }
    }
    kill(victims, graceMillis, "orphans of a previous agent run");
    return victims.size();
  }
}
