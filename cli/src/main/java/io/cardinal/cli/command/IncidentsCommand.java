package io.cardinal.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import io.cardinal.cli.output.Formats;
import io.cardinal.cli.output.Table;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "incidents", description = "Failures and what each cost: detected -> running time, restore step, "
    + "steps lost, where the shards came from.")
public final class IncidentsCommand extends BaseCommand {
  @Option(names = "--job", paramLabel = "ID", description = "Only this job's incidents.")
  String job;

  @Option(names = "--limit", paramLabel = "N", description = "At most N incidents (server default 1000).")
  Integer limit;

  @Override
  protected void run() {
    if (limit != null && limit < 1) {
      throw io.cardinal.cli.CliException.invalid("--limit must be at least 1, got " + limit);
    }
    Map<String, Object> params = new LinkedHashMap<>();
    params.put("job", job);
    params.put("limit", limit);
    JsonNode doc = get("/v1/incidents" + query(params));
    output().print(doc, out -> table(out, doc.path("incidents"), true));
  }

  /** The incidents as a table (also under `job show`); {@code withJob} adds the JOB column. */
  static void table(PrintStream out, JsonNode incidents, boolean withJob) {
    List<String> headers = new ArrayList<>(List.of("JOB", "ATTEMPTS", "REASON", "DETECTED->RUNNING",
        "RESTORE STEP", "STEPS LOST", "SHARD SOURCES"));
    if (!withJob) {
      headers.remove(0);
    }
    Table t = new Table(headers.toArray(new String[0]));
    for (JsonNode i : incidents) {
      List<Object> row = new ArrayList<>();
      if (withJob) {
        row.add(Formats.text(i.path("jobId")));
      }
      row.add(Formats.text(i.path("fromAttempt")) + "->" + Formats.text(i.path("toAttempt")));
      row.add(Formats.text(i.path("reason")));
      row.add(i.hasNonNull("detectedToRunningMs") ? i.path("detectedToRunningMs").asLong() + " ms" : "not yet");
      row.add(Formats.text(i.path("restoreStep")));
      row.add(Formats.text(i.path("stepsLost")));
      row.add(sources(i.path("shardSources")));
      t.row(row.toArray());
    }
    if (t.size() == 0 && withJob) {
      out.println("no incidents");
      return;
    }
    t.print(out);
  }

  /** "0=local 1=buddy" from {"0":"local","1":"buddy"}; "-" when no rank restored. */
  static String sources(JsonNode shardSources) {
    List<String> parts = new ArrayList<>();
    shardSources.fields().forEachRemaining(e -> parts.add(e.getKey() + "=" + e.getValue().asText()));
    return parts.isEmpty() ? "-" : String.join(" ", parts);
  }
}
