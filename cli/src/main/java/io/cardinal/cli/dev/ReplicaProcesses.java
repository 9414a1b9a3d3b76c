package io.cardinal.cli.dev;

import io.cardinal.cli.CliException;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Starts and stops replica processes of a dev cluster. A replica runs `bin/cardinal-server --config FILE` in its own
 * session (setsid), so it outlives the CLI and a Ctrl-C in the terminal does not reach it; its pid goes to
 * DIR/&lt;id&gt;/pid.
 */
public final class ReplicaProcesses {
  private static final List<String> SIGNALS = List.of("TERM", "KILL", "INT", "HUP", "STOP", "CONT");

  private final Path serverBinary;

  public ReplicaProcesses(Path cardinalHome) {
    this.serverBinary = cardinalHome.resolve("bin").resolve("cardinal-server");
  }

  public Path serverBinary() {
    return serverBinary;
  }

  /** Starts the replica and records its pid. */
  public long start(Replica r) {
    if (!Files.isExecutable(serverBinary)) {
      throw CliException.invalid("cannot run " + serverBinary + " (missing or not executable); is cardinal.home "
          + "the Cardinal directory? Run the CLI through bin/cardinal.");
    }
    try {
      Files.createDirectories(r.dataDir());
    } catch (IOException e) {
      throw CliException.invalid("cannot create " + r.dataDir() + ": " + e.getMessage());
    }
    ProcessBuilder pb = new ProcessBuilder(detachPrefix(serverBinary.toString(), "--config",
        r.configFile().toString()))
        .directory(r.dir().toFile())
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(r.logFile().toFile()))
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw CliException.invalid("cannot start " + r.id() + ": " + e.getMessage());
    }
    // setsid execs in place when its caller is not a process group leader (a freshly forked child never is), and
    // the launcher execs java: so this pid is the server's own, the one to signal later.
    long pid = p.pid();
    try {
      Files.writeString(r.pidFile(), pid + "\n");
    } catch (IOException e) {
      p.destroy();
      throw CliException.invalid("cannot write " + r.pidFile() + ": " + e.getMessage());
    }
    return pid;
  }

  private static List<String> detachPrefix(String... command) {
    String setsid = firstExecutable("/usr/bin/setsid", "/bin/setsid");
    if (setsid != null) {
      return concat(setsid, command);
    }
    // Without setsid, nohup at least keeps a terminal hangup from killing the replica.
    String nohup = firstExecutable("/usr/bin/nohup", "/bin/nohup");
    return nohup != null ? concat(nohup, command) : List.of(command);
  }

  private static List<String> concat(String first, String... rest) {
    String[] all = new String[rest.length + 1];
    all[0] = first;
    System.arraycopy(rest, 0, all, 1, rest.length);
    return List.of(all);
  }

  private static String firstExecutable(String... paths) {
    for (String p : paths) {
      if (Files.isExecutable(Path.of(p))) {
        return p;
      }
    }
    return null;
  }

  /** The recorded pid, if the pid file exists and reads as a number. */
  public static OptionalLong recordedPid(Replica r) {
    try {
      String s = Files.readString(r.pidFile()).strip();
      return OptionalLong.of(Long.parseLong(s));
    } catch (NoSuchFileException e) {
      return OptionalLong.empty();
    } catch (IOException | NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  /**
   * The pid of the running replica, if any. A pid from an old pid file may since belong to another process, so a
   * live pid counts only if its command line (when the OS shows it) names this replica's config file.
   */
  public static Optional<ProcessHandle> live(Replica r) {
    OptionalLong pid = recordedPid(r);
    if (pid.isEmpty()) {
      return Optional.empty();
    }
    Optional<ProcessHandle> h = ProcessHandle.of(pid.getAsLong()).filter(ProcessHandle::isAlive);
    if (h.isEmpty()) {
      return Optional.empty();
    }
    Optional<String> cmd = h.get().info().commandLine();
    if (cmd.isPresent() && !cmd.get().contains(r.configFile().toString())) {
      return Optional.empty();
    }
    return h;
  }

  /** SIGTERM, then SIGKILL if it has not exited within {@code grace}. Returns true once it is gone. */
  public static boolean stop(ProcessHandle h, Duration grace) {
    h.destroy();
    if (awaitExit(h, grace)) {
      return true;
    }
    h.destroyForcibly();
    return awaitExit(h, Duration.ofSeconds(5));
  }

  /** Sends one signal (TERM, KILL, INT, HUP, STOP, CONT). */
  public static void signal(ProcessHandle h, String signal) {
    String sig = signal.toUpperCase(Locale.ROOT).replaceFirst("^SIG", "");
    if (!SIGNALS.contains(sig)) {
      throw CliException.invalid("--signal must be one of " + String.join(", ", SIGNALS) + ", got " + signal);
    }
    if (sig.equals("TERM")) {
      h.destroy();
      return;
    }
    if (sig.equals("KILL")) {
      h.destroyForcibly();
      return;
    }
    // ProcessHandle only knows TERM and KILL; STOP/CONT (a hung replica) need kill(1).
    try {
      Process k = new ProcessBuilder("kill", "-s", sig, Long.toString(h.pid())).redirectErrorStream(true).start();
      if (!k.waitFor(5, TimeUnit.SECONDS) || k.exitValue() != 0) {
        k.destroyForcibly();
        throw CliException.invalid("kill -s " + sig + " " + h.pid() + " failed");
      }
    } catch (IOException e) {
      throw CliException.invalid("cannot run kill: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw CliException.invalid("interrupted");
    }
  }

  public static boolean awaitExit(ProcessHandle h, Duration timeout) {
    try {
      h.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return !h.isAlive();
    } catch (ExecutionException e) {
      return !h.isAlive();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return !h.isAlive();
    }
  }

  /** The last lines of a replica's log, to show why it died. */
  public static String tail(Path log, int lines) {
    try {
      List<String> all = Files.readAllLines(log);
      return String.join(" | ", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log)";
    }
  }
}
