package io.cardinal.agent;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.cardinal.agent.config.AgentConfig;
import io.cardinal.agent.config.HostPort;
import io.cardinal.agent.trainer.TrainerMain;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.LoggerFactory;

final class TestSupport {
  static final long WAIT_MILLIS = 30_000;

  private TestSupport() {}

  static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** The simulated trainer, from the compiled classes only (it needs nothing else). */
  static List<String> trainerCommand() throws Exception {
    String classes = Path.of(TrainerMain.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    return List.of(javaBin(), "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-cp",
        classes, TrainerMain.class.getName());
  }

  static AgentConfig config(String nodeId, String supernodeId, FakeGateway gw, Path dataDir) {
    return AgentConfig.of(nodeId, supernodeId, List.of(gw.address()), dataDir,
            new AgentConfig.Cards(4, "H100", 81920, false))
        .withHeartbeatIntervalMillis(200, 3000);
  }

  static void waitUntil(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + WAIT_MILLIS + " ms waiting until " + what);
      }
      Thread.sleep(20);
    }
  }

  static String read(Path p) {
    try {
      return Files.exists(p) ? Files.readString(p) : "";
    } catch (Exception e) {
      return "";
    }
  }

  /** Collects log lines of the in-process agents. */
  static final class LogCapture extends AppenderBase<ILoggingEvent> implements AutoCloseable {
    private final List<String> lines = new ArrayList<>();
    private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);

    LogCapture() {
      setContext(root.getLoggerContext());
      start();
      root.addAppender(this);
    }

    @Override
    protected synchronized void append(ILoggingEvent e) {
      lines.add(e.getLevel() + " " + e.getLoggerName() + " " + e.getFormattedMessage());
    }

    synchronized boolean contains(String... parts) {
      outer:
      for (String l : lines) {
        for (String p : parts) {
          if (!l.contains(p)) {
            continue outer;
          }
        }
        return true;
      }
      return false;
    }

    synchronized String dump() {
      return String.join("\n", lines);
    }

    @Override
    public void close() {
      root.detachAppender(this);
      stop();
    }
  }

  static HostPort loopback() {
    return new HostPort("127.0.0.1", 0);
  }
}
