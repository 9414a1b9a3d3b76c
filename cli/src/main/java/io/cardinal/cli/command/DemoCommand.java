package io.cardinal.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import io.cardinal.cli.CliException;
import io.cardinal.cli.ExitCodes;
import io.cardinal.cli.demo.DemoCluster;
import io.cardinal.cli.demo.DemoRun;
import io.cardinal.cli.demo.Timeline;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "demo", description = "The main job, end to end on this machine: a 3-replica cluster, 4 agents "
    + "(2 supernodes x 2 nodes x 4 cards), a checkpointing job; a card is failed (restart from the local shard), "
    + "then a whole node is killed (restart on the other node from the buddy's copy). Prints the timeline and "
    + "what each incident cost; stops everything afterwards.",
    footer = {"", "Exit 0 when both restarts happened; 1 otherwise (the message names the step that did not, and "
        + "the directory with the logs is kept)."})
public final class DemoCommand extends BaseCommand {
  @Option(names = "--dir", paramLabel = "DIR", description = "Where the cluster lives (an empty or new "
      + "directory; kept afterwards). Default: a fresh temporary directory, deleted afterwards.")
  Path dir;

  @Option(names = "--keep", description = "Keep the temporary directory (configs, data, logs) afterwards.")
  boolean keep;

  @Override
  protected void run() throws IOException {
    long startMs = System.currentTimeMillis();
    PrintStream err = context().err();
    Path home = context().cardinalHome().orElseThrow(() -> CliException.invalid("cardinal.home is not set, so "
        + "bin/cardinal-server and bin/cardinal-agent cannot be found; run the CLI through bin/cardinal"));
    Path root = prepare();
    boolean temporary = dir == null;
    DemoCluster cluster = new DemoCluster(home, root, err);
    // Whoever claims the end first (the run finishing, or Ctrl-C's shutdown hook) reports and cleans up.
    AtomicBoolean claimed = new AtomicBoolean();
    Thread hook = new Thread(() -> {
      if (!claimed.compareAndSet(false, true)) {
        return;
      }
      err.println("cardinal demo: interrupted; stopping the agents, their workers and the servers");
      cluster.close();
      if (temporary && !keep) {
        delete(root);
      } else {
        err.println("cardinal demo: logs are in " + root);
      }
      err.flush();
    }, "demo-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
    DemoRun.Result result;
    try {
      result = new DemoRun(cluster, home, err, startMs).run();
    } finally {
      long stopStart = System.nanoTime();
      boolean first = !cluster.closed();
      cluster.close();
      if (first) {
        err.printf("cardinal demo: stopped the agents, their workers and the servers in %.1f s%n",
            (System.nanoTime() - stopStart) / 1e9);
      }
    }
    if (!claimed.compareAndSet(false, true)) {
      // Ctrl-C: the shutdown hook owns the cleanup and the last word; the JVM exits when it is done.
      throw new CliException(130, "interrupted");
    }
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // Ctrl-C came meanwhile: the hook finds the end claimed and leaves the rest to us.
    }
    List<String> left = cluster.leftovers();
    if (!left.isEmpty()) {
      err.println("cardinal demo: still running after cleanup: " + String.join(", ", left));
    }
    boolean deleted = false;
    if (result.ok() && temporary && !keep) {
      deleted = delete(root);
    }
    JsonNode doc = result.toJson();
    boolean gone = deleted;
    output().print(doc, out -> table(out, result, gone));
    if (!result.ok()) {
      throw new CliException(ExitCodes.INVALID, "demo failed at step \"" + result.failedStep() + "\": "
          + result.error() + ". Logs are kept in " + root + " (servers: n*/server.log, agents: "
          + "agents/*/agent.log, workers: agents/*/data/logs/)");
    }
  }

  private static void table(PrintStream out, DemoRun.Result r, boolean deleted) {
    Timeline t = r.timeline();
    out.println("Timeline (job " + (r.jobId() == null ? "-" : r.jobId()) + "; times from the start of the demo):");
    t.print(out);
    out.println();
    out.println("Incidents:");
    if (r.incidents().isEmpty()) {
      out.println("  none");
    }
    for (JsonNode i : r.incidents()) {
      out.println("  attempt " + i.path("fromAttempt").asLong() + " -> " + i.path("toAttempt").asLong() + ": "
          + i.path("reason").asText());
      out.println("    detected -> running  " + (i.hasNonNull("detectedToRunningMs")
          ? i.path("detectedToRunningMs").asLong() + " ms" : "not running yet"));
      out.println("    restore step         " + i.path("restoreStep").asLong());
      out.println("    steps lost           " + (i.hasNonNull("stepsLost") ? i.path("stepsLost").asText() : "-"));
      out.println("    shard source         " + Timeline.sources(i) + " " + IncidentsCommand.sources(
          i.path("shardSources")));
    }
    out.println();
    if (r.ok()) {
      out.println("ok: the job came back twice, from a local shard after the card failure and from the buddy's "
          + "copy after the node loss." + (deleted ? "" : " Files: " + r.dir()));
    }
  }

  private Path prepare() throws IOException {
    if (dir == null) {
      return Files.createTempDirectory("cardinal-demo-").toAbsolutePath();
    }
    Path d = dir.toAbsolutePath().normalize();
    if (Files.exists(d)) {
      if (!Files.isDirectory(d)) {
        throw CliException.invalid("--dir " + d + " is not a directory");
      }
      try (var entries = Files.list(d)) {
        if (entries.findAny().isPresent()) {
          throw CliException.invalid("--dir " + d + " is not empty; give a new or empty directory (the demo "
              + "builds a fresh cluster there)");
        }
      }
    }
    Files.createDirectories(d);
    return d;
  }

  static boolean delete(Path root) {
    try {
      Files.walkFileTree(root, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          Files.deleteIfExists(file);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
          Files.deleteIfExists(d);
          return FileVisitResult.CONTINUE;
        }
      });
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
