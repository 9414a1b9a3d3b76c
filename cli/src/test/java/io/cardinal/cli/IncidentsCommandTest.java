package io.cardinal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** `incidents`, `debug fail-card` and the incidents under `job show`, against the stub server. */
class IncidentsCommandTest {
  static final ObjectMapper JSON = new ObjectMapper();

  static final String INCIDENT_LOCAL = """
      {"jobId":"j-000001","fromAttempt":1,"toAttempt":2,"reason":"card sn1-n1/0 failed","detectedMs":1000,
       "decidedMs":1014,"assignedMs":1050,"runningMs":1134,"restoreStep":20,"lastStep":22,"stepsLost":2,
       "detectedToRunningMs":134,"detectedToDecidedMs":14,"lostCards":["sn1-n1/0"],
       "shardSources":{"0":"local","1":"local"}}""";
  static final String INCIDENT_PENDING = """
      {"jobId":"j-000001","fromAttempt":2,"toAttempt":3,"reason":"node sn1-n1 lost","detectedMs":5000,
       "decidedMs":5003,"assignedMs":0,"runningMs":0,"restoreStep":40,"lastStep":0,"stepsLost":null,
       "detectedToRunningMs":null,"detectedToDecidedMs":3,"lostCards":[],"shardSources":{}}""";

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
  void incidentsTable() {
    stub.on("GET /v1/incidents", 200, "{\"incidents\":[" + INCIDENT_LOCAL + "," + INCIDENT_PENDING + "]}");
    Cli.Result r = cli.run("incidents", "--job", "j-000001");
    assertEquals(0, r.exit(), r.toString());
    List<String> lines = r.out().lines().toList();
    assertEquals(3, lines.size(), r.out());
    assertTrue(lines.get(0).matches("JOB\\s+ATTEMPTS\\s+REASON\\s+DETECTED->RUNNING\\s+RESTORE STEP\\s+STEPS LOST\\s+"
        + "SHARD SOURCES"), lines.get(0));
    assertTrue(lines.get(1).matches("j-000001\\s+1->2\\s+card sn1-n1/0 failed\\s+134 ms\\s+20\\s+2\\s+0=local 1=local"),
        lines.get(1));
    assertTrue(lines.get(2).matches("j-000001\\s+2->3\\s+node sn1-n1 lost\\s+not yet\\s+40\\s+-\\s+-"), lines.get(2));
    StubServer.Request req = stub.requests().get(0);
    assertEquals("/v1/incidents", req.path());
    assertEquals("job=j-000001", req.query());
  }

  @Test
  void incidentsJsonIsTheServersDocument() throws Exception {
    stub.on("GET /v1/incidents", 200, "{\"incidents\":[" + INCIDENT_LOCAL + "]}");
    Cli.Result r = cli.run("incidents", "-o", "json");
    assertEquals(0, r.exit(), r.toString());
    JsonNode doc = JSON.readTree(r.out());
    assertEquals(134, doc.path("incidents").path(0).path("detectedToRunningMs").asLong());
    assertEquals(null, stub.requests().get(0).query());
  }

  @Test
  void noIncidents() {
    stub.on("GET /v1/incidents", 200, "{\"incidents\":[]}");
    Cli.Result r = cli.run("incidents");
    assertEquals(0, r.exit(), r.toString());
    assertEquals("no incidents", r.out().strip());
  }

  @Test
  void unknownJobIsExit1() {
    stub.on("GET /v1/incidents", 404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no job j-9\"}}");
    Cli.Result r = cli.run("incidents", "--job", "j-9");
    assertEquals(1, r.exit(), r.toString());
    assertTrue(r.err().contains("no job j-9"), r.err());
  }

  @Test
  void failCardSendsTheBody() throws Exception {
    stub.on("POST /v1/debug/fail-card", 200, "{\"nodeId\":\"sn1-n1\",\"card\":3,\"via\":\"agent\",\"message\":\"...\"}");
    Cli.Result r = cli.run("debug", "fail-card", "--node", "sn1-n1", "--card", "3", "--reason", "ecc errors");
    assertEquals(0, r.exit(), r.toString());
    assertTrue(r.out().contains("card 3 of sn1-n1 marked failed (through its agent"), r.out());
    JsonNode body = JSON.readTree(stub.requests().get(0).body());
    assertEquals("sn1-n1", body.path("nodeId").asText());
    assertEquals(3, body.path("card").asInt());
    assertEquals("ecc errors", body.path("reason").asText());
    assertTrue(body.path("healthy").isMissingNode(), body.toString());

    stub.on("POST /v1/debug/fail-card", 200, "{\"duplicate\":false,\"logIndex\":12,\"events\":1}");
    r = cli.run("debug", "fail-card", "--node", "sn1-n1", "--card", "3", "--healthy");
    assertEquals(0, r.exit(), r.toString());
    assertTrue(r.out().contains("card 3 of sn1-n1 marked healthy again (log index 12)"), r.out());
    assertTrue(JSON.readTree(stub.requests().get(1).body()).path("healthy").asBoolean(), stub.requests().get(1).body());
  }

  @Test
  void failCardChecksTheIndex() {
    Cli.Result r = cli.run("debug", "fail-card", "--node", "sn1-n1", "--card", "-1");
    assertEquals(1, r.exit(), r.toString());
    assertTrue(stub.requests().isEmpty());
  }

  @Test
  void jobShowListsIncidents() {
    stub.on("GET /v1/jobs/j-000001", 200, """
        {"jobId":"j-000001","name":"demo","tenant":"t","priority":0,"state":"RUNNING","attempt":3,"tasks":2,
         "cardsPerTask":1,"cards":2,"submittedMs":1,"updatedMs":2,"reason":"",
         "spec":{"command":["x"],"restart":{"maxRestarts":5}},
         "placement":[{"task":0,"nodeId":"sn1-n2","cards":[0]}],"checkpointStep":40,"restoreStep":40,"restarts":2,
         "incidents":[""" + INCIDENT_LOCAL + "," + INCIDENT_PENDING + "]}");
    Cli.Result r = cli.run("job", "show", "j-000001");
    assertEquals(0, r.exit(), r.toString());
    assertTrue(r.out().lines().anyMatch(l -> l.matches("ATTEMPTS\\s+REASON\\s+DETECTED->RUNNING.*")), r.out());
    assertTrue(r.out().lines().anyMatch(l -> l.matches("1->2\\s+card sn1-n1/0 failed\\s+134 ms\\s+20\\s+2\\s+0=local "
        + "1=local")), r.out());
  }
}
