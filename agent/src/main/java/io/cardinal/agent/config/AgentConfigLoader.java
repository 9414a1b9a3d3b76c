package io.cardinal.agent.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads the agent's YAML config. The tree is walked by hand (not bound to a class) so that every
 * error names the key and says what is expected; an unknown key is an error, not a silent no-op.
 */
public final class AgentConfigLoader {
  /** Node, supernode and job ids become path segments and log fields: keep them boring. */
  public static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  private static final Set<String> KEYS = Set.of("nodeId", "supernodeId", "servers", "dataDir",
      "peerAddress", "adminAddress", "checkpointApiAddress", "cards", "tiers", "token",
      "heartbeatIntervalMillis", "sessionTimeoutMillis", "keepCheckpoints", "killGraceMillis",
      "connectTimeoutMillis", "backoffMinMillis", "backoffMaxMillis", "resendAfterMillis",
      "shardTransferTimeoutMillis", "fsyncShards");
  private static final Set<String> CARD_KEYS = Set.of("count", "model", "memoryMib", "discover");

  private AgentConfigLoader() {}

  public static AgentConfig load(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new ConfigException("cannot read config " + file + ": " + e.getMessage());
    }
    return parse(text, file.toString());
  }

  public static AgentConfig parse(String yaml, String source) {
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(yaml);
    } catch (IOException e) {
      throw new ConfigException(source + ": not valid YAML: " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw new ConfigException(source + ": expected a YAML mapping of config keys");
    }
    checkKeys(root, KEYS, source, "");
    String nodeId = id(root, "nodeId", source);
    String supernodeId = id(root, "supernodeId", source);
    List<HostPort> servers = new ArrayList<>();
    JsonNode serversNode = root.get("servers");
    if (serversNode == null || !serversNode.isArray() || serversNode.isEmpty()) {
      throw new ConfigException(source + ": 'servers' must be a non-empty list of host:port "
          + "(the agent gateways of the server replicas)");
    }
    for (JsonNode s : serversNode) {
      servers.add(address(s.asText(), "servers", source));
    }
    String dataDir = string(root, "dataDir", null, source);
    if (dataDir == null || dataDir.isBlank()) {
      throw new ConfigException(source + ": 'dataDir' is required (where the outbox, checkpoints and logs live)");
    }
    HostPort peer = address(string(root, "peerAddress", "127.0.0.1:0", source), "peerAddress", source);
    String admin = string(root, "adminAddress", null, source);
    HostPort adminAddress = admin == null ? null : address(admin, "adminAddress", source);
    HostPort ckptApi = address(string(root, "checkpointApiAddress", "127.0.0.1:0", source),
        "checkpointApiAddress", source);
    if (!isLoopback(ckptApi.host())) {
      throw new ConfigException(source + ": 'checkpointApiAddress' must be a loopback address (workers "
          + "on this host only), got " + ckptApi);
    }
    if (adminAddress != null && !isLoopback(adminAddress.host())) {
      throw new ConfigException(source + ": 'adminAddress' must be a loopback address, got " + adminAddress);
    }
    AgentConfig.Cards cards = cards(root.get("cards"), source);
    List<String> tiers = new ArrayList<>();
    JsonNode tiersNode = root.get("tiers");
    if (tiersNode != null && !tiersNode.isNull()) {
      if (!tiersNode.isArray()) {
        throw new ConfigException(source + ": 'tiers' must be a list of strings (outermost first)");
      }
      for (JsonNode t : tiersNode) {
        if (!t.isTextual() || !ID.matcher(t.asText()).matches()) {
          throw new ConfigException(source + ": 'tiers' entries must be names of 1..128 of [A-Za-z0-9._-], got " + t);
        }
        tiers.add(t.asText());
      }
    }
    long heartbeatMillis = positive(root, "heartbeatIntervalMillis", 1000, source);
    long sessionTimeoutMillis = positive(root, "sessionTimeoutMillis", Math.max(3000, 5 * heartbeatMillis), source);
    if (sessionTimeoutMillis <= heartbeatMillis) {
      throw new ConfigException(source + ": 'sessionTimeoutMillis' (" + sessionTimeoutMillis
          + ") must exceed 'heartbeatIntervalMillis' (" + heartbeatMillis + ")");
    }
    long keep = positive(root, "keepCheckpoints", 3, source);
    if (keep > 1000) {
      throw new ConfigException(source + ": 'keepCheckpoints' must be at most 1000, got " + keep);
    }
    long backoffMin = positive(root, "backoffMinMillis", 100, source);
    long backoffMax = positive(root, "backoffMaxMillis", 2000, source);
    if (backoffMax < backoffMin) {
      throw new ConfigException(source + ": 'backoffMaxMillis' must be >= 'backoffMinMillis'");
    }
    JsonNode fsync = root.get("fsyncShards");
    return new AgentConfig(nodeId, supernodeId, servers, Path.of(dataDir), peer, adminAddress, ckptApi, cards,
        tiers, string(root, "token", "", source), heartbeatMillis, sessionTimeoutMillis, (int) keep,
        positive(root, "killGraceMillis", 2000, source), positive(root, "connectTimeoutMillis", 2000, source),
        backoffMin, backoffMax, positive(root, "resendAfterMillis", 5000, source),
        positive(root, "shardTransferTimeoutMillis", 120_000, source),
        fsync == null || fsync.asBoolean(true));
  }

  private static boolean isLoopback(String host) {
    return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
  }

  private static AgentConfig.Cards cards(JsonNode node, String source) {
    if (node == null || !node.isObject()) {
      throw new ConfigException(source + ": 'cards' is required: {count: 8, model: H100, memoryMib: 81920} "
          + "or {discover: true}");
    }
    checkKeys(node, CARD_KEYS, source, "cards.");
    boolean discover = node.path("discover").asBoolean(false);
    if (discover) {
      return new AgentConfig.Cards(0, "", 0, true);
    }
    JsonNode count = node.get("count");
    if (count == null || !count.canConvertToInt() || count.asInt() <= 0 || count.asInt() > 4096) {
      throw new ConfigException(source + ": 'cards.count' must be an integer in 1..4096");
    }
    String model = node.path("model").asText("");
    if (model.isBlank()) {
      throw new ConfigException(source + ": 'cards.model' is required with 'cards.count' (e.g. H100, 910B)");
    }
    long memoryMib = node.path("memoryMib").asLong(0);
    if (memoryMib < 0) {
      throw new ConfigException(source + ": 'cards.memoryMib' must be >= 0");
    }
    return new AgentConfig.Cards(count.asInt(), model, memoryMib, false);
  }

  private static void checkKeys(JsonNode node, Set<String> known, String source, String prefix) {
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      if (!known.contains(key)) {
        throw new ConfigException(source + ": unknown config key '" + prefix + key + "' (known keys: "
            + String.join(", ", known.stream().sorted().toList()) + ")");
      }
    }
  }

  private static String id(JsonNode root, String key, String source) {
    String v = string(root, key, null, source);
    if (v == null || !ID.matcher(v).matches()) {
      throw new ConfigException(source + ": '" + key + "' is required and must match " + ID.pattern()
          + (v == null ? "" : ", got '" + v + "'"));
    }
    return v;
  }

  private static String string(JsonNode root, String key, String dflt, String source) {
    JsonNode n = root.get(key);
    if (n == null || n.isNull()) {
      return dflt;
    }
    if (!n.isValueNode()) {
      throw new ConfigException(source + ": '" + key + "' must be a string");
    }
    return n.asText();
  }

  private static long positive(JsonNode root, String key, long dflt, String source) {
    JsonNode n = root.get(key);
    if (n == null || n.isNull()) {
      return dflt;
    }
    if (!n.canConvertToLong() || n.asLong() <= 0) {
      throw new ConfigException(source + ": '" + key + "' must be a positive integer, got '" + n.asText() + "'");
    }
    return n.asLong();
  }

  private static HostPort address(String text, String key, String source) {
    try {
      return HostPort.parse(text);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(source + ": '" + key + "': " + e.getMessage());
    }
  }

  /** A config error, with a message for people. */
  public static final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
      super(message);
    }
  }
}
