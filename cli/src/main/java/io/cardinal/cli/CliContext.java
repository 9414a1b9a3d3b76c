package io.cardinal.cli;

import io.cardinal.cli.http.RetryPolicy;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneId;
import java.util.Map;
import java.util.Optional;

/**
 * What a CLI run gets from the outside world. Tests build their own (stub servers, captured streams, a fixed
 * clock, short retry budgets) instead of touching the process environment.
 *
 * @param env environment variables (CARDINAL_SERVERS)
 * @param cardinalHome the repository/distribution root, where bin/cardinal-server lives (for `dev`)
 * @param submitRetry how long `job submit` keeps retrying the same idempotency key
 * @param devReadyTimeout how long `dev up` waits for a leader and a healthy majority
 */
public record CliContext(
    Map<String, String> env,
    PrintStream out,
    PrintStream err,
    Clock clock,
    ZoneId zone,
    Optional<Path> cardinalHome,
    Duration connectTimeout,
    Duration requestTimeout,
    RetryPolicy submitRetry,
    Duration devReadyTimeout) {

  public CliContext {
    env = Map.copyOf(env);
  }

  /** The real process: System.out/err, the system clock and zone, -Dcardinal.home from the launcher. */
  public static CliContext system() {
    String home = System.getProperty("cardinal.home");
    return new CliContext(System.getenv(), System.out, System.err, Clock.systemUTC(), ZoneId.systemDefault(),
        home == null || home.isBlank() ? Optional.empty() : Optional.of(Path.of(home)),
        Duration.ofSeconds(2), Duration.ofSeconds(15), RetryPolicy.submitDefault(), Duration.ofSeconds(60));
  }

  public CliContext withSubmitRetry(RetryPolicy policy) {
    return new CliContext(env, out, err, clock, zone, cardinalHome, connectTimeout, requestTimeout, policy,
        devReadyTimeout);
  }
}
