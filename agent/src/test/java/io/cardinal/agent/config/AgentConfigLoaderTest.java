package io.cardinal.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class AgentConfigLoaderTest {
  private static final String BASE = """
      nodeId: sn1-n1
      supernodeId: sn1
      servers: [127.0.0.1:9001, "127.0.0.1:9002"]
      dataDir: /tmp/agent
      peerAddress: 127.0.0.1:9101
      adminAddress: 127.0.0.1:9201
      cards: {count: 8, model: H100, memoryMib: 81920}
      tiers: [pod-1]
      token: s3cret
      """;

  @Test
  void parsesAFullConfigWithDefaults() {
    AgentConfig c = AgentConfigLoader.parse(BASE, "agent.yaml");
    assertEquals("sn1-n1", c.nodeId());
    assertEquals(2, c.servers().size());
    assertEquals(9101, c.peerAddress().port());
    assertEquals(8, c.cards().count());
    assertEquals(1000, c.heartbeatIntervalMillis());
    assertEquals(3, c.keepCheckpoints());
    assertEquals("s3cret", c.token());
    assertEquals(java.util.List.of("pod-1"), c.tiers());
  }

  @Test
  void unknownKeyIsNamed() {
    var e = assertThrows(AgentConfigLoader.ConfigException.class,
        () -> AgentConfigLoader.parse(BASE + "heartbeatMillis: 5\n", "agent.yaml"));
    assertTrue(e.getMessage().contains("unknown config key 'heartbeatMillis'"), e.getMessage());
    var e2 = assertThrows(AgentConfigLoader.ConfigException.class,
        () -> AgentConfigLoader.parse(BASE.replace("memoryMib: 81920", "memoryMb: 1"), "agent.yaml"));
    assertTrue(e2.getMessage().contains("'cards.memoryMb'"), e2.getMessage());
  }

  @Test
  void badValuesSayWhatIsExpected() {
    var e = assertThrows(AgentConfigLoader.ConfigException.class,
        () -> AgentConfigLoader.parse(BASE.replace("127.0.0.1:9101", "nowhere"), "agent.yaml"));
    assertTrue(e.getMessage().contains("peerAddress"), e.getMessage());
    var e2 = assertThrows(AgentConfigLoader.ConfigException.class,
        () -> AgentConfigLoader.parse(BASE.replace("nodeId: sn1-n1", "nodeId: ../etc"), "agent.yaml"));
    assertTrue(e2.getMessage().contains("nodeId"), e2.getMessage());
    var e3 = assertThrows(AgentConfigLoader.ConfigException.class,
        () -> AgentConfigLoader.parse(BASE + "heartbeatIntervalMillis: -1\n", "agent.yaml"));
    assertTrue(e3.getMessage().contains("positive"), e3.getMessage());
    var e4 = assertThrows(AgentConfigLoader.ConfigException.class,
        () -> AgentConfigLoader.parse(BASE.replace("tiers: [pod-1]", "tiers: [pod-1, \"\"]"), "agent.yaml"));
    assertTrue(e4.getMessage().contains("'tiers'"), e4.getMessage());
  }

  @Test
  void discoverNeedsNoCount() {
    AgentConfig c = AgentConfigLoader.parse(BASE.replace("{count: 8, model: H100, memoryMib: 81920}",
        "{discover: true}"), "agent.yaml");
    assertTrue(c.cards().discover());
  }
}
