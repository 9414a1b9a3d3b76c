package io.cardinal.cli.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.cli.CliException;
import io.cardinal.cli.dev.Readiness;
import io.cardinal.cli.dev.ReplicaProcesses;
import io.cardinal.cli.http.ApiClient;
import io.cardinal.cli.http.ApiRequest;
import io.cardinal.cli.http.ApiResponse;
import io.cardinal.cli.http.ServerList;
import io.cardinal.cli.output.Output;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The demo scenario against a {@link DemoCluster}: a checkpointing job, a failed card (restart from the local
 * shard), then a whole node killed (restart on the other node from the buddy's copy). Every wait is bounded; the
 * first step that does not happen ends the run with its name.
 */
public final class DemoRun {
  public static final Duration STEP_TIMEOUT = Duration.ofSeconds(60);
  static final long POLL_MILLIS = 200;
  static final String MODEL = "H100";
  static final int CARDS_PER_NODE = 4;
  static final List<Map.Entry<String, String>> NODES = List.of(Map.entry("sn1-n1", "sn1"), Map.entry("sn1-n2", "sn1"),
      Map.entry("sn2-n1", "sn2"), Map.entry("sn2-n2", "sn2"));

  /** A step that did not happen. */
  public static final class StepFailed extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String step;

    StepFailed(String step, String message) {
      super(message);
      this.step = step;
    }

    public String step() {
      return step;
    }
  }

  /** How it went. {@code incidents} are the job's incident documents as the server has them. */
  public record Result(boolean ok, String jobId, String failedStep, String error, List<JsonNode> incidents,
      Timeline timeline, Path dir) {
    public ObjectNode toJson() {
      ObjectNode o = Output.JSON.createObjectNode();
      o.put("ok", ok);
      o.put("job", jobId);
      ArrayNode arr = o.putArray("incidents");
      for (JsonNode i : incidents) {
        ObjectNode s = arr.addObject();
        s.put("fromAttempt", i.path("fromAttempt").asLong());
        s.put("toAttempt", i.path("toAttempt").asLong());
        s.put("reason", i.path("reason").asText());
        s.set("detectedToRunningMs", i.path("detectedToRunningMs"));
        s.put("restoreStep", i.path("restoreStep").asLong());
        s.set("stepsLost", i.path("stepsLost"));
        s.put("shardSource", Timeline.sources(i));
        s.set("shardSources", i.path("shardSources"));
      }
      o.set("timeline", timeline.toJson());
      o.put("dir", dir.toString());
      if (!ok) {
        o.put("failedStep", failedStep);
        o.put("error", error);
      }
      return o;
    }
  }

  private final DemoCluster cluster;
  private final PrintStream progress;
  private final Timeline timeline;
  private final Path home;
  private ApiClient api;
  private String jobId;
  private final List<JsonNode> incidents = new ArrayList<>();

  public DemoRun(DemoCluster cluster, Path cardinalHome, PrintStream progress, long startMs) {
    this.cluster = cluster;
    this.home = cardinalHome;
    this.progress = progress;
    this.timeline = new Timeline(startMs);
  }

  public Result run() {
    String error = null;
    String failedStep = null;
    try {
      scenario();
    } catch (StepFailed e) {
      failedStep = e.step();
      error = e.getMessage();
    } catch (CliException | IllegalStateException e) {
      failedStep = "(unexpected)";
      error = e.getMessage();
    }
    collect();
    boolean ok = error == null;
    return new Result(ok, jobId, failedStep, error, List.copyOf(incidents), timeline, cluster.dir());
  }

  private void scenario() {
    // 1. servers
    String step = "start a 3-replica cluster";
    say(step + " in " + cluster.dir());
    Readiness.State state = cluster.startServers(STEP_TIMEOUT);
    if (!state.ready()) {
      throw new StepFailed(step, "the cluster did not come up within " + STEP_TIMEOUT.toSeconds() + " s (leader: "
          + state.leaderId().orElse("none") + ", healthy " + state.healthy() + "/" + state.total()
          + "); server logs: " + cluster.dir() + "/n*/server.log");
    }
    mark("cluster", "3 replicas up, leader " + state.leaderId().get());
    api = new ApiClient(ServerList.parse(cluster.servers(), "demo"), Duration.ofSeconds(2), Duration.ofSeconds(10));

    // 2. agents
    step = "start 4 agents and see them registered";
    say(step);
    cluster.startAgents(NODES, CARDS_PER_NODE, MODEL);
    mark("agents", "4 agents started (2 supernodes x 2 nodes x " + CARDS_PER_NODE + " " + MODEL + ")");
    await(step, () -> {
      for (DemoCluster.Agent a : cluster.agents()) {
        if (!DemoCluster.alive(a)) {
          throw new StepFailed("start 4 agents and see them registered", "agent " + a.nodeId() + " exited; see "
              + a.logFile() + ": " + ReplicaProcesses.tail(a.logFile(), 3));
        }
      }
      JsonNode nodes = get("/v1/nodes");
      int online = 0;
      for (JsonNode n : nodes.path("nodes")) {
        if (n.path("online").asBoolean(false)) {
          online++;
        }
      }
      return online >= NODES.size() ? Optional.of(online) : Optional.<Integer>empty();
    }, "agents' logs: " + cluster.dir() + "/agents/*/agent.log");

    // 3. spares
    step = "set a spare rule of 1 card per supernode";
    say(step);
    for (String sn : List.of("sn1", "sn2")) {
      post(step, "/v1/spares", Output.JSON.createObjectNode().put("supernodeId", sn).put("cards", 1));
    }

    // 4. the job
    step = "submit the job";
    say(step);
    ObjectNode spec = jobSpec();
    ApiResponse submitted = api.send(ApiRequest.post("/v1/jobs", Output.compact(spec))
        .withIdempotencyKey("demo-" + UUID.randomUUID()));
    if (!submitted.ok()) {
      throw new StepFailed(step, "the cluster refused the job: " + ApiClient.errorMessage(submitted.body()));
    }
    jobId = Output.parse(submitted.body()).path("jobId").asText();
    mark("demo", "submitted job " + jobId + ": 2 tasks x 1 card, supernode required, checkpoint every 20 steps");

    // 5. running with a checkpoint
    step = "job runs and commits a checkpoint";
    say(step);
    JsonNode job = awaitJob(step, j -> j.path("state").asText().equals("RUNNING") && j.path("attempt").asLong() == 1
        && j.path("checkpointStep").asLong() > 0);

    // 6. fail the card of rank 0
    step = "fail the card of rank 0";
    JsonNode task0 = task(job, 0);
    String node1 = task0.path("nodeId").asText();
    int card = task0.path("cards").path(0).asInt();
    say(step + " (" + node1 + " card " + card + ")");
    long injectedMs = System.currentTimeMillis();
    post(step, "/v1/debug/fail-card", Output.JSON.createObjectNode().put("nodeId", node1).put("card", card)
        .put("reason", "cardinal demo: injected card failure"));
    timeline.add(injectedMs, "inject", "POST /v1/debug/fail-card: " + node1 + " card " + card + " (rank 0), at checkpoint step "
        + job.path("checkpointStep").asLong());

    // 7. attempt 2 running
    step = "attempt 2 runs after the card failure";
    say(step);
    job = awaitJob(step, j -> incident(j, 2).map(i -> i.path("runningMs").asLong() > 0).orElse(false));
    long restore2 = incident(job, 2).get().path("restoreStep").asLong();

    // 8. a newer checkpoint
    step = "attempt 2 commits a newer checkpoint";
    say(step + " (after step " + restore2 + ")");
    job = awaitJob(step, j -> j.path("attempt").asLong() == 2 && j.path("checkpointStep").asLong() > restore2);

    // 9. kill the node of rank 0
    step = "kill the node of rank 0";
    String node2 = task(job, 0).path("nodeId").asText();
    DemoCluster.Agent victim = cluster.agent(node2).orElseThrow(() -> new StepFailed("kill the node of rank 0",
        "rank 0 runs on " + node2 + ", which is not one of the demo's agents"));
    say(step + " (" + node2 + ", process group " + victim.pid() + ")");
    long killedMs = System.currentTimeMillis();
    cluster.killNode(victim);
    timeline.add(killedMs, "inject", "SIGKILL to the process group of " + node2 + " (agent pid " + victim.pid() + " and its workers), "
        + "at checkpoint step " + job.path("checkpointStep").asLong());

    // 10. attempt 3 from the buddy
    step = "attempt 3 runs, restored from the buddy";
    // Since agents fence themselves by a lease, a lost node's restart waits for it (docs/server-config.md): the
    // server cannot tell a dead node from a cut-off one whose workers still run.
    say(step + " (after the node lease: the servers start it once " + node2 + " has been silent for lostNodeHoldMillis, "
        + "12 s by default, so a node that is only cut off has killed its workers first)");
    job = awaitJob(step, j -> incident(j, 3).map(i -> i.path("runningMs").asLong() > 0).orElse(false));
    JsonNode third = incident(job, 3).get();
    if (!Timeline.sources(third).contains("buddy")) {
      throw new StepFailed(step, "attempt 3 runs but its shards came from " + Timeline.sources(third)
          + " (" + third.path("shardSources") + "), not from the buddy");
    }
    JsonNode second = incident(job, 2).get();
    if (!Timeline.sources(second).equals("local")) {
      throw new StepFailed("attempt 2 runs after the card failure", "attempt 2 restored from "
          + Timeline.sources(second) + " (" + second.path("shardSources") + "), expected local shards");
    }
    say("done");
  }

  /** The job spec of the demo: the simulated trainer, 20 steps/s, a checkpoint each second. */
  ObjectNode jobSpec() {
    ObjectNode spec = Output.JSON.createObjectNode();
    spec.put("name", "demo-train");
    spec.put("tenant", "demo");
    spec.put("tasks", 2);
    spec.put("cardsPerTask", 1);
    spec.put("cardModel", MODEL);
    spec.putObject("topology").put("supernode", "required").put("maxSupernodes", 1);
    spec.putArray("command").add(home.resolve("bin").resolve("cardinal-trainer").toString());
    spec.putObject("env").put("TRAINER_STEPS_PER_SEC", "20").put("TRAINER_CHECKPOINT_EVERY", "20")
        .put("TRAINER_SHARD_BYTES", "65536");
    spec.putObject("checkpoint").put("everySteps", 20);
    spec.putObject("restart").put("maxRestarts", 5).put("backoffSeconds", 0);
    return spec;
  }

  /** After the run (or a failed step): the incidents and the events, into the timeline. Best effort. */
  private void collect() {
    if (api == null || cluster.closed()) {
      return;
    }
    try {
      if (jobId != null) {
        JsonNode job = get("/v1/jobs/" + jobId);
        incidents.clear();
        job.path("incidents").forEach(incidents::add);
        int n = 1;
        for (JsonNode i : incidents) {
          timeline.addIncident(n++, i);
        }
      }
      ApiResponse r = api.send(ApiRequest.get("/v1/events?limit=10000"));
      if (r.ok()) {
        List<JsonNode> events = new ArrayList<>();
        for (String line : r.body().split("\n")) {
          if (!line.isBlank()) {
            events.add(Output.parse(line));
          }
        }
        timeline.addEvents(events);
      }
    } catch (CliException e) {
      progress.println("cardinal demo: could not read the job's incidents and events: " + e.getMessage());
    }
  }

  private static JsonNode task(JsonNode job, int task) {
    for (JsonNode p : job.path("placement")) {
      if (p.path("task").asInt() == task) {
        return p;
      }
    }
    throw new StepFailed("find rank " + task, "job " + job.path("jobId").asText() + " has no task " + task
        + " in its placement: " + job.path("placement"));
  }

  private static Optional<JsonNode> incident(JsonNode job, long toAttempt) {
    for (JsonNode i : job.path("incidents")) {
      if (i.path("toAttempt").asLong() == toAttempt) {
        return Optional.of(i);
      }
    }
    return Optional.empty();
  }

  private JsonNode awaitJob(String step, Function<JsonNode, Boolean> done) {
    JsonNode[] last = new JsonNode[1];
    return await(step, () -> {
      JsonNode j = get("/v1/jobs/" + jobId);
      last[0] = j;
      String st = j.path("state").asText();
      if (st.equals("FAILED") || st.equals("CANCELLED") || st.equals("SUCCEEDED")) {
        throw new StepFailed(step, "job " + jobId + " ended " + st + " (" + j.path("reason").asText() + ")"
            + "; workers' logs: " + cluster.dir() + "/agents/*/data/logs/" + jobId);
      }
      return done.apply(j) ? Optional.of(j) : Optional.<JsonNode>empty();
    }, "last seen: " + new Object() {
      @Override
      public String toString() {
        JsonNode j = last[0];
        return j == null ? "nothing" : "state " + j.path("state").asText() + ", attempt " + j.path("attempt").asText()
            + ", checkpoint step " + j.path("checkpointStep").asText() + ", incidents " + j.path("incidents").size();
      }
    } + "; logs under " + cluster.dir());
  }

  /** Polls {@code probe} every 200 ms until it yields, for at most {@link #STEP_TIMEOUT}. */
  private <T> T await(String step, java.util.function.Supplier<Optional<T>> probe, Object hint) {
    long deadline = System.nanoTime() + STEP_TIMEOUT.toNanos();
    String lastError = null;
    while (true) {
      if (cluster.closed()) {
        throw new StepFailed(step, "interrupted: the demo is shutting down");
      }
      try {
        Optional<T> v = probe.get();
        if (v.isPresent()) {
          return v.get();
        }
        lastError = null;
      } catch (CliException e) {
        lastError = e.getMessage(); // a replica busy or electing: try again
      }
      if (System.nanoTime() > deadline) {
        throw new StepFailed(step, "not done within " + STEP_TIMEOUT.toSeconds() + " s ("
            + (lastError != null ? "last error: " + lastError + "; " : "") + hint + ")");
      }
      try {
        TimeUnit.MILLISECONDS.sleep(POLL_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StepFailed(step, "interrupted");
      }
    }
  }

  private JsonNode get(String path) {
    return Output.parse(ApiClient.requireOk(api.send(ApiRequest.get(path))).body());
  }

  private JsonNode post(String step, String path, JsonNode body) {
    ApiResponse r;
    try {
      r = api.send(ApiRequest.post(path, Output.compact(body)));
    } catch (CliException e) {
      throw new StepFailed(step, "POST " + path + ": " + e.getMessage());
    }
    if (!r.ok()) {
      throw new StepFailed(step, "POST " + path + " refused: " + ApiClient.errorMessage(r.body()));
    }
    return Output.parse(r.body());
  }

  private void mark(String kind, String text) {
    timeline.add(System.currentTimeMillis(), kind, text);
  }

  private void say(String what) {
    progress.println("cardinal demo " + timeline.offset(System.currentTimeMillis()) + ": " + what);
    progress.flush();
  }

  /** A JSON value as text, "-" for null or missing. */
  static String text(JsonNode n) {
    return n == null || n.isNull() || n.isMissingNode() ? "-" : n.asText();
  }
}
