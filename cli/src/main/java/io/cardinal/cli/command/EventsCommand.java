package io.cardinal.cli.command;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.cardinal.cli.CliException;
import io.cardinal.cli.ExitCodes;
import io.cardinal.cli.http.LineStream;
import io.cardinal.cli.http.ServerList;
import io.cardinal.cli.output.Formats;
import io.cardinal.cli.output.Output;
import io.cardinal.cli.output.OutputFormat;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Streams the event log. json prints one compact JSON object per line (the server's NDJSON, ready for jq);
 * yaml prints one document per event; table prints one line per event: seq, time, type, summary.
 */
@Command(name = "events", description = "The event log: every change, in order. --follow keeps streaming.")
public final class EventsCommand extends BaseCommand {
  /** The server sends a heartbeat line every 5 s: silence this long means the connection is dead. */
  static final Duration IDLE_LIMIT = Duration.ofSeconds(20);
  static final int MAX_RECONNECTS = 10;
  private static final int MAX_SUMMARY_CHARS = 200;

  @Option(names = "--job", paramLabel = "ID", description = "Only events of this job.")
  String job;

  @Option(names = "--node", paramLabel = "ID", description = "Only events of this node.")
  String node;

  @Option(names = "--after", paramLabel = "SEQ", description = "Only events after this sequence number.")
  Long after;

  @Option(names = "--limit", paramLabel = "N", description = "At most N stored events.")
  Integer limit;

  @Option(names = {"-f", "--follow"}, description = "Keep streaming new events (reconnects to another server "
      + "if the stream breaks, resuming after the last event seen).")
  boolean follow;

  @Override
  protected void run() {
    if (after != null && after < 0) {
      throw CliException.invalid("--after must be 0 or more, got " + after);
    }
    if (limit != null && limit < 1) {
      throw CliException.invalid("--limit must be at least 1, got " + limit);
    }
    PrintStream out = output().out();
    if (output().format() == OutputFormat.TABLE) {
      out.println(String.format("%-8s %-23s %-24s %s", "SEQ", "TIME", "TYPE", "SUMMARY"));
    }
    Long lastSeq = after;
    int failures = 0;
    while (true) {
      String path = "/v1/events" + query(params(lastSeq));
      LineStream stream;
      try {
        stream = client().openStream(path);
      } catch (CliException e) {
        if (!follow || e.exitCode() != ExitCodes.UNREACHABLE || ++failures > MAX_RECONNECTS) {
          throw e;
        }
        pause(failures);
        continue;
      }
      String why;
      try (stream) {
        String line;
        while ((line = stream.next(IDLE_LIMIT)) != null) {
          JsonNode event = parse(line);
          if (event == null || "Heartbeat".equals(event.path("type").asText())) {
            continue;
          }
          print(event, out);
          if (event.path("seq").canConvertToLong() && event.has("seq")) {
            lastSeq = event.path("seq").asLong();
          }
          failures = 0;
        }
        if (!follow) {
          return;
        }
        why = "the server closed the stream";
      } catch (IOException e) {
        if (!follow) {
          throw CliException.unreachable("the event stream from " + ServerList.display(stream.server())
              + " broke: " + e.getMessage() + ". Rerun with --after " + (lastSeq == null ? 0 : lastSeq)
              + " to continue.");
        }
        why = e.getMessage();
      }
      if (++failures > MAX_RECONNECTS) {
        throw CliException.unreachable("lost the event stream " + MAX_RECONNECTS + " times in a row (last: " + why
            + "). " + "Check 'cardinal cluster status'.");
      }
      context().err().println("cardinal: event stream from " + ServerList.display(stream.server()) + " ended ("
          + why + "); reconnecting after seq " + (lastSeq == null ? "start" : lastSeq));
      pause(failures);
    }
  }

  private Map<String, Object> params(Long afterSeq) {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("job", job);
    p.put("node", node);
    p.put("after", afterSeq);
    p.put("limit", limit);
    p.put("follow", follow ? "true" : null);
    return p;
  }

  private void print(JsonNode event, PrintStream out) {
    switch (output().format()) {
      case JSON -> out.println(Output.compact(event));
      case YAML -> out.print("---\n" + Output.yaml(event));
      default -> out.println(line(event, output()));
    }
    out.flush();
  }

  static String line(JsonNode event, Output output) {
    return String.format("%-8s %-23s %-24s %s", Formats.text(event.path("seq")),
        Formats.timeMillis(event.path("timeMs").asLong(0), output.zone()), Formats.text(event.path("type")),
        summary(event));
  }

  /** The event's own fields as k=v, in the server's order. */
  static String summary(JsonNode event) {
    List<String> parts = new ArrayList<>();
    Iterator<Map.Entry<String, JsonNode>> fields = event.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> f = fields.next();
      String k = f.getKey();
      if (k.equals("seq") || k.equals("timeMs") || k.equals("type") || f.getValue().isNull()) {
        continue;
      }
      JsonNode v = f.getValue();
      String value = v.isTextual() ? (v.asText().matches("\\S+") ? v.asText() : Output.compact(v))
          : Output.compact(v);
      parts.add(k + "=" + value);
    }
    String s = String.join(" ", parts);
    return s.length() > MAX_SUMMARY_CHARS ? s.substring(0, MAX_SUMMARY_CHARS - 3) + "..." : s;
  }

  private JsonNode parse(String line) {
    if (line.isBlank()) {
      return null;
    }
    try {
      return Output.JSON.readTree(line);
    } catch (JsonProcessingException e) {
      // One unreadable line should not end a long follow; say so and go on.
      context().err().println("cardinal: skipped a line that is not JSON: "
          + (line.length() > 80 ? line.substring(0, 80) + "..." : line));
      return null;
    }
  }

  private static void pause(int failures) {
    long millis = Math.min(5000, 250L << Math.min(failures, 5));
    try {
      TimeUnit.MILLISECONDS.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw CliException.unreachable("interrupted");
    }
  }
}
