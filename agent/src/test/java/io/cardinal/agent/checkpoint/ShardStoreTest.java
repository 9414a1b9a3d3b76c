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
}
