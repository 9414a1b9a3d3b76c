package io.cardinal.agent;

import java.util.concurrent.TimeUnit;

/**
 * The node lease as the agent keeps it. The server may restart this node's work elsewhere {@code leaseMillis} after
 * the last heartbeat it <em>received</em> from the node (its lostNodeHoldMillis, sent in the Welcome). The agent
 * counts from the <em>send</em> time of its newest acked heartbeat, which is no later than that receive time, so on
 * clocks that run at the same rate its deadline comes first; it fences (kills every worker) when
 * {@link Plan#fenceAfterMillis()} has passed with no newer ack, so that the kill, with its grace, ends
 * {@link #FENCE_MARGIN_MILLIS} before the server's hold does.
 *
 * <p>Times are System.nanoTime values passed in (monotonic: a wall clock step must not move the deadline), so the
 * arithmetic is testable without waiting. Not thread-safe: the agent-state thread owns it.
 */
public final class Lease {
  /**
   * Kept between the end of the kill and the server's deadline. It covers the state thread's lease check period and
   * latency, reaping the killed processes, clocks that drift apart, and above all acks from a leader that has been
   * deposed without knowing it: cut off together with this node, it acks heartbeats until it steps down, which Ratis
   * does up to about 2 x electionTimeoutMaxMillis - electionTimeoutMinMillis (0.8 s with the defaults, more when
   * starved of CPU) after the new leader could have been elected, while the new leader counts its hold from its own
   * start. The chaos soaks saw deposed leaders still answer for 1-3 s. (A node that reaches the new leader is covered
   * by the explicit stop confirmation, not by the lease.) 3 s is 25% of the default 12 s lease.
   */
  public static final long FENCE_MARGIN_MILLIS = 3000;

  /**
   * When to fence after the anchor, and how long SIGTERM may take before SIGKILL. {@code graceMillis} is 0 (SIGKILL
   * at once) when the configured grace would leave less than half the usable lease.
   */
  public record Plan(long fenceAfterMillis, long graceMillis) {}

  private final long killGraceMillis;
  private long leaseMillis;
  private Plan plan;
  private boolean anchored;
  private long anchorNanos;
  private boolean fencedThisAnchor;

  public Lease(long killGraceMillis) {
    if (killGraceMillis < 0) {
      throw new IllegalArgumentException("killGraceMillis must be >= 0, got " + killGraceMillis);
    }
    this.killGraceMillis = killGraceMillis;
  }

  /** The fence schedule for a lease; {@code null} for no lease (0). */
  public static Plan plan(long leaseMillis, long killGraceMillis) {
    if (leaseMillis < 0 || killGraceMillis < 0) {
      throw new IllegalArgumentException("lease and kill grace must be >= 0, got " + leaseMillis + " and "
          + killGraceMillis);
    }
    if (leaseMillis == 0) {
      return null;
    }
    // A lease shorter than four margins (never from a validated server config) keeps a quarter of itself as margin.
    long usable = leaseMillis - Math.min(FENCE_MARGIN_MILLIS, leaseMillis / 4);
    if (usable - killGraceMillis >= usable / 2) {
      return new Plan(usable - killGraceMillis, killGraceMillis);
    }
    return new Plan(usable, 0);
  }

  /** Takes the lease of a new Welcome (0: the server grants none, so nothing is fenced). */
  public void setLeaseMillis(long leaseMillis) {
    this.plan = plan(leaseMillis, killGraceMillis);
    this.leaseMillis = leaseMillis;
  }

  public long leaseMillis() {
    return leaseMillis;
  }

  /** The current schedule, or null without a lease. */
  public Plan plan() {
    return plan;
  }

  /** A heartbeat sent at {@code sentNanos} was acked: the lease runs from then, unless a newer ack already moved it. */
  public void acked(long sentNanos) {
    if (!anchored || sentNanos - anchorNanos > 0) {
      anchorNanos = sentNanos;
      anchored = true;
      fencedThisAnchor = false;
    }
  }

  /**
   * True once per anchor when the fence time has passed: the caller kills every worker and calls {@link #fenced()}.
   * False without a lease, before the first ack (nothing runs then that an earlier agent run left: the agent kills
   * those at start), and after the fence until a newer ack.
   */
  public boolean due(long nowNanos) {
    return plan != null && anchored && !fencedThisAnchor
        && nowNanos - anchorNanos >= TimeUnit.MILLISECONDS.toNanos(plan.fenceAfterMillis());
  }

  public void fenced() {
    fencedThisAnchor = true;
  }

  /** Milliseconds since the anchor (the newest acked heartbeat's send time), or -1 before the first ack. */
  public long sinceAckMillis(long nowNanos) {
    return anchored ? TimeUnit.NANOSECONDS.toMillis(nowNanos - anchorNanos) : -1;
  }
}
