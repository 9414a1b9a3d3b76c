package io.cardinal.cli.dev;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ReadinessTest {
  private final List<HttpServer> servers = new ArrayList<>();

  @AfterEach
  void stop() {
    servers.forEach(s -> s.stop(0));
  }

  @Test
  void readyWithALeaderAndAHealthyMajority() throws Exception {
    List<String> http = List.of(replica("n1", "FOLLOWER", true), replica("n2", "LEADER", true),
        replica("n3", "FOLLOWER", false));
    Readiness.State s = new Readiness().await(http, Duration.ofSeconds(5), () -> true);
    assertTrue(s.ready());
    assertEquals(Optional.of("n2"), s.leaderId());
    assertEquals(2, s.healthy());
    assertEquals(3, s.total());
  }

  @Test
  void notReadyWithoutALeaderOrAMajority() throws Exception {
    List<String> noLeader = List.of(replica("n1", "CANDIDATE", true), replica("n2", "FOLLOWER", true));
    long start = System.nanoTime();
    Readiness.State s = new Readiness().await(noLeader, Duration.ofMillis(600), () -> true);
    assertFalse(s.ready());
    assertTrue(System.nanoTime() - start >= Duration.ofMillis(600).toNanos(), "waited the whole timeout");

    int dead = Ports.free(1).get(0);
    List<String> minority = List.of(replica("n1", "LEADER", true), "127.0.0.1:" + dead, replica("n3", "FOLLOWER",
        false));
    Readiness.State m = new Readiness().probe(minority);
    assertFalse(m.ready());
    assertEquals(1, m.healthy());
  }

  @Test
  void stopsWaitingWhenToldThereIsNoPoint() {
    int dead = Ports.free(1).get(0);
    long start = System.nanoTime();
    Readiness.State s = new Readiness().await(List.of("127.0.0.1:" + dead), Duration.ofSeconds(30), () -> false);
    assertFalse(s.ready());
    assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos());
  }

  private String replica(String id, String role, boolean healthy) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
    s.createContext("/healthz", ex -> reply(ex, healthy ? 200 : 503,
        healthy ? "{\"status\":\"ok\",\"id\":\"" + id + "\",\"role\":\"" + role + "\"}" : "{\"error\":{}}"));
    s.createContext("/v1/status", ex -> reply(ex, 200, "{\"id\":\"" + id + "\",\"role\":\"" + role + "\"}"));
    s.start();
    servers.add(s);
    return "127.0.0.1:" + s.getAddress().getPort();
  }

  private static void reply(com.sun.net.httpserver.HttpExchange ex, int status, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.sendResponseHeaders(status, b.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(b);
    }
  }
}
