package io.cardinal.agent;

import static io.cardinal.agent.AgentLaunchTest.assign;
import static io.cardinal.agent.AgentLaunchTest.report;
import static io.cardinal.agent.TestSupport.WAIT_MILLIS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cardinal.agent.checkpoint.Checksums;
import io.cardinal.protocol.v1.AgentFrame;
import io.cardinal.protocol.v1.Assign;
import io.cardinal.protocol.v1.EnvVar;
import io.cardinal.protocol.v1.RankAssignment;
import io.cardinal.protocol.v1.Report;
import io.cardinal.protocol.v1.ReportType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two agents on two supernodes, real trainer processes: shards go to the local store and the buddy,
 * CHECKPOINT_DURABLE follows the buddy's copy, a corrupt shard falls back, restores read from the
 * buddy when the local copy is gone and from the local store when it is there.
 */
class CheckpointTest {
  private static final int SHARD_BYTES = 300_000; // not a multiple of anything: exercises partial chunks

  private static Assign.Builder trainer(long attempt, long restoreStep, long totalSteps, String buddyNode,
      String buddyAddress, Map<String, String> extraEnv) throws Exception {
    Assign.Builder a = assign("train", attempt, TestSupport.trainerCommand()).setWorldSize(1).setRestoreStep(restoreStep)
        .setBuddyNodeId(buddyNode).setBuddyAddress(buddyAddress)
        .addRanks(RankAssignment.newBuilder().setRank(0).setLocalRank(0).addCardIndices(0))
        .addEnv(env("TRAINER_STEPS_PER_SEC", "40")).addEnv(env("TRAINER_CHECKPOINT_EVERY", "5"))
        .addEnv(env("TRAINER_SHARD_BYTES", Integer.toString(SHARD_BYTES)))
        .addEnv(env("TRAINER_TOTAL_STEPS", Long.toString(totalSteps)));
    extraEnv.forEach((k, v) -> a.addEnv(env(k, v)));
    return a;
  }

  private static EnvVar env(String k, String v) {
    return EnvVar.newBuilder().setName(k).setValue(v).build();
  }

  private static boolean durable(FakeGateway.Received r, long attempt, long step) {
    return r.frame().hasReport() && r.frame().getReport().getType() == ReportType.CHECKPOINT_DURABLE
        && r.frame().getReport().getCheckpointDurable().getAttempt() == attempt
        && r.frame().getReport().getCheckpointDurable().getStep() == step;
  }

  @Test
  void shardsAreReplicatedToTheBuddyAndRestoredFromItOrLocally(@TempDir Path dirA, @TempDir Path dirB)
      throws Exception {
    try (TestSupport.LogCapture logs = new TestSupport.LogCapture();
        FakeGateway gw = new FakeGateway();
        Agent a = new Agent(TestSupport.config("a1", "sn1", gw, dirA).withKeepCheckpoints(10));
        Agent b = new Agent(TestSupport.config("b1", "sn2", gw, dirB).withKeepCheckpoints(10))) {
      a.start();
      b.start();
      gw.await(r -> r.nodeId().equals("a1") && r.frame().hasInventory(), WAIT_MILLIS);
      gw.await(r -> r.nodeId().equals("b1") && r.frame().hasInventory(), WAIT_MILLIS);

      // attempt 1: 40 steps, a shard every 5; step 10's checksum is corrupted on purpose
      gw.send("a1", AgentFrame.newBuilder().setAssign(trainer(1, 0, 40, "b1", b.peerAddress().toString(),
          Map.of("TRAINER_CORRUPT_AT_STEP", "10"))).build());
      Report d5 = gw.await(r -> durable(r, 1, 5), WAIT_MILLIS).frame().getReport();
      // the report comes only after the buddy holds a verified copy
      Path buddyCopy = dirB.resolve("buddy/train/5/rank-0.shard");
      assertTrue(Files.exists(buddyCopy), "buddy copy missing when CHECKPOINT_DURABLE arrived");
      assertEquals(d5.getCheckpointDurable().getChecksum(), Checksums.ofFile(buddyCopy, Checksums.CRC32C));
      assertEquals(SHARD_BYTES, d5.getCheckpointDurable().getShardBytes());
      assertEquals("b1", d5.getCheckpointDurable().getBuddyNodeId());
      assertTrue(Files.exists(dirA.resolve("checkpoints/train/5/rank-0.shard")));

      Report rejected = gw.await(r -> r.frame().hasReport()
          && r.frame().getReport().getType() == ReportType.CHECKPOINT_REJECTED, WAIT_MILLIS).frame().getReport();
      assertEquals(10, rejected.getCheckpointRejected().getStep());
      assertEquals(5, rejected.getCheckpointRejected().getFallbackStep());
      assertTrue(rejected.getCheckpointRejected().getReason().contains("checksum mismatch"), rejected.toString());
      assertTrue(logs.contains("rejecting checkpoint shard job train", "keeping the previous step 5"), logs.dump());

      gw.await(r -> durable(r, 1, 40), WAIT_MILLIS);
      Report exit1 = gw.await(r -> report(r, ReportType.TASK_EXITED, "train", 1), WAIT_MILLIS).frame().getReport();
      assertEquals(0, exit1.getTaskExited().getExitCode(), exit1.toString());
      assertTrue(TestSupport.read(dirA.resolve("logs/train/1/rank-0.log"))
          .contains("checkpoint step 10 rejected"));
      assertTrue(Files.notExists(dirA.resolve("checkpoints/train/10")), "the corrupt step must not be kept");
      assertTrue(Files.notExists(dirB.resolve("buddy/train/10")), "the corrupt step must not be replicated");

      // the local copies are lost: attempt 2 restores step 40 from the buddy
      deleteTree(dirA.resolve("checkpoints"));
      gw.send("a1", AgentFrame.newBuilder().setAssign(trainer(2, 40, 50, "b1", b.peerAddress().toString(),
          Map.of())).build());
      Report started2 = gw.await(r -> report(r, ReportType.TASK_STARTED, "train", 2), WAIT_MILLIS).frame().getReport();
      assertEquals("buddy", started2.getTaskStarted().getShardSource());
      assertEquals(40, started2.getTaskStarted().getRestoreStep());
      gw.await(r -> durable(r, 2, 50), WAIT_MILLIS);
      gw.await(r -> report(r, ReportType.TASK_EXITED, "train", 2)
          && r.frame().getReport().getTaskExited().getExitCode() == 0, WAIT_MILLIS);
      String log2 = TestSupport.read(dirA.resolve("logs/train/2/rank-0.log"));
      assertTrue(log2.contains("restored step 40 from "), log2);

      // attempt 3 restores step 50, which this node wrote and still holds
      gw.send("a1", AgentFrame.newBuilder().setAssign(trainer(3, 50, 52, "b1", b.peerAddress().toString(),
          Map.of())).build());
      Report started3 = gw.await(r -> report(r, ReportType.TASK_STARTED, "train", 3), WAIT_MILLIS).frame().getReport();
      assertEquals("local", started3.getTaskStarted().getShardSource());
      gw.await(r -> report(r, ReportType.TASK_EXITED, "train", 3), WAIT_MILLIS);
      assertTrue(TestSupport.read(dirA.resolve("logs/train/3/rank-0.log")).contains("restored step 50 from "));

      // a restore step nobody holds (the rejected one) fails clearly instead of starting the worker
      gw.send("a1", AgentFrame.newBuilder().setAssign(trainer(4, 10, 52, "b1", b.peerAddress().toString(),
          Map.of())).build());
      Report failed = gw.await(r -> report(r, ReportType.TASK_EXITED, "train", 4), WAIT_MILLIS).frame().getReport();
      assertTrue(failed.getTaskExited().getFailedToStart(), failed.toString());
      assertTrue(failed.getTaskExited().getDetail().contains("no valid shard for job train step 10 rank 0"),
          failed.toString());
    }
  }

  private static void deleteTree(Path dir) throws Exception {
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  @SuppressWarnings("unused")
  private static List<String> ids(List<FakeGateway.Received> rs) {
    return rs.stream().filter(r -> r.frame().hasReport()).map(r -> r.frame().getReport().getId()).toList();
  }
}
