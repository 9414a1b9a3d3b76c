package io.cardinal.agent;

import static io.cardinal.agent.TestSupport.WAIT_MILLIS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cardinal.agent.launcher.AttemptLog;
import io.cardinal.agent.launcher.Launcher;
import io.cardinal.protocol.v1.AgentFrame;
import io.cardinal.protocol.v1.Assign;
import io.cardinal.protocol.v1.EnvVar;
import io.cardinal.protocol.v1.RankAssignment;
import io.cardinal.protocol.v1.Report;
import io.cardinal.protocol.v1.ReportType;
import io.cardinal.protocol.v1.Stop;
import io.cardinal.protocol.v1.TaskState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentLaunchTest {
  /** A worker that records its environment and its child's pid, then waits on a child (a process tree). */
  private static final String WORKER = """
      env > env.txt
      sleep 600 &
      echo $! > child.pid
      trap 'kill $! 2>/dev/null; exit 143' TERM
      wait
      """;

  static Assign.Builder assign(String job, long attempt, List<String> command) {
    return Assign.newBuilder().setJobId(job).setAttempt(attempt).setNodeEpoch(1).setWorldSize(4)
        .setMasterAddr("10.0.0.1").setMasterPort(29500).addAllCommand(command);
  }

  static boolean report(FakeGateway.Received r, ReportType type, String job, long attempt) {
    if (!r.frame().hasReport() || r.frame().getReport().getType() != type) {
      return false;
    }
    Report rep = r.frame().getReport();
    return switch (type) {
      case TASK_STARTED -> rep.getTaskStarted().getJobId().equals(job) && rep.getTaskStarted().getAttempt() == attempt;
      case TASK_EXITED -> rep.getTaskExited().getJobId().equals(job) && rep.getTaskExited().getAttempt() == attempt;
      case ASSIGN_REFUSED -> rep.getAssignRefused().getJobId().equals(job)
          && rep.getAssignRefused().getAttempt() == attempt;
      default -> false;
    };
  }

  private static Map<String, String> envOf(Path file) throws Exception {
    TestSupport.waitUntil(file + " written", () -> TestSupport.read(file).contains("CARDINAL_AGENT_SOCKET"));
    Properties p = new Properties();
    Map<String, String> env = new HashMap<>();
    for (String line : Files.readAllLines(file)) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        env.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    return env;
  }

  @Test
  void assignStartsRanksWithTheLauncherEnvironmentAndNewerAttemptsFenceOlderOnes(@TempDir Path dir) throws Exception {
    try (FakeGateway gw = new FakeGateway();
        Agent agent = new Agent(TestSupport.config("n1", "sn1", gw, dir))) {
      agent.start();
      gw.await(r -> r.frame().hasInventory(), WAIT_MILLIS);
      List<String> cmd = List.of("/bin/sh", "-c", WORKER);
      gw.send("n1", AgentFrame.newBuilder().setAssign(assign("j1", 1, cmd)
          .addRanks(RankAssignment.newBuilder().setRank(2).setLocalRank(0).addCardIndices(0).addCardIndices(1))
          .addRanks(RankAssignment.newBuilder().setRank(3).setLocalRank(1).addCardIndices(2).addCardIndices(3))
          .addEnv(EnvVar.newBuilder().setName("NCCL_DEBUG").setValue("INFO"))
          .addEnv(EnvVar.newBuilder().setName("RANK").setValue("99"))).build());
      gw.await(r -> report(r, ReportType.TASK_STARTED, "j1", 1) && r.frame().getReport().getTaskStarted().getRank() == 3,
          WAIT_MILLIS);
      Path rank3 = dir.resolve("work/j1/1/rank-3");
      Map<String, String> env = envOf(rank3.resolve("env.txt"));
      assertEquals("3", env.get("RANK"), "the job env cannot override RANK");
      assertEquals("4", env.get("WORLD_SIZE"));
      assertEquals("1", env.get("LOCAL_RANK"));
      assertEquals("2", env.get("LOCAL_WORLD_SIZE"));
      assertEquals("10.0.0.1", env.get("MASTER_ADDR"));
      assertEquals("29500", env.get("MASTER_PORT"));
      assertEquals("2,3", env.get("CUDA_VISIBLE_DEVICES"));
      assertEquals("2,3", env.get("ASCEND_RT_VISIBLE_DEVICES"));
      assertEquals("j1", env.get("CARDINAL_JOB_ID"));
      assertEquals("1", env.get("CARDINAL_ATTEMPT"));
      assertEquals("0", env.get("RESTORE_STEP"));
      assertEquals("INFO", env.get("NCCL_DEBUG"));
      assertEquals(agent.checkpointApiAddress().toString(), env.get("CARDINAL_AGENT_SOCKET"));
      assertEquals(rank3.resolve("ckpt").toString(), env.get("CARDINAL_CHECKPOINT_DIR"));
      assertEquals("0,1", envOf(dir.resolve("work/j1/1/rank-2/env.txt")).get("CUDA_VISIBLE_DEVICES"));
      TestSupport.waitUntil("child pid written", () -> !TestSupport.read(rank3.resolve("child.pid")).isBlank());
      long child = Long.parseLong(TestSupport.read(rank3.resolve("child.pid")).trim());
      gw.await(r -> r.frame().hasHeartbeat() && r.frame().getHeartbeat().getTasksList().stream()
          .filter(t -> t.getState() == TaskState.TASK_STATE_RUNNING).count() == 2, WAIT_MILLIS);

      // a newer attempt: the old ranks (and their children) die before any new one starts
      int mark = gw.size();
      gw.send("n1", AgentFrame.newBuilder().setAssign(assign("j1", 2, cmd)
          .addRanks(RankAssignment.newBuilder().setRank(0).setLocalRank(0).addCardIndices(1))).build());
      var exited = gw.await(mark, r -> report(r, ReportType.TASK_EXITED, "j1", 1), WAIT_MILLIS).frame().getReport();
      assertTrue(exited.getTaskExited().getKilledByAgent());
      assertTrue(exited.getTaskExited().getDetail().contains("superseded by attempt 2"), exited.toString());
      gw.await(mark, r -> report(r, ReportType.TASK_STARTED, "j1", 2), WAIT_MILLIS);
      assertFalse(ProcessHandle.of(child).map(ProcessHandle::isAlive).orElse(false) && !Launcher.isZombie(child),
          "the worker's child survived");
      assertNoOverlap(AttemptLog.read(dir.resolve("attempts.log")));

      // an older attempt is refused and reported; the current one keeps running
      mark = gw.size();
      gw.send("n1", AgentFrame.newBuilder().setAssign(assign("j1", 1, cmd)
          .addRanks(RankAssignment.newBuilder().setRank(0).setLocalRank(0).addCardIndices(0))).build());
      var refused = gw.await(mark, r -> report(r, ReportType.ASSIGN_REFUSED, "j1", 1), WAIT_MILLIS).frame().getReport();
      assertEquals(2, refused.getAssignRefused().getHeldAttempt());
      assertTrue(refused.getAssignRefused().getReason().contains("older than attempt 2"), refused.toString());
      // a resent Assign of the running attempt changes nothing
      gw.send("n1", AgentFrame.newBuilder().setAssign(assign("j1", 2, cmd)
          .addRanks(RankAssignment.newBuilder().setRank(0).setLocalRank(0).addCardIndices(1))).build());
      // an Assign naming a card this node does not have is refused
      gw.send("n1", AgentFrame.newBuilder().setAssign(assign("j2", 1, cmd)
          .addRanks(RankAssignment.newBuilder().setRank(0).addCardIndices(7))).build());
      var noCard = gw.await(mark, r -> report(r, ReportType.ASSIGN_REFUSED, "j2", 1), WAIT_MILLIS).frame().getReport();
      assertTrue(noCard.getAssignRefused().getReason().contains("card 7 does not exist"), noCard.toString());
      // stale epoch
      gw.send("n1", AgentFrame.newBuilder().setAssign(assign("j3", 1, cmd).setNodeEpoch(7)
          .addRanks(RankAssignment.newBuilder().setRank(0).addCardIndices(2))).build());
      var stale = gw.await(mark, r -> report(r, ReportType.ASSIGN_REFUSED, "j3", 1), WAIT_MILLIS).frame().getReport();
      assertTrue(stale.getAssignRefused().getReason().contains("stale node epoch"), stale.toString());

      // Stop kills the job's processes
      mark = gw.size();
      gw.send("n1", AgentFrame.newBuilder().setStop(Stop.newBuilder().setJobId("j1").setReason("cancelled")).build());
      var stopped = gw.await(mark, r -> report(r, ReportType.TASK_EXITED, "j1", 2), WAIT_MILLIS).frame().getReport();
      assertTrue(stopped.getTaskExited().getDetail().contains("cancelled"), stopped.toString());
      List<AttemptLog.Entry> log = AttemptLog.read(dir.resolve("attempts.log"));
      assertEquals(3, log.stream().filter(e -> e.kind() == AttemptLog.Kind.START).count(),
          "the duplicate Assign must not start anything: " + log);
      assertTrue(AttemptLog.unstopped(log).isEmpty(), log.toString());
      assertNoOverlap(log);
    }
  }

  @Test
  void aNewNodeEpochKillsEverythingFromTheOldOne(@TempDir Path dir) throws Exception {
    try (FakeGateway gw = new FakeGateway();
        Agent agent = new Agent(TestSupport.config("n1", "sn1", gw, dir))) {
      agent.start();
      gw.await(r -> r.frame().hasInventory(), WAIT_MILLIS);
      gw.send("n1", AgentFrame.newBuilder().setAssign(assign("j1", 1, List.of("/bin/sh", "-c", "exec sleep 600"))
          .addRanks(RankAssignment.newBuilder().setRank(0).addCardIndices(0))).build());
      gw.await(r -> report(r, ReportType.TASK_STARTED, "j1", 1), WAIT_MILLIS);
      // the node was declared lost: the server welcomes it back under a new epoch
      gw.epoch.set(2);
      int mark = gw.size();
      gw.sendRaw("n1", new byte[] {0, 0, 0, 0}); // a bad frame makes the agent reconnect
      var exited = gw.await(mark, r -> report(r, ReportType.TASK_EXITED, "j1", 1), WAIT_MILLIS).frame().getReport();
      assertTrue(exited.getTaskExited().getDetail().contains("node epoch changed from 1 to 2"), exited.toString());
      assertTrue(AttemptLog.unstopped(AttemptLog.read(dir.resolve("attempts.log"))).isEmpty());
      // and a worker exiting on its own is reported with its exit code
      gw.send("n1", AgentFrame.newBuilder().setAssign(assign("j2", 1, List.of("/bin/sh", "-c", "exit 7"))
          .setNodeEpoch(2).addRanks(RankAssignment.newBuilder().setRank(0).addCardIndices(1))).build());
      var code = gw.await(mark, r -> report(r, ReportType.TASK_EXITED, "j2", 1), WAIT_MILLIS).frame().getReport();
      assertEquals(7, code.getTaskExited().getExitCode());
      assertFalse(code.getTaskExited().getKilledByAgent());
    }
  }

  /** No two attempts of one job ever ran at once, judged by the attempt log alone. */
  static void assertNoOverlap(List<AttemptLog.Entry> log) {
    Map<String, Map<Long, Integer>> running = new HashMap<>();
    for (AttemptLog.Entry e : log) {
      Map<Long, Integer> perAttempt = running.computeIfAbsent(e.jobId(), k -> new HashMap<>());
      if (e.kind() == AttemptLog.Kind.START) {
        for (var other : perAttempt.entrySet()) {
          if (!other.getKey().equals(e.attempt()) && other.getValue() > 0) {
            throw new AssertionError("job " + e.jobId() + " attempt " + e.attempt() + " started while attempt "
                + other.getKey() + " still ran: " + log);
          }
        }
        perAttempt.merge(e.attempt(), 1, Integer::sum);
      } else {
        perAttempt.merge(e.attempt(), -1, Integer::sum);
      }
    }
  }
}
