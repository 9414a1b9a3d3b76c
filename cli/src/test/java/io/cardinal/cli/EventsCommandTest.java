package io.cardinal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cardinal.cli.StubServer.Response;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class EventsCommandTest {
  static final String E1 = "{\"seq\":17,\"timeMs\":1735787045123,\"type\":\"JobPlaced\",\"jobId\":\"j-000001\","
      + "\"attempt\":1,\"placement\":[{\"task\":0,\"nodeId\":\"sn1-n1\"}]}";
  static final String HEARTBEAT = "{\"type\":\"Heartbeat\"}";
  static final String E2 = "{\"seq\":18,\"timeMs\":1735787046000,\"type\":\"NodeCordoned\",\"nodeId\":\"sn1-n1\","
      + "\"reason\":\"bad fan\"}";
  static final String E3 = "{\"seq\":19,\"timeMs\":1735787047000,\"type\":\"JobStarted\",\"jobId\":\"j-000001\"}";

  StubServer stub;
  Cli cli;

  @BeforeEach
  void start() throws Exception {
    stub = new StubServer();
    cli = new Cli().servers(stub.address());
  }

  @AfterEach
  void stop() {
    stub.close();
  }

  @Test
  void tablePrintsOneLinePerEventAndSkipsHeartbeats() {
    stub.on("GET /v1/events", Response.ndjson(E1, HEARTBEAT, "", E2));
    Cli.Result r = cli.run("events", "--job", "j-000001", "--after", "16");
    assertEquals(0, r.exit(), r.toString());
    List<String> lines = r.out().lines().toList();
    assertEquals(3, lines.size(), r.out());
    assertTrue(lines.get(0).startsWith("SEQ      TIME                    TYPE"), lines.get(0));
    assertEquals("17       2025-01-02 03:04:05.123 JobPlaced                jobId=j-000001 attempt=1 "
        + "placement=[{\"task\":0,\"nodeId\":\"sn1-n1\"}]", lines.get(1));
    assertEquals("18       2025-01-02 03:04:06.000 NodeCordoned             nodeId=sn1-n1 reason=\"bad fan\"",
        lines.get(2));
    assertEquals("job=j-000001&after=16", stub.only().query());
  }

  @Test
  void jsonIsNdjsonAndYamlIsOneDocumentPerEvent() throws Exception {
    stub.on("GET /v1/events", Response.ndjson(E1, HEARTBEAT, E2));
    Cli.Result json = cli.run("-o", "json", "events");
    assertEquals(0, json.exit(), json.toString());
    List<String> lines = json.out().lines().toList();
    ObjectMapper m = new ObjectMapper();
    assertEquals(List.of(m.readTree(E1), m.readTree(E2)), List.of(m.readTree(lines.get(0)), m.readTree(lines.get(1))));
    assertEquals(2, lines.size());

    Cli.Result yaml = cli.run("-o", "yaml", "events");
    assertEquals(2, yaml.out().lines().filter("---"::equals).count(), yaml.out());
    assertTrue(yaml.out().contains("type: \"JobPlaced\"") && yaml.out().contains("reason: \"bad fan\""), yaml.out());
  }

  @Test
  void followReconnectsAfterTheLastSeenEvent() {
    try {
      stub.on("GET /v1/events",
          Response.ndjson(E1, E2),
          Response.ndjson(E3),
          Response.json(400, "{\"error\":{\"code\":\"invalid\",\"message\":\"stop here\"}}"));
      Cli.Result r = cli.run("events", "--follow");
      assertEquals(1, r.exit(), r.toString());
      assertTrue(r.out().contains("JobPlaced") && r.out().contains("NodeCordoned") && r.out().contains("JobStarted"),
          r.out());
      List<StubServer.Request> reqs = stub.requests();
      assertEquals(3, reqs.size());
      assertEquals("follow=true", reqs.get(0).query());
      assertEquals("after=18&follow=true", reqs.get(1).query(), "resumes after the last event seen");
      assertEquals("after=19&follow=true", reqs.get(2).query());
      assertTrue(r.err().contains("reconnecting after seq 18"), r.err());
      assertTrue(r.err().endsWith("cardinal: stop here (HTTP 400 invalid from " + stub.address() + ")\n"), r.err());
    } finally {
      stub.close();
    }
  }

  @Test
  void unreachableEventsExitTwo() {
    stub.close();
    Cli.Result r = cli.run("events");
    assertEquals(2, r.exit(), r.toString());
    assertTrue(r.err().startsWith("cardinal: cannot reach any server"), r.err());
  }
}
