package io.cardinal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.cardinal.cli.StubServer.Response;
import io.cardinal.cli.dev.Ports;
import io.cardinal.protocol.spec.JobSpecParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliCommandsTest {
  static final ObjectMapper JSON = new ObjectMapper();

  static final String CLUSTER_STATUS = """
      {"replicas":[
        {"id":"n1","role":"LEADER","pid":101,"term":3,"appliedIndex":42,"commitIndex":42,
         "stateHash":"0123456789abcdef0123","leaderId":"n1","httpAddress":"127.0.0.1:8001","error":null},
        {"id":"n2","role":"FOLLOWER","pid":102,"term":3,"appliedIndex":41,"commitIndex":42,
         "stateHash":"0123456789abcdef0123","leaderId":"n1","httpAddress":"127.0.0.1:8002","error":null},
        {"id":"n3","httpAddress":"127.0.0.1:8003","role":"UNREACHABLE","error":"connection refused"}]}""";

  static final String SPEC = """
      name: llama-70b-pretrain
      tenant: research
      priority: 100
      tasks: 2
      cardsPerTask: 8
      cardModel: H100
      command: ["python", "train.py"]
      env: {LR: "0.001"}
      """;

  @TempDir
  Path tmp;

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

  // ---- output formats ----

  @Test
  void clusterStatusTable() {
    stub.on("GET /v1/cluster/status", 200, CLUSTER_STATUS);
    Cli.Result r = cli.run("cluster", "status");
    assertEquals(0, r.exit(), r.toString());
    List<String> lines = r.out().lines().toList();
    assertEquals(4, lines.size(), r.out());
    assertTrue(lines.get(0).startsWith("ID  ROLE         PID  TERM  APPLIED  COMMIT  STATE-HASH"), lines.get(0));
    // Aligned: every row's ROLE column starts where the header's does.
    int roleColumn = lines.get(0).indexOf("ROLE");
    for (String line : lines.subList(1, 4)) {
      assertTrue(line.charAt(roleColumn - 1) == ' ' && line.charAt(roleColumn) != ' ', line);
    }
    assertTrue(lines.get(1).matches("n1\\s+LEADER\\s+101\\s+3\\s+42\\s+42\\s+0123456789abcdef\\s+127.0.0.1:8001\\s+-"),
        lines.get(1));
    assertTrue(lines.get(3).matches("n3\\s+UNREACHABLE\\s+-\\s+-\\s+-\\s+-\\s+-\\s+127.0.0.1:8003\\s+connection refused"),
        lines.get(3));
    assertEquals("GET", stub.only().method());
    assertEquals("", r.err());
  }

  @Test
  void jsonAndYamlShowTheServersDocument() throws Exception {
    stub.on("GET /v1/cluster/status", 200, CLUSTER_STATUS);
    Cli.Result json = cli.run("-o", "json", "cluster", "status");
    assertEquals(0, json.exit(), json.toString());
    assertEquals(JSON.readTree(CLUSTER_STATUS), JSON.readTree(json.out()));
    assertTrue(json.out().contains("\n  \"replicas\""), "pretty-printed: " + json.out());

    // Options also work after the subcommand, and enum values ignore case.
    Cli.Result yaml = cli.run("cluster", "status", "-o", "YAML");
    assertEquals(0, yaml.exit(), yaml.toString());
    assertEquals(JSON.readTree(CLUSTER_STATUS), new YAMLMapper().readTree(yaml.out()));
  }

  @Test
  void nodeListShowsStateFlags() {
    stub.on("GET /v1/nodes", 200, """
        {"nodes":[{"nodeId":"sn1-n1","supernodeId":"sn1","epoch":2,"online":true,"cordoned":true,"drained":false,
        "cards":8,"cardsFree":6,"cardsSpare":1,"cardsAllocated":0,"cardsUnhealthy":1,"models":["H100"]},
        {"nodeId":"sn1-n2","supernodeId":"sn1","epoch":1,"online":false,"cordoned":false,"drained":false,
        "cards":8,"cardsFree":0,"cardsSpare":0,"cardsAllocated":8,"cardsUnhealthy":0,"models":["H100","H200"]}]}""");
    Cli.Result r = cli.run("node", "list");
    assertEquals(0, r.exit(), r.toString());
    List<String> lines = r.out().lines().toList();
    assertTrue(lines.get(1).matches("sn1-n1\\s+sn1\\s+2\\s+online,cordoned\\s+8\\s+6\\s+1\\s+0\\s+1\\s+H100"), lines.get(1));
    assertTrue(lines.get(2).matches("sn1-n2\\s+sn1\\s+1\\s+lost\\s+8\\s+0\\s+0\\s+8\\s+0\\s+H100,H200"), lines.get(2));
  }

  @Test
  void nodeShowListsCardsWithHumanSizes() {
    stub.on("GET /v1/nodes/sn1-n1", 200, """
        {"nodeId":"sn1-n1","supernodeId":"sn1","epoch":2,"online":true,"cordoned":false,"drained":false,
        "cards":2,"cardsFree":1,"cardsSpare":0,"cardsAllocated":1,"cardsUnhealthy":0,"models":["H100"],
        "cardList":[{"index":0,"model":"H100","memoryMib":81920,"healthy":true,"status":"ALLOCATED","jobId":"j-000001","attempt":3},
                    {"index":1,"model":"H100","memoryMib":1572864,"healthy":true,"status":"FREE","jobId":null}]}""");
    Cli.Result r = cli.run("node", "show", "sn1-n1");
    assertEquals(0, r.exit(), r.toString());
    assertTrue(r.out().contains("Node:       sn1-n1\n"), r.out());
    assertTrue(r.out().contains("Cards:      2 (1 free, 0 spare, 1 allocated, 0 unhealthy)"), r.out());
    assertTrue(r.out().lines().anyMatch(l -> l.matches("0\\s+H100\\s+80 GiB\\s+yes\\s+ALLOCATED\\s+j-000001\\s+3")),
        r.out());
    assertTrue(r.out().lines().anyMatch(l -> l.matches("1\\s+H100\\s+1.5 TiB\\s+yes\\s+FREE\\s+-\\s+-")), r.out());
  }

  // ---- request bodies ----

  @Test
  void nodeRegisterSendsTheShorthandBody() throws Exception {
    stub.on("POST /v1/nodes", 200, "{\"nodeId\":\"sn1-n1\",\"epoch\":1}");
    Cli.Result r = cli.run("node", "register", "--id", "sn1-n1", "--supernode", "sn1", "--cards", "8", "--model",
        "H100", "--memory-mib", "81920", "--tier", "pod-1", "--tier", "rack-2");
    assertEquals(0, r.exit(), r.toString());
    assertEquals("registered node sn1-n1 (epoch 1)\n", r.out());
    assertEquals(JSON.readTree("""
        {"nodeId":"sn1-n1","supernodeId":"sn1","cardCount":8,"cardModel":"H100","cardMemoryMib":81920,
         "tiers":["pod-1","rack-2"]}"""), JSON.readTree(stub.only().body()));
    assertEquals("application/json", stub.only().header("Content-Type"));
  }

  @Test
  void nodeCordonUncordonDrain() throws Exception {
    stub.on("POST /v1/nodes/sn1-n1/cordon", 200, "{\"nodeId\":\"sn1-n1\",\"logIndex\":7}");
    stub.on("POST /v1/nodes/sn1-n1/uncordon", 200, "{\"nodeId\":\"sn1-n1\",\"logIndex\":8}");
    stub.on("POST /v1/nodes/sn1-n1/drain", 200, "{\"nodeId\":\"sn1-n1\",\"logIndex\":9}");
    assertEquals("node sn1-n1 cordoned (log index 7)\n",
        cli.run("node", "cordon", "sn1-n1", "--reason", "bad fan").out());
    assertEquals("node sn1-n1 uncordoned (log index 8)\n", cli.run("node", "uncordon", "sn1-n1").out());
    assertEquals("node sn1-n1 draining (log index 9)\n", cli.run("node", "drain", "sn1-n1").out());
    List<StubServer.Request> reqs = stub.requests();
    assertEquals(JSON.readTree("{\"reason\":\"bad fan\"}"), JSON.readTree(reqs.get(0).body()));
    assertEquals(JSON.readTree("{}"), JSON.readTree(reqs.get(2).body()));
  }

  @Test
  void clusterMembersLeaderSnapshotQuotaSpare() throws Exception {
    stub.on("POST /v1/cluster/members", 200, "{\"members\":[{\"id\":\"n1\",\"raftAddress\":\"127.0.0.1:7001\","
        + "\"httpAddress\":\"127.0.0.1:8001\",\"agentAddress\":\"127.0.0.1:9001\"}]}");
    stub.on("POST /v1/leader/transfer", 200, "{\"leaderId\":\"n2\"}");
    stub.on("POST /v1/snapshot", 200, "{\"id\":\"n1\",\"index\":1234}");
    stub.on("POST /v1/quotas", 200, "{}");
    stub.on("POST /v1/spares", 200, "{}");

    Cli.Result add = cli.run("cluster", "members", "add", "--id", "n4", "--raft-address", "127.0.0.1:7004",
        "--http-address", "127.0.0.1:8004");
    assertEquals(0, add.exit(), add.toString());
    assertTrue(add.out().lines().anyMatch(l -> l.matches("n1\\s+127.0.0.1:7001\\s+127.0.0.1:8001\\s+127.0.0.1:9001")),
        add.out());
    assertEquals(0, cli.run("cluster", "members", "remove", "--id", "n4").exit());
    assertEquals("leader is now n2\n", cli.run("leader", "transfer", "--to", "n2").out());
    assertEquals("snapshot taken on n1 at log index 1234\n", cli.run("snapshot", "take").out());
    assertEquals(0, cli.run("quota", "set", "--tenant", "research", "--cards", "64", "--cohort", "ml",
        "--borrow-limit", "16").exit());
    assertEquals(0, cli.run("spare", "set", "--supernode", "sn1", "--percent", "5").exit());

    List<StubServer.Request> reqs = stub.requests();
    assertEquals(JSON.readTree("{\"action\":\"add\",\"id\":\"n4\",\"raftAddress\":\"127.0.0.1:7004\","
        + "\"httpAddress\":\"127.0.0.1:8004\"}"), JSON.readTree(reqs.get(0).body()));
    assertEquals(JSON.readTree("{\"action\":\"remove\",\"id\":\"n4\"}"), JSON.readTree(reqs.get(1).body()));
    assertEquals(JSON.readTree("{\"to\":\"n2\"}"), JSON.readTree(reqs.get(2).body()));
    assertEquals("/v1/snapshot", reqs.get(3).path());
    assertEquals(JSON.readTree("{\"tenant\":\"research\",\"cards\":64,\"cohort\":\"ml\",\"borrowLimitCards\":16}"),
        JSON.readTree(reqs.get(4).body()));
    assertEquals(JSON.readTree("{\"supernodeId\":\"sn1\",\"percent\":5}"), JSON.readTree(reqs.get(5).body()));
  }

  @Test
  void flagMistakesExitOneWithoutContactingTheServer() {
    Cli.Result both = cli.run("spare", "set", "--supernode", "sn1", "--cards", "2", "--percent", "5");
    assertEquals(1, both.exit(), both.toString());
    assertTrue(both.err().startsWith("cardinal: "), both.err());
    assertEquals(1, cli.run("spare", "set", "--supernode", "sn1", "--percent", "150").exit());
    Cli.Result badAddress = cli.run("cluster", "members", "add", "--id", "n4", "--raft-address", "nowhere",
        "--http-address", "127.0.0.1:8004");
    assertEquals(1, badAddress.exit());
    assertEquals("cardinal: --raft-address: \"nowhere\" is not host:port (for example 127.0.0.1:7004)\n",
        badAddress.err());
    Cli.Result unknown = cli.run("node", "lst");
    assertEquals(1, unknown.exit());
    assertTrue(unknown.err().contains("list"), "suggests the right subcommand: " + unknown.err());
    Cli.Result missing = cli.run("node", "register", "--id", "x");
    assertEquals(1, missing.exit());
    assertTrue(missing.err().startsWith("cardinal: Missing required options"), missing.err());
    assertEquals(1, cli.run("job", "list", "--state", "sleeping").exit());
    assertEquals(1, cli.run().exit());
    assertEquals(1, cli.run("node").exit(), "a noun without a verb");
    assertEquals(List.of(), stub.requests());
    assertFalse(both.err().contains("Exception"));
  }

  @Test
  void helpAndVersionExitZero() {
    Cli.Result help = cli.run("--help");
    assertEquals(0, help.exit());
    assertTrue(help.out().contains("job") && help.out().contains("dev") && help.out().contains("sim"), help.out());
    assertEquals(0, cli.run("job", "submit", "--help").exit());
    assertEquals(0, cli.run("help", "sim").exit(), "the allocator's sim command is mounted");
    assertEquals(0, cli.run("sim", "--help").exit());
  }

  // ---- jobs ----

  @Test
  void jobSubmitValidatesLocallyFirst() throws Exception {
    Path spec = Files.writeString(tmp.resolve("bad.yaml"), SPEC.replace("cardsPerTask: 8", "cardsPerTsk: 8"));
    Cli.Result r = cli.run("job", "submit", "-f", spec.toString());
    assertEquals(1, r.exit(), r.toString());
    assertEquals("cardinal: " + spec + ": unknown field \"cardsPerTsk\" (did you mean \"cardsPerTask\"?)\n", r.err());
    assertEquals(List.of(), stub.requests());

    Cli.Result missing = cli.run("job", "submit", "-f", tmp.resolve("nope.yaml").toString());
    assertEquals(1, missing.exit());
    assertEquals("cardinal: cannot read " + tmp.resolve("nope.yaml") + ": no such file\n", missing.err());
  }

  @Test
  void jobSubmitSendsTheNormalizedSpecWithAKey() throws Exception {
    Path spec = Files.writeString(tmp.resolve("job.yaml"), SPEC);
    stub.on("POST /v1/jobs", 201, "{\"jobId\":\"j-000001\",\"duplicate\":false,\"logIndex\":42}");
    Cli.Result r = cli.run("job", "submit", "-f", spec.toString());
    assertEquals(0, r.exit(), r.toString());
    assertEquals("submitted job j-000001 (log index 42)\n", r.out());
    StubServer.Request req = stub.only();
    assertEquals("/v1/jobs", req.path());
    assertEquals(JobSpecParser.parse(SPEC), JobSpecParser.parse(req.body()), "the server re-parses what we send");
    JsonNode body = JSON.readTree(req.body());
    assertEquals(8, body.path("cardsPerTask").asInt());
    assertEquals("preferred", body.path("topology").path("supernode").asText(), "defaults are explicit");
    assertNotNull(UUID.fromString(req.header("Idempotency-Key")));
  }

  @Test
  void jobSubmitDryRunPrintsTheNormalizedSpecOnly() throws Exception {
    Path spec = Files.writeString(tmp.resolve("job.yaml"), SPEC);
    Cli.Result r = cli.run("job", "submit", "-f", spec.toString(), "--dry-run");
    assertEquals(0, r.exit(), r.toString());
    assertEquals(JobSpecParser.parse(SPEC), JobSpecParser.parse(r.out()));
    assertTrue(r.out().contains("supernode: \"preferred\"") && r.out().contains("LR: \"0.001\""), r.out());
    Cli.Result json = cli.run("job", "submit", "-f", spec.toString(), "--dry-run", "-o", "json");
    assertEquals(JSON.readTree(JobSpecParser.toJson(JobSpecParser.parse(SPEC))), JSON.readTree(json.out()));
    assertEquals(List.of(), stub.requests());
  }

  @Test
  void jobSubmitRetriesTheSameKeyAfter503() throws Exception {
    Path spec = Files.writeString(tmp.resolve("job.yaml"), SPEC);
    stub.on("POST /v1/jobs",
        Response.json(503, "{\"error\":{\"code\":\"unavailable\",\"message\":\"no leader\"}}"),
        Response.json(503, "{\"error\":{\"code\":\"unavailable\",\"message\":\"no leader\"}}"),
        Response.json(200, "{\"jobId\":\"j-000007\",\"duplicate\":true,\"logIndex\":9}"));
    Cli.Result r = cli.run("job", "submit", "-f", spec.toString());
    assertEquals(0, r.exit(), r.toString());
    List<StubServer.Request> reqs = stub.requests();
    assertEquals(3, reqs.size());
    String key = reqs.get(0).header("Idempotency-Key");
    assertTrue(reqs.stream().allMatch(q -> key.equals(q.header("Idempotency-Key"))), "same key on every try");
    assertTrue(reqs.stream().allMatch(q -> q.body().equals(reqs.get(0).body())));
    assertTrue(r.out().startsWith("job j-000007 was already submitted with idempotency key " + key), r.out());
  }

  @Test
  void jobSubmitFailsOverToTheNextServer() throws Exception {
    Path spec = Files.writeString(tmp.resolve("job.yaml"), SPEC);
    int dead = Ports.free(1).get(0);
    stub.on("POST /v1/jobs", 201, "{\"jobId\":\"j-000002\",\"duplicate\":false,\"logIndex\":5}");
    Cli.Result r = cli.servers("127.0.0.1:" + dead + "," + stub.address())
        .run("job", "submit", "-f", spec.toString(), "--idempotency-key", "k-1");
    assertEquals(0, r.exit(), r.toString());
    assertEquals("k-1", stub.only().header("Idempotency-Key"));
  }

  @Test
  void jobSubmitGivesUpWithinItsBudget() throws Exception {
    Path spec = Files.writeString(tmp.resolve("job.yaml"), SPEC);
    stub.on("POST /v1/jobs", 503, "{\"error\":{\"code\":\"unavailable\",\"message\":\"no quorum\"}}");
    Cli.Result r = cli.run("job", "submit", "-f", spec.toString());
    assertEquals(2, r.exit(), r.toString());
    assertEquals(10, stub.requests().size(), "bounded by the policy's attempts");
    assertTrue(r.err().startsWith("cardinal: the cluster cannot serve this request now (" + stub.address()
        + ": 503 no quorum)"), r.err());
    assertEquals(1, r.err().lines().count());
  }

  @Test
  void jobListShowsAgesAndPassesFilters() {
    long submitted = Cli.NOW.toEpochMilli() - 125_000;
    stub.on("GET /v1/jobs", 200, "{\"jobs\":[{\"jobId\":\"j-000001\",\"name\":\"llama\",\"tenant\":\"research\","
        + "\"priority\":100,\"state\":\"RUNNING\",\"attempt\":2,\"tasks\":2,\"cardsPerTask\":8,\"cards\":16,"
        + "\"submittedMs\":" + submitted + ",\"updatedMs\":" + submitted + ",\"reason\":null}]}");
    Cli.Result r = cli.run("job", "list", "--state", "running", "--tenant", "research");
    assertEquals(0, r.exit(), r.toString());
    assertTrue(r.out().lines().anyMatch(l -> l.matches(
        "j-000001\\s+llama\\s+research\\s+100\\s+RUNNING\\s+2\\s+16 \\(2x8\\)\\s+2m5s\\s+-")), r.out());
    assertEquals("state=RUNNING&tenant=research", stub.only().query());
  }

  @Test
  void jobShowAndCancel() {
    stub.on("GET /v1/jobs/j-000001", 200, """
        {"jobId":"j-000001","name":"llama","tenant":"research","priority":100,"state":"RUNNING","attempt":2,
         "tasks":2,"cardsPerTask":8,"cards":16,"submittedMs":1735786945000,"updatedMs":1735786945000,"reason":null,
         "spec":{"name":"llama","command":["python","train.py","--note","a b"],
                 "topology":{"supernode":"required","maxSupernodes":1},"restart":{"maxRestarts":3}},
         "placement":[{"task":0,"nodeId":"sn1-n1","cards":[0,1,2,3,4,5,6,7]}],
         "checkpointStep":300,"restoreStep":200,"restarts":1,"idempotencyKey":"k-1"}""");
    stub.on("POST /v1/jobs/j-000001/cancel", 409,
        "{\"error\":{\"code\":\"conflict\",\"message\":\"job j-000001 already SUCCEEDED\"}}");
    Cli.Result show = cli.run("job", "show", "j-000001");
    assertEquals(0, show.exit(), show.toString());
    assertTrue(show.out().contains("Command:          python train.py --note 'a b'\n"), show.out());
    assertTrue(show.out().contains("Topology:         supernode required, max supernodes 1\n"), show.out());
    assertTrue(show.out().contains("Submitted:        2025-01-02 03:02:25 (1m40s ago)\n"), show.out());
    assertTrue(show.out().lines().anyMatch(l -> l.matches("0\\s+sn1-n1\\s+0,1,2,3,4,5,6,7")), show.out());
    assertTrue(show.out().contains("Cards:            16 (2x8)\n"), show.out());

    Cli.Result cancel = cli.run("job", "cancel", "j-000001", "--reason", "done");
    assertEquals(1, cancel.exit());
    assertEquals("cardinal: job j-000001 already SUCCEEDED (HTTP 409 conflict from " + stub.address() + ")\n",
        cancel.err());
  }

  @Test
  void jobShowSaysWhenTheJobRunsOnLentSpareCards() {
    stub.on("GET /v1/jobs/j-000002", 200, """
        {"jobId":"j-000002","name":"small","tenant":"research","priority":0,"state":"RUNNING","attempt":1,
         "tasks":1,"cardsPerTask":2,"cards":2,"submittedMs":1735786945000,"updatedMs":1735786945000,"reason":"",
         "spec":{"name":"small","command":["python","train.py"],"restart":{"maxRestarts":3}},
         "placement":[{"task":0,"nodeId":"sn1-n2","cards":[4,5]}],"lent":true,
         "checkpointStep":0,"restoreStep":0,"restarts":0,"idempotencyKey":""}""");
    Cli.Result show = cli.run("job", "show", "j-000002");
    assertEquals(0, show.exit(), show.toString());
    assertTrue(show.out().contains("Cards:            2 (1x2), on lent spare cards (evicted when a replacement needs them)\n"),
        show.out());
  }

  // ---- errors and exit codes ----

  @Test
  void notFoundExitsOne() {
    Cli.Result r = cli.run("node", "show", "ghost");
    assertEquals(1, r.exit());
    assertEquals("cardinal: no route /v1/nodes/ghost (HTTP 404 not_found from " + stub.address() + ")\n", r.err());
  }

  @Test
  void unreachableExitsTwoAndSaysWhatToDo() {
    int dead1 = Ports.free(1).get(0);
    int dead2 = Ports.free(1).get(0);
    Cli.Result r = new Cli().servers("127.0.0.1:" + dead1 + ",127.0.0.1:" + dead2).run("node", "list");
    assertEquals(2, r.exit(), r.toString());
    assertEquals("cardinal: cannot reach any server (127.0.0.1:" + dead1 + ": connection refused; 127.0.0.1:" + dead2
        + ": connection refused). Is the cluster up? Try 'cardinal dev up --dir DIR' or set CARDINAL_SERVERS.\n",
        r.err());
  }

  @Test
  void a503OnOneReplicaMovesToTheNext() throws Exception {
    try (StubServer other = new StubServer()) {
      stub.on("POST /v1/nodes/n1/cordon", 503, "{\"error\":{\"code\":\"unavailable\",\"message\":\"starting\"}}");
      other.on("POST /v1/nodes/n1/cordon", 200, "{\"nodeId\":\"n1\",\"logIndex\":3}");
      Cli.Result r = cli.servers(stub.address() + "," + other.address()).run("node", "cordon", "n1");
      assertEquals(0, r.exit(), r.toString());
      assertEquals(1, stub.requests().size());
      assertEquals(1, other.requests().size());
    }
  }

  @Test
  void every503ExitsTwo() {
    stub.on("GET /v1/nodes", 503, "{\"error\":{\"code\":\"unavailable\",\"message\":\"no leader\"}}");
    Cli.Result r = cli.run("node", "list");
    assertEquals(2, r.exit());
    assertEquals(1, stub.requests().size(), "reads get one pass over the servers");
  }

  @Test
  void noServersConfiguredExitsTwo() {
    Cli.Result r = new Cli().run("node", "list");
    assertEquals(2, r.exit());
    assertTrue(r.err().startsWith("cardinal: no servers given: set CARDINAL_SERVERS=host:port"), r.err());
    Cli.Result bad = new Cli().run("--servers", "localhost", "node", "list");
    assertEquals(1, bad.exit());
    assertEquals("cardinal: --servers: \"localhost\" is not host:port (for example 127.0.0.1:8001)\n", bad.err());
  }

  @Test
  void serversFlagBeatsTheEnvironment() {
    stub.on("GET /v1/nodes", 200, "{\"nodes\":[]}");
    Cli.Result r = new Cli().servers("127.0.0.1:1").run("--servers", stub.address(), "node", "list");
    assertEquals(0, r.exit(), r.toString());
    assertEquals(1, stub.requests().size());
  }

  @Test
  void serverThatIsNotCardinalIsAClearError() {
    stub.on("GET /v1/nodes", 200, "<html>hello</html>");
    Cli.Result r = cli.run("node", "list");
    assertEquals(1, r.exit());
    assertTrue(r.err().startsWith("cardinal: the server answered something that is not JSON"), r.err());
  }

  @Test
  void debugPrintsTheStackTrace() {
    Cli.Result quiet = cli.run("node", "show", "ghost");
    assertFalse(quiet.err().contains("\tat "), quiet.err());
    Cli.Result debug = cli.run("--debug", "node", "show", "ghost");
    assertEquals(1, debug.exit());
    assertTrue(debug.err().contains("\tat io.cardinal.cli"), debug.err());
  }
}
