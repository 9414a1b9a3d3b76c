package io.cardinal.agent.inventory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cardinal.agent.config.AgentConfig;
import io.cardinal.protocol.v1.CardInfo;
import java.util.List;
import org.junit.jupiter.api.Test;

class CardDiscoveryTest {
  @Test
  void simulated() {
    var r = CardDiscovery.discover(new AgentConfig.Cards(3, "910B", 65536, false));
    assertEquals("simulated", r.method());
    assertEquals(3, r.cards().size());
    assertEquals(2, r.cards().get(2).getIndex());
    assertTrue(r.cards().get(0).getHealthy());
  }

  @Test
  void nvidiaSmi() {
    List<CardInfo> cards = CardDiscovery.parseNvidiaSmi("""
        0, NVIDIA H100 80GB HBM3, 81559
        1, NVIDIA H100 80GB HBM3, 81559
        """);
    assertEquals(2, cards.size());
    assertEquals("NVIDIA H100 80GB HBM3", cards.get(1).getModel());
    assertEquals(81559, cards.get(1).getMemoryMib());
  }

  @Test
  void npuSmi() {
    List<CardInfo> cards = CardDiscovery.parseNpuSmi("""
        +------------------------------------------------------------------------------------------------+
        | npu-smi 23.0.rc2                 Version: 23.0.rc2                                             |
        +---------------------------+---------------+----------------------------------------------------+
        | NPU   Name                | Health        | Power(W)    Temp(C)           Hugepages-Usage(page)|
        | Chip                      | Bus-Id        | AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)        |
        +===========================+===============+====================================================+
        | 0     910B3               | OK            | 93.6        36                0    / 0             |
        | 0                         | 0000:C1:00.0  | 0           0    / 0          3161 / 65536         |
        +===========================+===============+====================================================+
        | 1     910B3               | Critical      | 90.1        37                0    / 0             |
        | 0                         | 0000:C2:00.0  | 0           0    / 0          3161 / 65536         |
        +===========================+===============+====================================================+
        """);
    assertEquals(2, cards.size());
    assertEquals("910B3", cards.get(0).getModel());
    assertEquals(65536, cards.get(0).getMemoryMib());
    assertTrue(cards.get(0).getHealthy());
    assertFalse(cards.get(1).getHealthy());
  }
}
