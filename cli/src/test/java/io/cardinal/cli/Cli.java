package io.cardinal.cli;

import io.cardinal.cli.http.RetryPolicy;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/** Runs the CLI in-process with captured output, a fixed clock (UTC) and short timeouts. */
final class Cli {
  static final Instant NOW = Instant.parse("2025-01-02T03:04:05Z");

  record Result(int exit, String out, String err) {
    @Override
    public String toString() {
      return "exit " + exit + "\n--- out:\n" + out + "--- err:\n" + err;
    }
  }

  private final Map<String, String> env = new HashMap<>();
  private RetryPolicy submitRetry = new RetryPolicy(10, Duration.ofSeconds(5), Duration.ofMillis(10),
      Duration.ofMillis(40));
  private Path home;
  private Duration readyTimeout = Duration.ofSeconds(1);

  Cli servers(String servers) {
    env.put("CARDINAL_SERVERS", servers);
    return this;
  }

  Cli submitRetry(RetryPolicy policy) {
    this.submitRetry = policy;
    return this;
  }

  Cli home(Path home) {
    this.home = home;
    return this;
  }

  Cli readyTimeout(Duration timeout) {
    this.readyTimeout = timeout;
    return this;
  }

  Result run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    CliContext ctx = new CliContext(env, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), Clock.fixed(NOW, ZoneOffset.UTC), ZoneOffset.UTC,
        Optional.ofNullable(home), Duration.ofSeconds(1), Duration.ofSeconds(3), submitRetry, readyTimeout);
    int exit = CardinalCli.run(ctx, args);
    return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }
}
