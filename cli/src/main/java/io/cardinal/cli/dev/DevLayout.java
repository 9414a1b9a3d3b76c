package io.cardinal.cli.dev;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.cardinal.cli.CliException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where a dev cluster's replicas live and listen, and their server.yaml files (docs/server-config.md). The
 * server.yaml files are the only record of a cluster: re-running `dev up` reads them back, so a restarted replica
 * gets the same addresses and data.
 */
public final class DevLayout {
  /** With --base-port P, replica i listens on P+i (raft), P+1000+i (http), P+2000+i (agent): 7001/8001/9001... */
  static final int HTTP_OFFSET = 1000;
  static final int AGENT_OFFSET = 2000;
  static final String HOST = "127.0.0.1";
  private static final ObjectMapper YAML = new YAMLMapper()
      .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
      .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES);

  private DevLayout() {}

  public static List<Replica> plan(Path dir, int replicas, Integer basePort) {
    if (replicas != 1 && replicas != 3 && replicas != 5) {
      throw CliException.invalid("--replicas must be 1, 3 or 5, got " + replicas);
    }
    Path root = dir.toAbsolutePath().normalize();
    List<Replica> plan = new ArrayList<>(replicas);
    if (basePort != null) {
      if (basePort < 1024 || basePort + AGENT_OFFSET + replicas - 1 > 65535) {
        throw CliException.invalid("--base-port must leave room for " + replicas + " replicas: 1024.."
            + (65535 - AGENT_OFFSET - replicas + 1) + ", got " + basePort);
      }
      for (int i = 0; i < replicas; i++) {
        String id = "n" + (i + 1);
        plan.add(new Replica(id, addr(basePort + i), addr(basePort + HTTP_OFFSET + i),
            addr(basePort + AGENT_OFFSET + i), root.resolve(id)));
      }
      List<String> busy = new ArrayList<>();
      for (Replica r : plan) {
        for (String a : List.of(r.raftAddress(), r.httpAddress(), r.agentAddress())) {
          if (!Ports.isFree(port(a))) {
            busy.add(port(a) + " (" + r.id() + ")");
          }
        }
      }
      if (!busy.isEmpty()) {
        throw CliException.invalid("ports in use: " + String.join(", ", busy)
            + "; pick another --base-port, or omit it to use free ports");
      }
      return List.copyOf(plan);
    }
    List<Integer> ports = Ports.free(replicas * 3);
    for (int i = 0; i < replicas; i++) {
      String id = "n" + (i + 1);
      plan.add(new Replica(id, addr(ports.get(3 * i)), addr(ports.get(3 * i + 1)), addr(ports.get(3 * i + 2)),
          root.resolve(id)));
    }
    return List.copyOf(plan);
  }

  /** The server.yaml of one replica: its id, data dir and every peer (all replicas get the same peer list). */
  public static String config(Replica self, List<Replica> all) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("id", self.id());
    doc.put("dataDir", self.dataDir().toString());
    List<Map<String, Object>> peers = new ArrayList<>();
    for (Replica r : all) {
      Map<String, Object> p = new LinkedHashMap<>();
      p.put("id", r.id());
      p.put("raftAddress", r.raftAddress());
      p.put("httpAddress", r.httpAddress());
      p.put("agentAddress", r.agentAddress());
      peers.add(p);
    }
    doc.put("peers", peers);
    try {
      return "# Written by 'cardinal dev up'; see docs/server-config.md.\n" + YAML.writeValueAsString(doc);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("maps of strings always serialize", e);
    }
  }

  public static void write(List<Replica> replicas) {
    for (Replica r : replicas) {
      try {
        Files.createDirectories(r.dataDir());
        Files.writeString(r.configFile(), config(r, replicas));
      } catch (IOException e) {
        throw CliException.invalid("cannot write " + r.configFile() + ": " + e.getMessage());
      }
    }
  }

  /** The replicas of an existing dev cluster in {@code dir}, read back from their server.yaml files. */
  public static Optional<List<Replica>> read(Path dir) {
    Path root = dir.toAbsolutePath().normalize();
    Path first = root.resolve("n1").resolve("server.yaml");
    if (!Files.isRegularFile(first)) {
      return Optional.empty();
    }
    JsonNode doc;
    try {
      doc = YAML.readTree(first.toFile());
    } catch (IOException e) {
      throw CliException.invalid("cannot read " + first + ": " + e.getMessage()
          + "; fix it or remove " + root + " to start afresh");
    }
    List<Replica> replicas = new ArrayList<>();
    for (JsonNode p : doc.path("peers")) {
      String id = p.path("id").asText("");
      if (!id.matches("[A-Za-z0-9._-]+")) {
        throw CliException.invalid(first + ": peer id " + p.path("id") + " is not a plain id");
      }
      replicas.add(new Replica(id, p.path("raftAddress").asText(), p.path("httpAddress").asText(),
          p.path("agentAddress").asText(), root.resolve(id)));
    }
    if (replicas.isEmpty()) {
      throw CliException.invalid(first + " lists no peers; remove " + root + " to start afresh");
    }
    return Optional.of(List.copyOf(replicas));
  }

  public static Replica find(List<Replica> replicas, String id) {
    for (Replica r : replicas) {
      if (r.id().equals(id)) {
        return r;
      }
    }
    List<String> ids = new ArrayList<>();
    replicas.forEach(r -> ids.add(r.id()));
    throw CliException.invalid("no replica " + id + " in this dev cluster (replicas: " + String.join(", ", ids) + ")");
  }

  public static String servers(List<Replica> replicas) {
    List<String> http = new ArrayList<>();
    replicas.forEach(r -> http.add(r.httpAddress()));
    return String.join(",", http);
  }

  static String addr(int port) {
    return HOST + ":" + port;
  }

  static int port(String address) {
    return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
  }
}
