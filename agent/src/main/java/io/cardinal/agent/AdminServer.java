package io.cardinal.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.util.JsonFormat;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.cardinal.agent.config.HostPort;
import io.cardinal.protocol.v1.CardInfo;
import io.cardinal.protocol.v1.CheckpointProgress;
import io.cardinal.protocol.v1.TaskStatus;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;

/**
 * The agent's loopback admin endpoint (config {@code adminAddress}):
 * <ul>
 *   <li>{@code POST /v1/fail-card?card=N[&reason=...]}: mark card N failed (for
 *       {@code cardinal debug fail-card}); {@code POST /v1/heal-card?card=N} undoes it.</li>
 *   <li>{@code GET /v1/status}: node, epoch, session, cards, tasks, checkpoint progress, pending reports.</li>
 * </ul>
 * Errors follow docs/http-api.md: {@code {"error":{"code","message"}}}.
 */
final class AdminServer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The same switch as the server's io.cardinal.state.WallClock.TEST_HOOKS_PROPERTY (the agent links only protocol). */
  static final String TEST_HOOKS_PROPERTY = "cardinal.testHooks";
  private final Agent agent;
  private HttpServer server;

  AdminServer(Agent agent) {
    this.agent = agent;
  }

  HostPort bind(HostPort address) throws IOException {
    server = HttpServer.create(address.toSocketAddress(), 16);
    server.setExecutor(Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "agent-admin");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/", this::handle);
    server.start();
    return new HostPort(address.host(), server.getAddress().getPort());
  }

  private void handle(HttpExchange ex) throws IOException {
    try {
      String path = ex.getRequestURI().getPath();
      Map<String, String> q = query(ex.getRequestURI().getRawQuery());
      switch (path) {
        case "/v1/fail-card", "/v1/heal-card" -> {
          if (!ex.getRequestMethod().equals("POST")) {
            error(ex, 405, "invalid", "use POST " + path + "?card=N");
            return;
          }
          int card;
          try {
            card = Integer.parseInt(q.getOrDefault("card", ""));
          } catch (NumberFormatException e) {
            error(ex, 400, "invalid", "query parameter card=N (a card index) is required");
            return;
          }
          boolean healthy = path.equals("/v1/heal-card");
          String reason = q.getOrDefault("reason", healthy ? "healed by hand" : "failed by hand (debug fail-card)");
          String err = agent.failCard(card, healthy, reason);
          if (err != null) {
            error(ex, 404, "not_found", err);
            return;
          }
          Map<String, Object> body = new LinkedHashMap<>();
          body.put("nodeId", agent.config().nodeId());
          body.put("card", card);
          body.put("healthy", healthy);
          body.put("reason", reason);
          send(ex, 200, body);
        }
        case "/v1/status" -> send(ex, 200, status());
        case "/v1/test/drop-server-traffic" -> {
          // TEST ONLY: a partition from the servers where the test cannot make one (agents on loopback).
          if (!Boolean.getBoolean(TEST_HOOKS_PROPERTY)) {
            error(ex, 404, "not_found", "test hooks are off (start the agent with -D" + TEST_HOOKS_PROPERTY + "=true)");
            return;
          }
          String on = q.getOrDefault("on", "");
          if (!ex.getRequestMethod().equals("POST") || !(on.equals("true") || on.equals("false"))) {
            error(ex, 400, "invalid", "use POST " + path + "?on=true|false");
            return;
          }
          agent.dropServerTrafficForTest(Boolean.parseBoolean(on));
          Map<String, Object> body = new LinkedHashMap<>();
          body.put("nodeId", agent.config().nodeId());
          body.put("droppingServerTraffic", Boolean.parseBoolean(on));
          send(ex, 200, body);
        }
        default -> error(ex, 404, "not_found", "no route " + path + " (POST /v1/fail-card?card=N, "
            + "POST /v1/heal-card?card=N, GET /v1/status)");
      }
    } catch (Exception e) {
      error(ex, 500, "internal", e.toString());
    } finally {
      ex.close();
    }
  }

  private Map<String, Object> status() throws IOException {
    Agent.Status s = agent.status();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("nodeId", s.nodeId());
    m.put("epoch", s.epoch());
    m.put("session", agent.sessionState().name());
    m.put("pendingReports", s.pendingReports());
    m.put("peerAddress", String.valueOf(agent.peerAddress()));
    m.put("checkpointApiAddress", String.valueOf(agent.checkpointApiAddress()));
    List<Object> cards = new ArrayList<>();
    for (CardInfo c : s.cards()) {
      cards.add(JSON.readValue(JsonFormat.printer().print(c), Map.class));
    }
    m.put("cards", cards);
    List<Object> tasks = new ArrayList<>();
    for (TaskStatus t : s.tasks()) {
      tasks.add(JSON.readValue(JsonFormat.printer().print(t), Map.class));
    }
    m.put("tasks", tasks);
    List<Object> ckpts = new ArrayList<>();
    for (CheckpointProgress c : s.checkpoints()) {
      ckpts.add(JSON.readValue(JsonFormat.printer().print(c), Map.class));
    }
    m.put("checkpoints", ckpts);
    return m;
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> q = new LinkedHashMap<>();
    if (raw == null) {
      return q;
    }
    for (String kv : raw.split("&")) {
      int eq = kv.indexOf('=');
      if (eq > 0) {
        q.put(URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8),
            URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    return q;
  }

  private static void error(HttpExchange ex, int status, String code, String message) throws IOException {
    Map<String, Object> err = new LinkedHashMap<>();
    err.put("code", code);
    err.put("message", message);
    send(ex, status, Map.of("error", err));
  }

  private static void send(HttpExchange ex, int status, Object body) throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(body);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    if (server != null) {
      server.stop(0);
    }
  }
}
