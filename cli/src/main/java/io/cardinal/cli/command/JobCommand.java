package io.cardinal.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import io.cardinal.cli.CliException;
import io.cardinal.cli.http.ApiClient;
import io.cardinal.cli.http.ApiRequest;
import io.cardinal.cli.output.Formats;
import io.cardinal.cli.output.Output;
import io.cardinal.cli.output.Table;
import io.cardinal.protocol.spec.JobSpecException;
import io.cardinal.protocol.spec.JobSpecParser;
import io.cardinal.protocol.v1.JobSpec;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "job", description = "Training jobs.",
    subcommands = {JobCommand.Submit.class, JobCommand.ListJobs.class, JobCommand.Show.class,
        JobCommand.Cancel.class})
public final class JobCommand {
  static final List<String> STATES = List.of("PENDING", "PLACED", "RUNNING", "INTERRUPTED", "RESTARTING",
      "SUCCEEDED", "FAILED", "CANCELLED", "PREEMPTED");

  @Command(name = "submit", description = "Submit a job spec (YAML or JSON; see docs/cli-tour.md). The spec is "
      + "checked here first; the submit is retried with the same idempotency key until a server takes it.")
  static final class Submit extends BaseCommand {
    @Option(names = {"-f", "--file"}, required = true, paramLabel = "SPEC", description = "The job spec file.")
    Path file;

    @Option(names = "--dry-run", description = "Check the spec and print it with defaults filled in; send "
        + "nothing.")
    boolean dryRun;

    @Option(names = "--idempotency-key", paramLabel = "KEY", description = "Reuse a key (e.g. from a script "
        + "that retries): the same key never makes a second job. Default: a fresh UUID.")
    String idempotencyKey;

    @Override
    protected void run() {
      JobSpec spec = read(file);
      String json = JobSpecParser.toJson(spec);
      if (dryRun) {
        JsonNode doc = Output.parse(json);
        output().print(doc, out -> out.print(JobSpecParser.toYaml(spec)));
        return;
      }
      String key = idempotencyKey != null ? idempotencyKey : UUID.randomUUID().toString();
      if (key.isBlank() || key.length() > 128) {
        throw CliException.invalid("--idempotency-key must be 1..128 characters");
      }
      ApiRequest request = ApiRequest.post("/v1/jobs", json).withIdempotencyKey(key);
      JsonNode doc = Output.parse(ApiClient.requireOk(client().send(request, context().submitRetry())).body());
      output().print(doc, out -> {
        String jobId = doc.path("jobId").asText("?");
        if (doc.path("duplicate").asBoolean(false)) {
          out.println("job " + jobId + " was already submitted with idempotency key " + key + " (no new job)");
        } else {
          out.println("submitted job " + jobId + NodeCommand.logIndex(doc));
        }
      });
    }

    static JobSpec read(Path file) {
      try {
        return JobSpecParser.parse(file);
      } catch (JobSpecException e) {
        throw CliException.invalid(file + ": " + e.getMessage());
      } catch (NoSuchFileException e) {
        throw CliException.invalid("cannot read " + file + ": no such file");
      } catch (AccessDeniedException e) {
        throw CliException.invalid("cannot read " + file + ": permission denied");
      } catch (IOException e) {
        throw CliException.invalid("cannot read " + file + ": " + e.getMessage());
      }
    }
  }

  @Command(name = "list", description = "Jobs in id order.")
  static final class ListJobs extends BaseCommand {
    @Option(names = "--state", paramLabel = "S", description = "Only jobs in this state (PENDING, RUNNING, ...).")
    String state;

    @Option(names = "--tenant", paramLabel = "T", description = "Only this tenant's jobs.")
    String tenant;

    @Option(names = "--limit", paramLabel = "N", description = "At most N jobs (server default when absent).")
    Integer limit;

    @Override
    protected void run() {
      String st = null;
      if (state != null) {
        st = state.toUpperCase(Locale.ROOT);
        if (!STATES.contains(st)) {
          throw CliException.invalid("--state must be one of " + String.join(", ", STATES) + "; got " + state);
        }
      }
      if (limit != null && limit < 1) {
        throw CliException.invalid("--limit must be at least 1, got " + limit);
      }
      Map<String, Object> params = new LinkedHashMap<>();
      params.put("state", st);
      params.put("tenant", tenant);
      params.put("limit", limit);
      JsonNode doc = get("/v1/jobs" + query(params));
      long now = output().nowMillis();
      output().print(doc, out -> {
        Table t = new Table("JOB", "NAME", "TENANT", "PRIORITY", "STATE", "ATTEMPT", "CARDS", "AGE", "REASON");
        for (JsonNode j : doc.path("jobs")) {
          t.row(Formats.text(j.path("jobId")), Formats.text(j.path("name")), Formats.text(j.path("tenant")),
              Formats.text(j.path("priority")), Formats.text(j.path("state")), Formats.text(j.path("attempt")),
              cards(j), Formats.age(j.path("submittedMs").asLong(0), now), Formats.text(j.path("reason")));
        }
        t.print(out);
      });
    }
  }

  /** "16 (2x8)": the total is what quotas count, the shape is what placement needs. */
  static String cards(JsonNode job) {
    String shape = Formats.text(job.path("tasks")) + "x" + Formats.text(job.path("cardsPerTask"));
    return job.hasNonNull("cards") ? job.path("cards").asText() + " (" + shape + ")" : shape;
  }

  @Command(name = "show", description = "One job: its state, spec, placement and incidents.")
  static final class Show extends BaseCommand {
    @Parameters(paramLabel = "ID", description = "Job id.")
    String id;

    @Override
    protected void run() {
      JsonNode j = get("/v1/jobs/" + seg(id));
      long now = output().nowMillis();
      output().print(j, out -> {
        JsonNode spec = j.path("spec");
        Table.keyValues(out,
            "Job", Formats.text(j.path("jobId")),
            "Name", Formats.text(j.path("name")),
            "Tenant", Formats.text(j.path("tenant")),
            "Priority", Formats.text(j.path("priority")),
            "State", Formats.text(j.path("state")) + (j.hasNonNull("reason") && !j.path("reason").asText().isEmpty()
                ? " (" + j.path("reason").asText() + ")" : ""),
            "Attempt", Formats.text(j.path("attempt")),
            "Cards", cards(j) + (j.path("lent").asBoolean(false)
                ? ", on lent spare cards (evicted when a replacement needs them)" : ""),
            "Card models", spec.has("cardModel") ? Formats.text(spec.path("cardModel")) : "any",
            "Topology", spec.has("topology") ? "supernode " + Formats.text(spec.path("topology").path("supernode"))
                + ", max supernodes " + maxSupernodes(spec.path("topology")) : "-",
            "Command", command(spec.path("command")),
            "Checkpoint", Formats.text(j.path("checkpointStep")) + " (restore from "
                + Formats.text(j.path("restoreStep")) + ")",
            "Restarts", Formats.text(j.path("restarts")) + " of " + Formats.text(spec.path("restart")
                .path("maxRestarts")),
            "Submitted", Formats.time(j.path("submittedMs").asLong(0), output().zone()) + " ("
                + Formats.age(j.path("submittedMs").asLong(0), now) + " ago)",
            "Updated", Formats.time(j.path("updatedMs").asLong(0), output().zone()),
            "Idempotency key", Formats.text(j.path("idempotencyKey")));
        if (j.path("placement").size() > 0) {
          out.println();
          Table t = new Table("TASK", "NODE", "CARDS");
          for (JsonNode p : j.path("placement")) {
            t.row(Formats.text(p.path("task")), Formats.text(p.path("nodeId")), Formats.text(p.path("cards")));
          }
          t.print(out);
        }
        if (j.path("incidents").size() > 0) {
          out.println();
          IncidentsCommand.table(out, j.path("incidents"), false);
        }
      });
    }

    private static String maxSupernodes(JsonNode topology) {
      long n = topology.path("maxSupernodes").asLong(0);
      return n == 0 ? "no cap" : Long.toString(n);
    }

    private static String command(JsonNode command) {
      if (!command.isArray() || command.isEmpty()) {
        return "-";
      }
      List<String> parts = new ArrayList<>();
      for (JsonNode a : command) {
        String s = a.asText();
        // Shell-style quoting so the line reads the way it would be typed.
        parts.add(s.matches("[A-Za-z0-9_./=:,+@%-]+") ? s : "'" + s.replace("'", "'\\''") + "'");
      }
      return String.join(" ", parts);
    }
  }

  @Command(name = "cancel", description = "Cancel a job; its workers are stopped.")
  static final class Cancel extends BaseCommand {
    @Parameters(paramLabel = "ID", description = "Job id.")
    String id;

    @Option(names = "--reason", paramLabel = "R", description = "Why (kept in the event log).")
    String reason;

    @Override
    protected void run() {
      JsonNode doc = post("/v1/jobs/" + seg(id) + "/cancel", reason == null ? object() : object().put("reason",
          reason));
      output().print(doc, out -> out.println("job " + doc.path("jobId").asText(id) + " "
          + doc.path("state").asText("CANCELLED").toLowerCase(Locale.ROOT) + NodeCommand.logIndex(doc)));
    }
  }
}
