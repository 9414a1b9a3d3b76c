package io.cardinal.agent;

import static io.cardinal.agent.AgentLaunchTest.assign;
import static io.cardinal.agent.AgentLaunchTest.report;
import static io.cardinal.agent.TestSupport.WAIT_MILLIS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cardinal.agent.launcher.AttemptLog;
import io.cardinal.protocol.v1.AgentFrame;
import io.cardinal.protocol.v1.RankAssignment;
import io.cardinal.protocol.v1.ReportType;
import io.cardinal.protocol.v1.TaskExited;
import io.cardinal.protocol.v1.TaskState;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent kills its workers when its node lease runs out without heartbeat acks (in process, fake gateway). */
class SelfFenceTest {
  private static final long LEASE_MILLIS = 6000;

  @Test
  void workersDieBeforeTheLeaseEndsAndTheOldAttemptIsRefusedAfterwards(@TempDir Path dir) throws Exception {
    Lease.Plan plan = Lease.plan(LEASE_MILLIS, 2000);
    try (FakeGateway gw = new FakeGateway();
        TestSupport.LogCapture logs = new TestSupport.LogCapture();
        // A session timeout beyond the fence time: the agent stays on its silent session instead of reconnecting (a
        // Welcome would count as the server hearing it and move the lease).
        Agent agent = new Agent(TestSupport.config("n1", "sn1", gw, dir).withHeartbeatIntervalMillis(200, 10_000))) {
      gw.leaseMillis.set(LEASE_MILLIS);
      agent.start();
      gw.await(r -> r.frame().hasInventory(), WAIT_MILLIS);
      List<String> cmd = List.of("/bin/sh", "-c", "exec sleep 600");
      gw.send("n1", AgentFrame.newBuilder().setAssign(assign("j1", 1, cmd)
          .addRanks(RankAssignment.newBuilder().setRank(0).addCardIndices(0))).build());
      long pid = gw.await(r -> report(r, ReportType.TASK_STARTED, "j1", 1), WAIT_MILLIS).frame().getReport()
          .getTaskStarted().getPid();
      gw.await(r -> r.frame().hasHeartbeat() && r.frame().getHeartbeat().getTasksList().stream()
          .anyMatch(t -> t.getState() == TaskState.TASK_STATE_RUNNING), WAIT_MILLIS);

      // cut off: heartbeats still arrive, no acks come back
      int mark = gw.size();
      long cutNanos = System.nanoTime();
      gw.ackHeartbeats.set(false);
      TaskExited exited = gw.await(mark, r -> report(r, ReportType.TASK_EXITED, "j1", 1), WAIT_MILLIS).frame()
          .getReport().getTaskExited();
      long fencedAfterMillis = (System.nanoTime() - cutNanos) / 1_000_000;
      System.out.println("fenced " + fencedAfterMillis + " ms after acks stopped (plan " + plan + ")");
      // The last acked heartbeat was sent at most one interval (200 ms) plus an ack's delivery before the cut: the
      // fence may not come much earlier than the plan says (this bound catches a fence that ignores the lease).
      assertTrue(fencedAfterMillis >= plan.fenceAfterMillis() - 200 - 300,
          "fenced after " + fencedAfterMillis + " ms, plan " + plan);
      assertFalse(exited.getKilledByAgent(), "a self-fenced rank is lost, not stopped on the server's orders: " + exited);
      assertTrue(exited.getDetail().contains("self-fence"), exited.getDetail());
      assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "worker " + pid + " survived");
      assertTrue(AttemptLog.unstopped(AttemptLog.read(dir.resolve("attempts.log"))).isEmpty());
      assertEquals(1, logs.dump().lines().filter(l -> l.contains("SELF-FENCE")).count(), logs.dump());

      // a late Assign of the fenced attempt (re-sent on the same or a new session) is refused, not run again
      TestSupport.waitUntil("a session to send on", () -> agent.sessionState().name().equals("ESTABLISHED"));
      mark = gw.size();
      sendWhenConnected(gw, AgentFrame.newBuilder().setAssign(assign("j1", 1, cmd)
          .addRanks(RankAssignment.newBuilder().setRank(0).addCardIndices(0))).build());
      var refused = gw.await(mark, r -> report(r, ReportType.ASSIGN_REFUSED, "j1", 1), WAIT_MILLIS).frame()
          .getReport().getAssignRefused();
      assertTrue(refused.getReason().contains("older than attempt 2"), refused.toString());

      // acks resume: the next attempt runs
      gw.ackHeartbeats.set(true);
      mark = gw.size();
      sendWhenConnected(gw, AgentFrame.newBuilder().setAssign(assign("j1", 2, cmd)
          .addRanks(RankAssignment.newBuilder().setRank(0).addCardIndices(0))).build());
      gw.await(mark, r -> report(r, ReportType.TASK_STARTED, "j1", 2), WAIT_MILLIS);
    }
  }

  /** The agent may be between sessions (its session timeout fires while acks are off); retry on the next one. */
  private static void sendWhenConnected(FakeGateway gw, AgentFrame f) throws InterruptedException {
    AssertionError last = null;
    for (int i = 0; i < 50; i++) {
      try {
        gw.send("n1", f);
        return;
      } catch (AssertionError | RuntimeException e) {
        last = e instanceof AssertionError a ? a : new AssertionError(e);
        Thread.sleep(100);
      }
    }
    throw last;
  }
}
