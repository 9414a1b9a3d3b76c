package io.cardinal.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TimelineTest {
  static final ObjectMapper JSON = new ObjectMapper();

  static JsonNode json(String s) throws Exception {
    return JSON.readTree(s);
  }

  @Test
  void mergesEventsIncidentsAndMarksInTimeOrderAndShortensCheckpointRuns() throws Exception {
    Timeline t = new Timeline(1_000);
    t.add(1_500, "inject", "fail-card");
    List<JsonNode> events = new ArrayList<>();
    events.add(json("{\"seq\":1,\"timeMs\":\"1100\",\"type\":\"JobPlaced\",\"jobId\":\"j-1\",\"attempt\":\"1\","
        + "\"placement\":{\"tasks\":[{\"task\":0,\"nodeId\":\"sn1-n1\",\"cardIndices\":[0]}]}}"));
    for (int i = 1; i <= 5; i++) {
      events.add(json("{\"timeMs\":\"" + (1200 + i) + "\",\"type\":\"CheckpointCommitted\",\"jobId\":\"j-1\","
          + "\"attempt\":\"1\",\"step\":\"" + (20 * i) + "\"}"));
    }
    events.add(json("{\"timeMs\":\"1300\",\"type\":\"ShardDurable\"}"));
    events.add(json("{\"timeMs\":\"1600\",\"type\":\"RankStarted\",\"attempt\":\"2\",\"rank\":0,\"nodeId\":\"sn1-n1\","
        + "\"shardSource\":\"local\"}"));
    t.addEvents(events);
    t.addIncident(1, json("{\"fromAttempt\":1,\"toAttempt\":2,\"reason\":\"card failed\",\"detectedMs\":1501,"
        + "\"decidedMs\":1510,\"assignedMs\":1520,\"runningMs\":1600,\"restoreStep\":100,\"stepsLost\":3,"
        + "\"detectedToRunningMs\":99,\"detectedToDecidedMs\":9,\"shardSources\":{\"0\":\"local\"}}"));
    List<Timeline.Entry> entries = t.entries();
    List<String> kinds = entries.stream().map(Timeline.Entry::kind).toList();
    assertEquals(List.of("placed", "checkpoint", "checkpoint", "checkpoint", "inject", "detected", "decided",
        "assigned", "rank up", "running"), kinds);
    assertEquals("step 20 committed (attempt 1)", entries.get(1).text());
    assertEquals("... 3 more checkpoints committed ...", entries.get(2).text());
    assertEquals("step 100 committed (attempt 1)", entries.get(3).text());
    assertEquals("j-1 attempt 1 placed: rank 0 on sn1-n1 card 0", entries.get(0).text());
    assertTrue(entries.get(9).text().contains("99 ms after detection; shards from local, steps lost 3"),
        entries.get(9).text());

    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    t.print(new PrintStream(buf, true, StandardCharsets.UTF_8));
    String printed = buf.toString(StandardCharsets.UTF_8);
    assertTrue(printed.lines().findFirst().get().matches("\\s+\\+0\\.100s\\s+placed\\s+j-1 attempt 1 placed.*"),
        printed);
    assertEquals(600, t.toJson().get(8).path("offsetMs").asLong());
  }

  @Test
  void shardSourceOfAnIncident() throws Exception {
    assertEquals("local", Timeline.sources(json("{\"shardSources\":{\"0\":\"local\",\"1\":\"local\"}}")));
    assertEquals("buddy", Timeline.sources(json("{\"shardSources\":{\"0\":\"buddy\"}}")));
    assertEquals("local+buddy", Timeline.sources(json("{\"shardSources\":{\"0\":\"buddy\",\"1\":\"local\"}}")));
    assertEquals("none", Timeline.sources(json("{\"shardSources\":{}}")));
  }
}
