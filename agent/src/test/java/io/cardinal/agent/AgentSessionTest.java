package io.cardinal.agent;

import static io.cardinal.agent.TestSupport.WAIT_MILLIS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cardinal.agent.config.HostPort;
import io.cardinal.protocol.v1.AgentFrame;
import io.cardinal.protocol.v1.FailCard;
import io.cardinal.protocol.v1.Probe;
import io.cardinal.protocol.v1.Redirect;
import io.cardinal.protocol.v1.Refused;
import io.cardinal.protocol.v1.ReportType;
import io.cardinal.protocol.wire.Frames;
import java.io.DataInputStream;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentSessionTest {
  @Test
  void helloWelcomeInventoryHeartbeatAndFailCard(@TempDir Path dir) throws Exception {
    try (FakeGateway gw = new FakeGateway();
        Agent agent = new Agent(TestSupport.config("n1", "sn1", gw, dir).withAdminAddress(TestSupport.loopback()))) {
      agent.start();
      var hello = gw.await(r -> r.frame().hasHello(), WAIT_MILLIS).frame().getHello();
      assertEquals(Frames.PROTOCOL_VERSION, hello.getProtocolVersion());
      assertEquals("n1", hello.getNodeId());
      assertEquals("sn1", hello.getSupernodeId());
      assertEquals(agent.peerAddress().toString(), hello.getAgentAddress());
      var inv = gw.await(r -> r.frame().hasInventory(), WAIT_MILLIS).frame().getInventory();
      assertEquals(4, inv.getCardsCount());
      assertEquals("simulated", inv.getDiscovery());
      var hb = gw.await(r -> r.frame().hasHeartbeat() && r.frame().getHeartbeat().getSequence() >= 2, WAIT_MILLIS);
      assertEquals(1, hb.frame().getHeartbeat().getNodeEpoch());
      assertEquals(4, hb.frame().getHeartbeat().getCardsCount());

      // fault injection through the admin endpoint: a CARD_HEALTH report, and heartbeats carry it
      HttpResponse<String> resp = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://" + agent.adminAddress() + "/v1/fail-card?card=2&reason=chaos"))
          .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, resp.statusCode(), resp.body());
      var rep = gw.await(r -> r.frame().hasReport() && r.frame().getReport().getType() == ReportType.CARD_HEALTH,
          WAIT_MILLIS).frame().getReport();
      assertEquals(2, rep.getCardHealth().getCard().getIndex());
      assertEquals("n1", rep.getCardHealth().getCard().getNodeId());
      assertFalse(rep.getCardHealth().getHealthy());
      assertTrue(rep.getId().startsWith("n1:"));
      gw.await(r -> r.frame().hasHeartbeat() && !r.frame().getHeartbeat().getCards(2).getHealthy(), WAIT_MILLIS);
      HttpResponse<String> bad = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://" + agent.adminAddress() + "/v1/fail-card?card=9"))
          .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(404, bad.statusCode());
      assertTrue(bad.body().contains("card 9 does not exist"), bad.body());
      // and the same through a FailCard control frame from the server
      gw.send("n1", AgentFrame.newBuilder().setFailCard(FailCard.newBuilder().setCardIndex(2).setHealthy(true)
          .setReason("repaired")).build());
      gw.await(r -> r.frame().hasHeartbeat() && r.frame().getHeartbeat().getCards(2).getHealthy(), WAIT_MILLIS);
      TestSupport.waitUntil("reports acked", () -> agent.status().pendingReports() == 0);
    }
  }

  /**
   * A server with a large TTL beats slower than the agent's own session timeout: the session must follow the
   * Welcome's interval, not close between two Acks and reconnect forever (seen with a 30 s TTL: 10 s beats against
   * the default 5 s timeout).
   */
  @Test
  void aSlowerServerChosenBeatKeepsTheSessionUp(@TempDir Path dir) throws Exception {
    try (FakeGateway gw = new FakeGateway();
        Agent agent = new Agent(TestSupport.config("n1", "sn1", gw, dir).withHeartbeatIntervalMillis(200, 600))) {
      gw.heartbeatIntervalMillis.set(1000);
      agent.start();
      // four server-chosen beats, each acked: with the configured 600 ms timeout the session would close between them
      gw.await(r -> r.frame().hasHeartbeat() && r.frame().getHeartbeat().getSequence() >= 4, WAIT_MILLIS);
      assertEquals(1, gw.connections(), "the agent closed a healthy session and reconnected");
    }
  }

  @Test
  void wrongProtocolVersionIsRefusedWithAReasonAndTheAgentStops(@TempDir Path dir) throws Exception {
    try (FakeGateway gw = new FakeGateway();
        Agent agent = new Agent(TestSupport.config("n1", "sn1", gw, dir))) {
      gw.refuse.set(Refused.newBuilder().setCode("version").setMessage("server speaks protocol version 2 only")
          .setServerProtocolVersion(2).build());
      agent.start();
      String reason = agent.fatal().get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
      assertTrue(reason.contains("version") && reason.contains("protocol version 2 only"), reason);
      assertEquals(1, gw.connections());
    }
  }

  @Test
  void redirectIsFollowedToTheLeader(@TempDir Path dir) throws Exception {
    try (FakeGateway follower = new FakeGateway();
        FakeGateway leader = new FakeGateway();
        Agent agent = new Agent(TestSupport.config("n1", "sn1", follower, dir))) {
      follower.redirect.set(Redirect.newBuilder().setLeaderId("s2").setLeaderAddress(leader.address().toString())
          .setReason("not the leader").build());
      agent.start();
      leader.await(r -> r.frame().hasInventory(), WAIT_MILLIS);
      assertEquals(1, follower.connections());
    }
  }

  @Test
  void deadServersAreSkippedWithBackoff(@TempDir Path dir) throws Exception {
    int dead;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      dead = s.getLocalPort(); // closed again: connections to it are refused
    }
    try (FakeGateway gw = new FakeGateway();
        Agent agent = new Agent(TestSupport.config("n1", "sn1", gw, dir)
            .withServers(java.util.List.of(new HostPort("127.0.0.1", dead), gw.address())))) {
      agent.start();
      gw.await(r -> r.frame().hasInventory(), WAIT_MILLIS);
      gw.close(); // the "leader" dies: the agent keeps trying both, with backoff, and does not stop
      TestSupport.waitUntil("session lost", () -> agent.sessionState() != io.cardinal.agent.net.ServerSession.State.ESTABLISHED);
      assertFalse(agent.fatal().isDone());
    }
  }

  @Test
  void garbageAndOversizedFramesDropTheConnectionAndTheAgentReconnects(@TempDir Path dir) throws Exception {
    try (TestSupport.LogCapture logs = new TestSupport.LogCapture();
        FakeGateway gw = new FakeGateway();
        Agent agent = new Agent(TestSupport.config("n1", "sn1", gw, dir))) {
      agent.start();
      gw.await(r -> r.frame().hasInventory(), WAIT_MILLIS);
      gw.sendRaw("n1", new byte[] {0, 0, 0, 6, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f, 0x01});
      gw.await(r -> r.connection() == 2 && r.frame().hasHello(), WAIT_MILLIS);
      assertTrue(logs.contains("dropping connection to server", "garbage"), logs.dump());
      gw.await(r -> r.connection() == 2 && r.frame().hasInventory(), WAIT_MILLIS);
      gw.sendRaw("n1", new byte[] {0x7f, 0, 0, 0, 1, 2, 3});
      gw.await(r -> r.connection() == 3 && r.frame().hasHello(), WAIT_MILLIS);
      assertTrue(logs.contains("dropping connection to server", "over the limit"), logs.dump());

      // the shard peer port: garbage drops that connection only; the port still serves others
      HostPort peer = agent.peerAddress();
      try (Socket s = new Socket(peer.host(), peer.port())) {
        s.getOutputStream().write(new byte[] {0, 0, 0, 3, (byte) 0xff, (byte) 0xff, (byte) 0xff});
        s.setSoTimeout((int) WAIT_MILLIS);
        assertEquals(-1, s.getInputStream().read());
      }
      try (Socket s = new Socket(peer.host(), peer.port())) {
        s.getOutputStream().write(Frames.encode(AgentFrame.newBuilder().setProbe(Probe.newBuilder().setNonce(42))
            .build()));
        s.setSoTimeout((int) WAIT_MILLIS);
        AgentFrame reply = readFrame(s.getInputStream());
        assertEquals(42, reply.getProbeReply().getNonce());
        assertEquals("n1", reply.getProbeReply().getNodeId());
      }
      assertTrue(logs.contains("dropping peer connection from"), logs.dump());
      gw.await(r -> r.connection() == 3 && r.frame().hasHeartbeat(), WAIT_MILLIS);
    }
  }

  static AgentFrame readFrame(InputStream in) throws Exception {
    DataInputStream d = new DataInputStream(in);
    int len = d.readInt();
    byte[] body = new byte[len];
    d.readFully(body);
    return AgentFrame.parseFrom(body);
  }
}
