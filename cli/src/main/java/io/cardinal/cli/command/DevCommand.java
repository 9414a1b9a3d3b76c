package io.cardinal.cli.command;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.cli.CliException;
import io.cardinal.cli.ExitCodes;
import io.cardinal.cli.dev.DevLayout;
import io.cardinal.cli.dev.Readiness;
import io.cardinal.cli.dev.Replica;
import io.cardinal.cli.dev.ReplicaProcesses;
import io.cardinal.cli.output.Table;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "dev", description = "A local cluster of real server processes on loopback, for trying things "
    + "out and for tests.",
    subcommands = {DevCommand.Up.class, DevCommand.Down.class, DevCommand.Status.class, DevCommand.Kill.class,
        DevCommand.Start.class})
public final class DevCommand {
  static final Duration STOP_GRACE = Duration.ofSeconds(10);

  abstract static class DevBase extends BaseCommand {
    @Option(names = "--dir", required = true, paramLabel = "DIR", description = "The cluster's directory.")
    Path dir;

    List<Replica> existing() {
      return DevLayout.read(dir).orElseThrow(() -> CliException.invalid("no dev cluster in " + dir
          + " (no n1/server.yaml); create one with 'cardinal dev up --dir " + dir + "'"));
    }

    ReplicaProcesses processes() {
      Path home = context().cardinalHome().orElseThrow(() -> CliException.invalid("cardinal.home is not set, so "
          + "bin/cardinal-server cannot be found; run the CLI through bin/cardinal"));
      return new ReplicaProcesses(home);
    }

    void writeServers(List<Replica> replicas) {
      try {
        Files.writeString(dir.resolve("servers"), DevLayout.servers(replicas) + "\n");
      } catch (IOException e) {
        throw CliException.invalid("cannot write " + dir.resolve("servers") + ": " + e.getMessage());
      }
    }
  }

  @Command(name = "up", description = "Write a server.yaml per replica under DIR/<id>/, start the replicas in the "
      + "background and wait for a leader. On an existing DIR, restarts the replicas that are not running.")
  static final class Up extends DevBase {
    @Option(names = "--replicas", paramLabel = "N", description = "3 (default), 5 or 1.")
    Integer replicas;

    @Option(names = "--base-port", paramLabel = "P", description = "Replica i listens on P+i (raft), P+1000+i "
        + "(http), P+2000+i (agent). Default: free ports.")
    Integer basePort;

    @Override
    protected void run() {
      PrintStream err = context().err();
      Optional<List<Replica>> found = DevLayout.read(dir);
      List<Replica> layout;
      if (found.isPresent()) {
        layout = found.get();
        if (replicas != null && replicas != layout.size()) {
          err.println("cardinal: " + dir + " already holds a " + layout.size() + "-replica cluster; ignoring "
              + "--replicas " + replicas + " (run 'cardinal dev down' and remove the directory to change it)");
        }
        if (basePort != null) {
          err.println("cardinal: " + dir + " already has its ports; ignoring --base-port");
        }
      } else {
        layout = DevLayout.plan(dir, replicas == null ? 3 : replicas, basePort);
        DevLayout.write(layout);
      }
      ReplicaProcesses processes = processes();
      List<Replica> toStart = new ArrayList<>();
      List<String> running = new ArrayList<>();
      for (Replica r : layout) {
        Optional<ProcessHandle> live = ReplicaProcesses.live(r);
        if (live.isPresent()) {
          running.add(r.id() + " (pid " + live.get().pid() + ")");
        } else {
          toStart.add(r);
        }
      }
      if (toStart.isEmpty()) {
        throw CliException.invalid("the dev cluster in " + dir + " is already running: " + String.join(", ", running)
            + ". Use it with: export CARDINAL_SERVERS=" + DevLayout.servers(layout)
            + " (or stop it with 'cardinal dev down --dir " + dir + "')");
      }
      Map<String, Long> pids = new LinkedHashMap<>();
      for (Replica r : toStart) {
        long pid = processes.start(r);
        pids.put(r.id(), pid);
        err.println("started " + r.id() + " (pid " + pid + ", http " + r.httpAddress() + ", log " + r.logFile()
            + ")");
      }
      writeServers(layout);
      List<String> http = new ArrayList<>();
      layout.forEach(r -> http.add(r.httpAddress()));
      err.println("waiting up to " + context().devReadyTimeout().toSeconds() + "s for a leader...");
      Readiness.State state = new Readiness().await(http, context().devReadyTimeout(),
          () -> layout.stream().anyMatch(r -> ReplicaProcesses.live(r).isPresent()));
      if (!state.ready()) {
        List<String> dead = new ArrayList<>();
        for (Replica r : layout) {
          if (ReplicaProcesses.live(r).isEmpty()) {
            dead.add(r.id() + " exited (" + r.logFile() + ": " + ReplicaProcesses.tail(r.logFile(), 3) + ")");
          }
        }
        String detail = dead.isEmpty() ? "" : "; " + String.join("; ", dead);
        throw new CliException(ExitCodes.UNREACHABLE, "the dev cluster did not come up within "
            + context().devReadyTimeout().toSeconds() + "s (leader: " + state.leaderId().orElse("none")
            + ", healthy: " + state.healthy() + "/" + state.total() + ")" + detail
            + ". Look at the logs under " + dir + "; stop it with 'cardinal dev down --dir " + dir + "'");
      }
      ObjectNode doc = object();
      doc.put("dir", dir.toAbsolutePath().normalize().toString());
      doc.put("servers", DevLayout.servers(layout));
      doc.put("leaderId", state.leaderId().get());
      doc.put("healthy", state.healthy());
      ArrayNode reps = doc.putArray("replicas");
      for (Replica r : layout) {
        ObjectNode o = reps.addObject().put("id", r.id()).put("raftAddress", r.raftAddress())
            .put("httpAddress", r.httpAddress()).put("agentAddress", r.agentAddress());
        ReplicaProcesses.live(r).ifPresent(h -> o.put("pid", h.pid()));
        o.put("log", r.logFile().toString());
      }
      output().print(doc, out -> {
        out.println("cluster is up: leader " + state.leaderId().get() + ", " + state.healthy() + "/"
            + state.total() + " replicas healthy");
        out.println("export CARDINAL_SERVERS=" + DevLayout.servers(layout));
      });
    }
  }

  @Command(name = "down", description = "Stop every replica (SIGTERM, then SIGKILL after 10 s). Data stays.")
  static final class Down extends DevBase {
    @Override
    protected void run() throws IOException {
      List<Replica> layout = existing();
      List<String> failed = new ArrayList<>();
      ObjectNode doc = object();
      ArrayNode stopped = doc.putArray("stopped");
      for (Replica r : layout) {
        Optional<ProcessHandle> live = ReplicaProcesses.live(r);
        if (live.isPresent()) {
          if (!ReplicaProcesses.stop(live.get(), STOP_GRACE)) {
            failed.add(r.id() + " (pid " + live.get().pid() + ")");
            continue;
          }
          stopped.add(r.id());
        }
        Files.deleteIfExists(r.pidFile());
      }
      if (!failed.isEmpty()) {
        throw CliException.invalid("could not stop " + String.join(", ", failed) + " even with SIGKILL");
      }
      output().print(doc, out -> out.println(stopped.isEmpty() ? "nothing was running in " + dir
          : "stopped " + stopped.size() + " replica(s); data is kept in " + dir));
    }
  }

  @Command(name = "status", description = "The replicas of a dev cluster and whether their processes run.")
  static final class Status extends DevBase {
    @Override
    protected void run() {
      List<Replica> layout = existing();
      ObjectNode doc = object();
      ArrayNode reps = doc.putArray("replicas");
      Table t = new Table("ID", "PID", "RUNNING", "RAFT", "HTTP", "AGENT", "LOG");
      for (Replica r : layout) {
        Optional<ProcessHandle> live = ReplicaProcesses.live(r);
        ObjectNode o = reps.addObject().put("id", r.id()).put("running", live.isPresent())
            .put("raftAddress", r.raftAddress()).put("httpAddress", r.httpAddress())
            .put("agentAddress", r.agentAddress()).put("log", r.logFile().toString());
        live.ifPresent(h -> o.put("pid", h.pid()));
        t.row(r.id(), live.map(h -> Long.toString(h.pid())).orElse("-"), live.isPresent() ? "yes" : "no",
            r.raftAddress(), r.httpAddress(), r.agentAddress(), r.logFile());
      }
      output().print(doc, t::print);
    }
  }

  @Command(name = "kill", description = "Send a signal to one replica (TERM by default; KILL, STOP, CONT, INT, "
      + "HUP).")
  static final class Kill extends DevBase {
    @Option(names = "--id", required = true, paramLabel = "ID")
    String id;

    @Option(names = "--signal", paramLabel = "SIG", description = "TERM (default), KILL, INT, HUP, STOP or CONT.")
    String signal = "TERM";

    @Override
    protected void run() {
      Replica r = DevLayout.find(existing(), id);
      ProcessHandle h = ReplicaProcesses.live(r).orElseThrow(() -> CliException.invalid("replica " + id
          + " is not running"));
      ReplicaProcesses.signal(h, signal);
      ObjectNode doc = object().put("id", id).put("pid", h.pid()).put("signal", signal.toUpperCase());
      output().print(doc, out -> out.println("sent " + signal.toUpperCase() + " to " + id + " (pid " + h.pid()
          + ")"));
    }
  }

  @Command(name = "start", description = "Start one replica that is not running, with its config and data.")
  static final class Start extends DevBase {
    @Option(names = "--id", required = true, paramLabel = "ID")
    String id;

    @Override
    protected void run() {
      Replica r = DevLayout.find(existing(), id);
      Optional<ProcessHandle> live = ReplicaProcesses.live(r);
      if (live.isPresent()) {
        throw CliException.invalid("replica " + id + " is already running (pid " + live.get().pid() + ")");
      }
      long pid = processes().start(r);
      ObjectNode doc = object().put("id", id).put("pid", pid).put("httpAddress", r.httpAddress())
          .put("log", r.logFile().toString());
      output().print(doc, out -> out.println("started " + id + " (pid " + pid + ", http " + r.httpAddress()
          + ", log " + r.logFile() + ")"));
    }
  }
}
