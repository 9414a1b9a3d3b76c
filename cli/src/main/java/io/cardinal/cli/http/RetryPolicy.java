package io.cardinal.cli.http;

import java.time.Duration;

/**
 * How often and how long a request is retried across servers. A pass tries every server once in order; between
 * passes the client sleeps {@code backoff}, doubling up to {@code maxBackoff}. Both limits always hold: at most
 * {@code maxAttempts} requests, and no new attempt after {@code budget} has passed.
 */
public record RetryPolicy(int maxAttempts, Duration budget, Duration initialBackoff, Duration maxBackoff) {
  public RetryPolicy {
    if (maxAttempts < 1 || maxAttempts > 1000) {
      throw new IllegalArgumentException("maxAttempts must be 1..1000, got " + maxAttempts);
    }
    if (budget.isNegative() || initialBackoff.isNegative() || maxBackoff.compareTo(initialBackoff) < 0) {
      throw new IllegalArgumentException("bad retry durations: " + budget + ", " + initialBackoff + ", " + maxBackoff);
    }
  }

  /** One try per server, no waiting: for reads and for writes that are not safe to repeat. */
  public static RetryPolicy onePass(int servers) {
    return new RetryPolicy(Math.max(1, servers), Duration.ofSeconds(60), Duration.ZERO, Duration.ZERO);
  }

  /**
   * `job submit`: the idempotency key makes repeats safe, so it rides out a leader election (a few seconds of 503)
   * or a replica restart.
   */
  public static RetryPolicy submitDefault() {
    return new RetryPolicy(10, Duration.ofSeconds(30), Duration.ofMillis(250), Duration.ofSeconds(5));
  }
}
