package io.cardinal.cli.dev;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.cardinal.cli.CliException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DevLayoutTest {
  @TempDir
  Path dir;

  @Test
  void freePortsAreDistinctAndBindable() {
    List<Integer> ports = Ports.free(15);
    assertEquals(15, new HashSet<>(ports).size());
    for (int p : ports) {
      assertTrue(p > 0 && p <= 65535);
    }
    assertTrue(Ports.isFree(ports.get(0)));
  }

  @Test
  void planWithoutBasePortUsesFreeLoopbackPorts() {
    List<Replica> plan = DevLayout.plan(dir, 5, null);
    assertEquals(List.of("n1", "n2", "n3", "n4", "n5"), plan.stream().map(Replica::id).toList());
    Set<String> addresses = new HashSet<>();
    for (Replica r : plan) {
      addresses.addAll(List.of(r.raftAddress(), r.httpAddress(), r.agentAddress()));
      assertTrue(r.httpAddress().startsWith("127.0.0.1:"), r.httpAddress());
      assertEquals(dir.toAbsolutePath().resolve(r.id()), r.dir());
    }
    assertEquals(15, addresses.size(), "no port is used twice");
  }

  @Test
  void planWithBasePortUsesFixedOffsets() {
    int base = firstFreeBase();
    List<Replica> plan = DevLayout.plan(dir, 3, base);
    assertEquals(new Replica("n2", "127.0.0.1:" + (base + 1), "127.0.0.1:" + (base + 1001),
        "127.0.0.1:" + (base + 2001), dir.toAbsolutePath().resolve("n2")), plan.get(1));
    assertEquals("127.0.0.1:" + (base + 1000) + ",127.0.0.1:" + (base + 1001) + ",127.0.0.1:" + (base + 1002),
        DevLayout.servers(plan));
  }

  @Test
  void planRefusesBusyPortsAndBadSizes() throws Exception {
    int base = firstFreeBase();
    try (ServerSocket busy = new ServerSocket()) {
      busy.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), base + 1001));
      CliException e = assertThrows(CliException.class, () -> DevLayout.plan(dir, 3, base));
      assertEquals(1, e.exitCode());
      assertEquals("ports in use: " + (base + 1001) + " (n2); pick another --base-port, or omit it to use free ports",
          e.getMessage());
    }
    assertEquals(1, assertThrows(CliException.class, () -> DevLayout.plan(dir, 4, null)).exitCode());
    CliException high = assertThrows(CliException.class, () -> DevLayout.plan(dir, 3, 64000));
    assertTrue(high.getMessage().startsWith("--base-port must leave room for 3 replicas"), high.getMessage());
  }

  @Test
  void configFollowsServerConfigDoc() throws Exception {
    List<Replica> plan = DevLayout.plan(dir, 3, null);
    JsonNode doc = new YAMLMapper().readTree(DevLayout.config(plan.get(1), plan));
    assertEquals(List.of("id", "dataDir", "peers"), names(doc));
    assertEquals("n2", doc.path("id").asText());
    assertEquals(dir.toAbsolutePath().resolve("n2").resolve("data").toString(), doc.path("dataDir").asText());
    assertEquals(3, doc.path("peers").size());
    JsonNode p3 = doc.path("peers").get(2);
    assertEquals(List.of("id", "raftAddress", "httpAddress", "agentAddress"), names(p3));
    assertEquals(plan.get(2).raftAddress(), p3.path("raftAddress").asText());
    assertEquals(plan.get(2).agentAddress(), p3.path("agentAddress").asText());
  }

  @Test
  void writtenConfigsReadBackAsTheSameLayout() throws Exception {
    assertTrue(DevLayout.read(dir).isEmpty());
    List<Replica> plan = DevLayout.plan(dir, 3, null);
    DevLayout.write(plan);
    for (Replica r : plan) {
      assertTrue(Files.isRegularFile(r.configFile()));
      assertTrue(Files.isDirectory(r.dataDir()));
    }
    assertEquals(plan, DevLayout.read(dir).orElseThrow());
    assertEquals(plan.get(2), DevLayout.find(plan, "n3"));
    CliException e = assertThrows(CliException.class, () -> DevLayout.find(plan, "n9"));
    assertEquals("no replica n9 in this dev cluster (replicas: n1, n2, n3)", e.getMessage());
  }

  private static List<String> names(JsonNode node) {
    List<String> names = new java.util.ArrayList<>();
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      names.add(it.next());
    }
    return names;
  }

  /** A base port whose raft/http/agent ranges are all free now. */
  private static int firstFreeBase() {
    for (int base = 41001; base < 60000; base += 97) {
      boolean free = true;
      for (int i = 0; i < 3 && free; i++) {
        free = Ports.isFree(base + i) && Ports.isFree(base + 1000 + i) && Ports.isFree(base + 2000 + i);
      }
      if (free) {
        return base;
      }
    }
    assumeTrue(false, "no free base port found");
    return -1;
  }
}
