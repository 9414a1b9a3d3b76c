package io.cardinal.cli.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.cli.output.Output;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What happened during a demo, in time order: the demo's own milestones (what it did) merged with the cluster's
 * events (what the control plane did about it) and the incidents' timings. Times are wall-clock millis on this
 * machine; the servers stamp events with the same clock.
 */
public final class Timeline {
  /** One line: when, what kind of thing, and what. */
  public record Entry(long timeMs, int order, String kind, String text) {}

  private static final Set<String> SKIPPED_EVENTS = Set.of("ShardDurable", "RankExited", "Heartbeat", "MembersSet",
      "AdminAction", "QuotaSet");

  private final long startMs;
  private final List<Entry> entries = new ArrayList<>();
  private int order;

  public Timeline(long startMs) {
    this.startMs = startMs;
  }

  public long startMs() {
    return startMs;
  }

  public synchronized void add(long timeMs, String kind, String text) {
    entries.add(new Entry(timeMs, order++, kind, text));
  }

  /** The cluster's events (NDJSON objects of GET /v1/events) for the job and the nodes it used. */
  public void addEvents(List<JsonNode> events) {
    for (JsonNode e : events) {
      String type = e.path("type").asText();
      if (SKIPPED_EVENTS.contains(type)) {
        continue;
      }
      long t = e.path("timeMs").asLong();
      String text = describe(type, e);
      if (text != null) {
        add(t, kind(type), text);
      }
    }
  }

  /** The four timestamps of an incident (GET /v1/jobs/{id} "incidents"). */
  public void addIncident(int number, JsonNode i) {
    String n = "incident " + number + " (attempt " + i.path("fromAttempt").asLong() + " -> "
        + i.path("toAttempt").asLong() + ")";
    if (i.path("detectedMs").asLong() > 0) {
      add(i.path("detectedMs").asLong(), "detected", n + ": " + i.path("reason").asText());
    }
    if (i.path("decidedMs").asLong() > 0) {
      add(i.path("decidedMs").asLong(), "decided", n + ": new placement, restore from step "
          + i.path("restoreStep").asLong() + " (" + i.path("detectedToDecidedMs").asLong() + " ms after detection)");
    }
    if (i.path("assignedMs").asLong() > 0) {
      add(i.path("assignedMs").asLong(), "assigned", n + ": assignments sent to the agents");
    }
    if (i.path("runningMs").asLong() > 0) {
      add(i.path("runningMs").asLong(), "running", n + ": every rank running again, "
          + i.path("detectedToRunningMs").asLong() + " ms after detection; shards from " + sources(i)
          + ", steps lost " + DemoRun.text(i.path("stepsLost")));
    }
  }

  /** Sorted by time, runs of more than two checkpoint commits shortened to first, count, last. */
  public synchronized List<Entry> entries() {
    List<Entry> sorted = new ArrayList<>(entries);
    sorted.sort(Comparator.comparingLong(Entry::timeMs).thenComparingInt(Entry::order));
    List<Entry> out = new ArrayList<>();
    int i = 0;
    while (i < sorted.size()) {
      int j = i;
      while (j < sorted.size() && sorted.get(j).kind().equals("checkpoint")) {
        j++;
      }
      if (j - i > 2) {
        out.add(sorted.get(i));
        if (j - i > 3) {
          Entry mid = sorted.get(i + 1);
          out.add(new Entry(mid.timeMs(), mid.order(), "checkpoint", "... " + (j - i - 2) + " more checkpoints "
              + "committed ..."));
        } else {
          out.add(sorted.get(i + 1));
        }
        out.add(sorted.get(j - 1));
        i = j;
      } else if (j > i) {
        out.addAll(sorted.subList(i, j));
        i = j;
      } else {
        out.add(sorted.get(i));
        i++;
      }
    }
    return out;
  }

  public String offset(long timeMs) {
    return String.format(Locale.ROOT, "+%.3fs", (timeMs - startMs) / 1000.0);
  }

  public void print(PrintStream out) {
    List<Entry> all = entries();
    int kindWidth = 0;
    int offsetWidth = 0;
    for (Entry e : all) {
      kindWidth = Math.max(kindWidth, e.kind().length());
      offsetWidth = Math.max(offsetWidth, offset(e.timeMs()).length());
    }
    for (Entry e : all) {
      String off = offset(e.timeMs());
      out.println("  " + " ".repeat(offsetWidth - off.length()) + off + "  " + e.kind()
          + " ".repeat(kindWidth - e.kind().length()) + "  " + e.text());
    }
  }

  public ArrayNode toJson() {
    ArrayNode arr = Output.JSON.createArrayNode();
    for (Entry e : entries()) {
      ObjectNode o = arr.addObject();
      o.put("offsetMs", e.timeMs() - startMs);
      o.put("timeMs", e.timeMs());
      o.put("kind", e.kind());
      o.put("text", e.text());
    }
    return arr;
  }

  /** "local", "buddy", "local+buddy" or "none": where the ranks of an incident's new attempt got their shards. */
  public static String sources(JsonNode incident) {
    boolean local = false;
    boolean buddy = false;
    boolean other = false;
    for (JsonNode s : incident.path("shardSources")) {
      switch (s.asText()) {
        case "local" -> local = true;
        case "buddy" -> buddy = true;
        default -> other = !s.asText().isEmpty() || other;
      }
    }
    if (!local && !buddy) {
      return other ? "other" : "none";
    }
    return local && buddy ? "local+buddy" : local ? "local" : "buddy";
  }

  private static String kind(String type) {
    return switch (type) {
      case "NodeRegistered" -> "node";
      case "NodeLost" -> "node lost";
      case "NodeRecovered" -> "node back";
      case "SpareRuleSet" -> "spares";
      case "JobSubmitted" -> "submitted";
      case "JobPlaced" -> "placed";
      case "RankStarted" -> "rank up";
      case "JobStarted" -> "job running";
      case "CheckpointCommitted" -> "checkpoint";
      case "CardHealthChanged" -> "card";
      case "JobInterrupted" -> "interrupted";
      case "JobRestarting" -> "restarting";
      default -> type.replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(Locale.ROOT);
    };
  }

  private static String describe(String type, JsonNode e) {
    switch (type) {
      case "NodeRegistered":
        return e.path("nodeId").asText() + " registered (supernode " + e.path("supernodeId").asText() + ", "
            + e.path("cards").size() + " cards, epoch " + e.path("epoch").asText() + ")";
      case "NodeLost":
        return e.path("nodeId").asText() + " declared lost (" + e.path("reason").asText() + ")";
      case "NodeRecovered":
        return e.path("nodeId").asText() + " recovered (epoch " + e.path("epoch").asText() + ")";
      case "SpareRuleSet":
        return "supernode " + e.path("supernodeId").asText() + " keeps " + e.path("cards").asText()
            + " card(s) spare";
      case "JobSubmitted": {
        JsonNode s = e.path("spec");
        return e.path("jobId").asText() + " submitted (" + s.path("tasks").asText() + " tasks x "
            + s.path("cardsPerTask").asText() + " card)";
      }
      case "JobPlaced":
        return e.path("jobId").asText() + " attempt " + e.path("attempt").asText() + " placed: "
            + placement(e.path("placement"));
      case "RankStarted": {
        String src = e.path("shardSource").asText();
        return "attempt " + e.path("attempt").asText() + " rank " + e.path("rank").asInt() + " started on "
            + e.path("nodeId").asText() + (src.isEmpty() || src.equals("none") ? "" : ", restored from its " + src + " shard");
      }
      case "JobStarted":
        return e.path("jobId").asText() + " attempt " + e.path("attempt").asText() + ": all ranks running";
      case "CheckpointCommitted":
        return "step " + e.path("step").asText() + " committed (attempt " + e.path("attempt").asText() + ")";
      case "CardHealthChanged":
        return e.path("card").path("nodeId").asText() + " card " + e.path("card").path("index").asInt()
            + (e.path("healthy").asBoolean() ? " healthy again" : " failed") + " ("
            + e.path("reason").asText() + ")";
      case "JobInterrupted":
        return e.path("jobId").asText() + " attempt " + e.path("attempt").asText() + " interrupted: "
            + e.path("reason").asText() + " (last step " + e.path("lastStep").asText() + ")";
      case "JobRestarting":
        return e.path("jobId").asText() + " attempt " + e.path("attempt").asText() + " from step "
            + e.path("restoreStep").asText() + ": " + placement(e.path("placement"));
      case "JobSucceeded":
      case "JobFailed":
      case "JobCancelled":
      case "JobPreempted":
      case "JobWaiting":
        return e.path("jobId").asText() + (e.has("attempt") ? " attempt " + e.path("attempt").asText() : "")
            + (e.path("reason").asText().isEmpty() ? "" : ": " + e.path("reason").asText());
      default:
        return type;
    }
  }

  /** "rank 0 on sn1-n1 card 0, rank 1 on sn1-n1 card 1". */
  static String placement(JsonNode placement) {
    List<String> parts = new ArrayList<>();
    for (JsonNode t : placement.path("tasks")) {
      List<String> cards = new ArrayList<>();
      t.path("cardIndices").forEach(c -> cards.add(c.asText()));
      parts.add("rank " + t.path("task").asInt() + " on " + t.path("nodeId").asText() + " card"
          + (cards.size() == 1 ? " " : "s ") + String.join(",", cards));
    }
    return parts.isEmpty() ? "-" : String.join(", ", parts);
  }
}
