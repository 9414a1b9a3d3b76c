package io.cardinal.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.cli.output.Formats;
import io.cardinal.cli.output.Table;
import java.io.PrintStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "cluster", description = "Replicas and membership.",
    subcommands = {ClusterCommand.Status.class, ClusterCommand.Members.class})
public final class ClusterCommand {

  @Command(name = "status", description = "Each replica: id, role, pid, term, applied index, state hash.")
  static final class Status extends BaseCommand {
    @Override
    protected void run() {
      JsonNode doc = get("/v1/cluster/status");
      output().print(doc, out -> {
        Table t = new Table("ID", "ROLE", "PID", "TERM", "APPLIED", "COMMIT", "STATE-HASH", "HTTP", "ERROR");
        for (JsonNode r : doc.path("replicas")) {
          t.row(Formats.text(r.path("id")), Formats.text(r.path("role")), Formats.text(r.path("pid")),
              Formats.text(r.path("term")), Formats.text(r.path("appliedIndex")),
              Formats.text(r.path("commitIndex")), shortHash(r.path("stateHash")), httpAddress(r, doc),
              Formats.text(r.path("error")));
        }
        t.print(out);
      });
    }

    /** Equal prefixes are what people compare; json/yaml keep the whole hash. */
    private static String shortHash(JsonNode hash) {
      String h = Formats.text(hash);
      return h.length() > 16 ? h.substring(0, 16) : h;
    }

    private static String httpAddress(JsonNode replica, JsonNode doc) {
      if (replica.hasNonNull("httpAddress")) {
        return replica.path("httpAddress").asText();
      }
      for (JsonNode m : replica.path("members")) {
        if (m.path("id").asText().equals(replica.path("id").asText())) {
          return Formats.text(m.path("httpAddress"));
        }
      }
      return "-";
    }
  }

  @Command(name = "members", description = "Add or remove replicas.",
      subcommands = {Members.Add.class, Members.Remove.class})
  static final class Members {

    @Command(name = "add", description = "Add a replica (start it first with join: true in its server.yaml).")
    static final class Add extends BaseCommand {
      @Option(names = "--id", required = true, description = "Replica id, e.g. n4.")
      String id;

      @Option(names = "--raft-address", required = true, paramLabel = "HOST:PORT")
      String raftAddress;

      @Option(names = "--http-address", required = true, paramLabel = "HOST:PORT")
      String httpAddress;

      @Option(names = "--agent-address", paramLabel = "HOST:PORT")
      String agentAddress;

      @Override
      protected void run() {
        Addresses.check("--raft-address", raftAddress);
        Addresses.check("--http-address", httpAddress);
        if (agentAddress != null) {
          Addresses.check("--agent-address", agentAddress);
        }
        ObjectNode body = object().put("action", "add").put("id", id).put("raftAddress", raftAddress)
            .put("httpAddress", httpAddress);
        if (agentAddress != null) {
          body.put("agentAddress", agentAddress);
        }
        JsonNode doc = post("/v1/cluster/members", body);
        output().print(doc, out -> members(out, doc));
      }
    }

    @Command(name = "remove", description = "Remove a replica from the group.")
    static final class Remove extends BaseCommand {
      @Option(names = "--id", required = true, description = "Replica id.")
      String id;

      @Override
      protected void run() {
        JsonNode doc = post("/v1/cluster/members", object().put("action", "remove").put("id", id));
        output().print(doc, out -> members(out, doc));
      }
    }
  }

  static void members(PrintStream out, JsonNode doc) {
    Table t = new Table("ID", "RAFT", "HTTP", "AGENT");
    for (JsonNode m : doc.path("members")) {
      t.row(Formats.text(m.path("id")), Formats.text(m.path("raftAddress")), Formats.text(m.path("httpAddress")),
          Formats.text(m.path("agentAddress")));
    }
    t.print(out);
  }
}
