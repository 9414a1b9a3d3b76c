package io.cardinal.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LeaseTest {
  private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

  @Test
  void planKeepsGraceAndMarginInsideTheLease() {
    // The server default: 12 s lease, 2 s grace -> SIGTERM at 7 s, SIGKILL by 9 s, 3 s before the server's hold ends.
    assertEquals(new Lease.Plan(7000, 2000), Lease.plan(12_000, 2000));
    // Grace that would eat more than half the usable lease: SIGKILL at lease - margin instead.
    assertEquals(new Lease.Plan(3000, 0), Lease.plan(4000, 2000));
    // A lease of under four margins keeps a quarter of itself as margin.
    assertEquals(new Lease.Plan(1500, 0), Lease.plan(2000, 1000));
    assertNull(Lease.plan(0, 2000), "0 is no lease");
    assertThrows(IllegalArgumentException.class, () -> Lease.plan(-1, 2000));
    assertThrows(IllegalArgumentException.class, () -> Lease.plan(1000, -1));
  }

  @Test
  void planNeverLetsTheKillEndAfterTheMargin() {
    long seed = System.nanoTime();
    Random rnd = new Random(seed);
    for (int i = 0; i < 10_000; i++) {
      long lease = 1 + rnd.nextInt(600_000);
      long grace = rnd.nextInt(30_000);
      Lease.Plan p = Lease.plan(lease, grace);
      String what = "seed " + seed + ": lease " + lease + " grace " + grace + " -> " + p;
      assertTrue(p.fenceAfterMillis() >= 0, what);
      assertTrue(p.graceMillis() == grace || p.graceMillis() == 0, what);
      long margin = lease - p.fenceAfterMillis() - p.graceMillis();
      assertTrue(margin >= Math.min(Lease.FENCE_MARGIN_MILLIS, lease / 4), what);
      // The fence never comes earlier than half of what the lease allows (grace is dropped first).
      assertTrue(p.fenceAfterMillis() >= (lease - Math.min(Lease.FENCE_MARGIN_MILLIS, lease / 4)) / 2, what);
    }
  }

  @Test
  void dueOncePerAnchorAndOnlyAfterTheFenceTime() {
    Lease l = new Lease(2000);
    long t0 = 1_000_000 * MS; // any nanoTime origin, including negative ones below
    assertFalse(l.due(t0), "no lease yet");
    l.setLeaseMillis(12_000);
    assertFalse(l.due(t0 + 100_000 * MS), "never acked: nothing to count from");
    l.acked(t0);
    assertFalse(l.due(t0 + 6999 * MS));
    assertTrue(l.due(t0 + 7000 * MS));
    l.fenced();
    assertFalse(l.due(t0 + 20_000 * MS), "fenced once for this anchor");
    assertEquals(20_000, l.sinceAckMillis(t0 + 20_000 * MS));
    // An ack of an older heartbeat (arriving late) does not move the anchor back or re-arm the fence.
    l.acked(t0 - 500 * MS);
    assertFalse(l.due(t0 + 20_000 * MS));
    // A newer ack re-arms it from its own send time.
    l.acked(t0 + 19_000 * MS);
    assertFalse(l.due(t0 + 25_999 * MS));
    assertTrue(l.due(t0 + 26_000 * MS));
    // A Welcome without a lease (older server) switches fencing off.
    l.setLeaseMillis(0);
    assertFalse(l.due(t0 + 100_000 * MS));
  }

  @Test
  void anchorComparesAcrossNanoTimeWrap() {
    Lease l = new Lease(0);
    l.setLeaseMillis(4000);
    long nearMax = Long.MAX_VALUE - 500 * MS;
    l.acked(nearMax);
    l.acked(nearMax + 1000 * MS); // overflows to negative: still newer
    assertFalse(l.due(nearMax + 3999 * MS));
    assertTrue(l.due(nearMax + 4000 * MS));
  }
}
