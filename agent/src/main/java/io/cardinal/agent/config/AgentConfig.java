package io.cardinal.agent.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * The agent's configuration, validated. Built by {@link AgentConfigLoader} from YAML (or directly by
 * tests). Every duration is in milliseconds and says so in its name.
 */
public record AgentConfig(
    String nodeId,
    String supernodeId,
    List<HostPort> servers,
    Path dataDir,
    HostPort peerAddress,
    HostPort adminAddress,
    HostPort checkpointApiAddress,
    Cards cards,
    List<String> tiers,
    String token,
    long heartbeatIntervalMillis,
    long sessionTimeoutMillis,
    int keepCheckpoints,
    long killGraceMillis,
    long connectTimeoutMillis,
    long backoffMinMillis,
    long backoffMaxMillis,
    long resendAfterMillis,
    long shardTransferTimeoutMillis,
    boolean fsyncShards) {

  /** The simulated inventory (count, model, memoryMib) or discovery from nvidia-smi / npu-smi. */
  public record Cards(int count, String model, long memoryMib, boolean discover) {
    public Cards {
      Objects.requireNonNull(model, "model");
    }
  }

  public AgentConfig {
    Objects.requireNonNull(nodeId, "nodeId");
    Objects.requireNonNull(supernodeId, "supernodeId");
    servers = List.copyOf(servers);
    Objects.requireNonNull(dataDir, "dataDir");
    Objects.requireNonNull(peerAddress, "peerAddress");
    Objects.requireNonNull(checkpointApiAddress, "checkpointApiAddress");
    Objects.requireNonNull(cards, "cards");
    tiers = List.copyOf(tiers);
    token = token == null ? "" : token;
  }

  /** Defaults for everything but identity, servers, data dir and cards; for tests and the loader. */
  public static AgentConfig of(String nodeId, String supernodeId, List<HostPort> servers, Path dataDir,
      Cards cards) {
    return new AgentConfig(nodeId, supernodeId, servers, dataDir, new HostPort("127.0.0.1", 0), null,
        new HostPort("127.0.0.1", 0), cards, List.of(), "", 1000, 5000, 3, 2000, 2000, 100, 2000, 5000,
        120_000, true);
  }

  public AgentConfig withHeartbeatIntervalMillis(long heartbeatMillis, long sessionTimeoutMillis) {
    return new AgentConfig(nodeId, supernodeId, servers, dataDir, peerAddress, adminAddress,
        checkpointApiAddress, cards, tiers, token, heartbeatMillis, sessionTimeoutMillis, keepCheckpoints,
        killGraceMillis, connectTimeoutMillis, backoffMinMillis, backoffMaxMillis, resendAfterMillis,
        shardTransferTimeoutMillis, fsyncShards);
  }

  public AgentConfig withServers(List<HostPort> newServers) {
    return new AgentConfig(nodeId, supernodeId, newServers, dataDir, peerAddress, adminAddress,
        checkpointApiAddress, cards, tiers, token, heartbeatIntervalMillis, sessionTimeoutMillis,
        keepCheckpoints, killGraceMillis, connectTimeoutMillis, backoffMinMillis, backoffMaxMillis,
        resendAfterMillis, shardTransferTimeoutMillis, fsyncShards);
  }

  public AgentConfig withAdminAddress(HostPort admin) {
    return new AgentConfig(nodeId, supernodeId, servers, dataDir, peerAddress, admin,
        checkpointApiAddress, cards, tiers, token, heartbeatIntervalMillis, sessionTimeoutMillis,
        keepCheckpoints, killGraceMillis, connectTimeoutMillis, backoffMinMillis, backoffMaxMillis,
        resendAfterMillis, shardTransferTimeoutMillis, fsyncShards);
  }

  public AgentConfig withKeepCheckpoints(int keep) {
    return new AgentConfig(nodeId, supernodeId, servers, dataDir, peerAddress, adminAddress,
        checkpointApiAddress, cards, tiers, token, heartbeatIntervalMillis, sessionTimeoutMillis,
        keep, killGraceMillis, connectTimeoutMillis, backoffMinMillis, backoffMaxMillis,
        resendAfterMillis, shardTransferTimeoutMillis, fsyncShards);
  }
}
