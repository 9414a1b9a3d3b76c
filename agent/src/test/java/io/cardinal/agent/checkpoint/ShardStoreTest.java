package io.cardinal.agent.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardStoreTest {
  @Test
  void keepsTheLastKStepsAndRejectsBadChecksums(@TempDir Path dir) throws Exception {
    ShardStore store = new ShardStore(dir, 3, false);
    for (long step = 1; step <= 5; step++) {
      Path f = dir.resolve("w-" + step);
      Files.write(f, ("shard " + step).getBytes());
      String sum = Checksums.ofFile(f, Checksums.CRC32C);
      var s = store.storeLocal("j1", 1, 0, step, f, Files.size(f), sum);
      assertNull(ShardStore.verify(s));
    }
    // No step committed yet: any of them may be, so all are kept (up to 4 x keepSteps); a pin collects the older.
    assertEquals(List.of(5L, 4L, 3L, 2L, 1L), store.steps(ShardStore.Kind.LOCAL, "j1"));
    store.pinCommitted("j1", 4);
    assertEquals(List.of(5L, 4L, 3L), store.steps(ShardStore.Kind.LOCAL, "j1"));
    Path bad = dir.resolve("bad");
    Files.write(bad, "corrupt".getBytes());
    var e = assertThrows(ShardStore.ShardRejectedException.class,
        () -> store.storeLocal("j1", 1, 0, 6, bad, 7, "crc32c:00000000"));
    assertTrue(e.getMessage().contains("checksum mismatch"), e.getMessage());
    assertEquals(5, store.latestLocalStep("j1", 0, 6));
    assertThrows(ShardStore.ShardRejectedException.class,
        () -> store.storeLocal("../x", 1, 0, 6, bad, 7, "crc32c:00000000"));
  }

  @Test
  void neverCollectsTheCommittedStepAndRemembersItAcrossRestarts(@TempDir Path dir) throws Exception {
    ShardStore store = new ShardStore(dir, 2, false);
    storeStep(store, dir, 1);
    store.pinCommitted("j1", 1);
    // A fast rank writes four newer steps before any of them is committed: step 1 is the only restore point.
    for (long step = 2; step <= 5; step++) {
      storeStep(store, dir, step);
    }
    // Steps 2-5 are newer than the pin: the server may have committed any of them already (its notice is on the way).
    assertEquals(List.of(5L, 4L, 3L, 2L, 1L), store.steps(ShardStore.Kind.LOCAL, "j1"));

    ShardStore restarted = new ShardStore(dir, 2, false);
    assertEquals(1, restarted.committedStep("j1"));
    // A commit that stalls cannot fill the disk: beyond 4 x keepSteps the oldest uncommitted steps go (not the pin).
    for (long step = 6; step <= 12; step++) {
      storeStep(restarted, dir, step);
    }
    assertEquals(List.of(12L, 11L, 10L, 9L, 8L, 7L, 6L, 5L, 1L), restarted.steps(ShardStore.Kind.LOCAL, "j1"));

    // The pin only moves forward; a newer pin releases the old restore point at once.
    restarted.pinCommitted("j1", 5);
    restarted.pinCommitted("j1", 3);
    assertEquals(5, restarted.committedStep("j1"));
    assertEquals(List.of(12L, 11L, 10L, 9L, 8L, 7L, 6L, 5L), restarted.steps(ShardStore.Kind.LOCAL, "j1"));
    restarted.pinCommitted("j1", 11);
    assertEquals(List.of(12L, 11L), restarted.steps(ShardStore.Kind.LOCAL, "j1"));
    assertThrows(ShardStore.ShardRejectedException.class, () -> restarted.pinCommitted("../x", 2));
  }

  private static void storeStep(ShardStore store, Path dir, long step) throws Exception {
    Path f = dir.resolve("w-" + step);
    Files.write(f, ("shard " + step).getBytes());
    store.storeLocal("j1", 1, 0, step, f, Files.size(f), Checksums.ofFile(f, Checksums.CRC32C));
  }
}
