package io.cardinal.server.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.cardinal.protocol.v1.Member;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The cardinal-server YAML config (docs/server-config.md). Unknown keys and bad values are errors naming the key. */
public final class ServerConfig {
    public static final class Peer {
        @JsonProperty(required = true) public String id;
        @JsonProperty(required = true) public String raftAddress;
        @JsonProperty(required = true) public String httpAddress;
        public String agentAddress = "";
    }

    @JsonProperty(required = true) public String id;
    @JsonProperty(required = true) public String dataDir;
    @JsonProperty(required = true) public List<Peer> peers;
    public long snapshotEveryEntries = 10_000;
    public long heartbeatTtlMillis = 3_000;
    /**
     * Default lease in heartbeat TTLs (12 s at the default TTL). It must outlast a leader failover as the agents see it
     * (their 5 s session timeout, a reconnect and the first ack) plus their kill grace (2 s) and fence margin (1 s),
     * or every leader pause would kill healthy workers; 2 x TTL (6 s) would fence agents 3 s after their last ack.
     */
    public static final long DEFAULT_LEASE_TTLS = 4;
    /** Longest lease accepted: a node's jobs of a truly dead node wait this long before they run elsewhere. */
    public static final long MAX_LOST_NODE_HOLD_MILLIS = 3_600_000;
    /**
     * The node lease. After a node is declared lost, restarts of its jobs elsewhere wait until it is heard again or
     * this long after it was last heard: its agent may be cut off or crashed with workers still running. Every agent
     * is told this value in its Welcome and kills its own workers before it runs out without a heartbeat ack, so a
     * cut-off node's old attempt is gone before the new one starts. Unset: {@link #DEFAULT_LEASE_TTLS} x
     * heartbeatTtlMillis. 0: no hold and no agent lease (unsafe under partitions).
     */
    public Long lostNodeHoldMillis;
    public long minFreeDiskMiB = 64;
    public int electionTimeoutMinMillis = 500;
    /**
     * Ratis' follower sleeps a whole random timeout (min..max) and only then checks how long the leader has been
     * silent, so noticing a dead leader takes one to two timeouts: up to about 2 x max. 750 (not 1000) brought the
     * failover p99 from 2.9 s to 1.9 s in an A/B run (docs/benchmarks.md, round 6), but a quiet run at 750 still had
     * one kill of 29 at 2.04 s: the worst case (kill + 2 x max + vote + first commit) sat right at the 2 s target.
     * 650 takes 200 ms off it (round 7); min stays 500, so a leader still has to be silent for at least 500 ms before
     * anyone stands, and the 150 ms spread keeps split votes rare among 3 to 5 replicas.
     */
    public int electionTimeoutMaxMillis = 650;
    public long readTimeoutMillis = 5_000;
    /**
     * How long a write that reaches a replica during an election waits for a ready leader before a 503 (default:
     * two maximum election timeouts plus the new leader's first commit).
     */
    public long leaderWaitMillis = 3_000;
    public long logSegmentSizeKiB = 8192;
    public String placementPolicy = "cardinal";
    /**
     * Spare lending in the controller: a waiting job that fits only with a supernode's spare cards runs on them,
     * marked lent, and is evicted back to the queue when a replacement needs those cards. Off by default: then
     * every placement and replacement is as without lending (spares stay idle until a restart takes them).
     */
    public boolean lendSpares = false;

    public static ServerConfig load(Path file) throws ConfigException {
        if (!Files.isRegularFile(file)) throw new ConfigException("config file " + file + " does not exist");
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory()).enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
        ServerConfig c;
        try {
            c = yaml.readValue(file.toFile(), ServerConfig.class);
        } catch (UnrecognizedPropertyException e) {
            throw new ConfigException(file + ": unknown key \"" + e.getPropertyName() + "\" at " + path(e)
                    + " (known: " + e.getKnownPropertyIds() + ")");
        } catch (JsonMappingException e) {
            throw new ConfigException(file + ": " + path(e) + ": " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage());
        }
        if (c == null) throw new ConfigException(file + " is empty");
        c.validate(file);
        return c;
    }

    private static String path(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) sb.append(sb.length() == 0 ? "" : ".").append(r.getFieldName());
            else sb.append('[').append(r.getIndex()).append(']');
        }
        return sb.length() == 0 ? "(top level)" : sb.toString();
    }

    private void validate(Path file) throws ConfigException {
        if (peers == null || peers.isEmpty()) throw new ConfigException(file + ": peers: at least one peer");
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < peers.size(); i++) {
            Peer p = peers.get(i);
            if (p.id == null || !p.id.matches("[A-Za-z0-9._-]{1,64}")) throw new ConfigException(file + ": peers[" + i + "].id: 1..64 of [A-Za-z0-9._-]");
            if (!ids.add(p.id)) throw new ConfigException(file + ": peers[" + i + "].id: duplicate id " + p.id);
            checkAddress(file, "peers[" + i + "].raftAddress", p.raftAddress);
            checkAddress(file, "peers[" + i + "].httpAddress", p.httpAddress);
            if (p.agentAddress != null && !p.agentAddress.isEmpty()) checkAddress(file, "peers[" + i + "].agentAddress", p.agentAddress);
        }
        if (!ids.contains(id)) throw new ConfigException(file + ": id: \"" + id + "\" is not one of the peers " + ids);
        if (snapshotEveryEntries < 1) throw new ConfigException(file + ": snapshotEveryEntries: must be >= 1");
        if (heartbeatTtlMillis < 100) throw new ConfigException(file + ": heartbeatTtlMillis: must be >= 100");
        if (lostNodeHoldMillis == null) lostNodeHoldMillis = DEFAULT_LEASE_TTLS * heartbeatTtlMillis;
        if (lostNodeHoldMillis != 0 && (lostNodeHoldMillis <= heartbeatTtlMillis || lostNodeHoldMillis > MAX_LOST_NODE_HOLD_MILLIS)) {
            throw new ConfigException(file + ": lostNodeHoldMillis: must be 0 (no lease) or above heartbeatTtlMillis ("
                    + heartbeatTtlMillis + ") and at most " + MAX_LOST_NODE_HOLD_MILLIS + ", got " + lostNodeHoldMillis
                    + " (a lease within the TTL would let a node be declared lost and its work restarted while it "
                    + "still counts itself leased; default: " + DEFAULT_LEASE_TTLS + " x heartbeatTtlMillis)");
        }
        if (minFreeDiskMiB < 0) throw new ConfigException(file + ": minFreeDiskMiB: must be >= 0");
        if (electionTimeoutMinMillis < 50 || electionTimeoutMaxMillis <= electionTimeoutMinMillis) {
            throw new ConfigException(file + ": electionTimeoutMinMillis/electionTimeoutMaxMillis: need 50 <= min < max");
        }
        if (logSegmentSizeKiB < 16) throw new ConfigException(file + ": logSegmentSizeKiB: must be >= 16");
        if (!io.cardinal.allocator.policy.Policies.NAMES.contains(placementPolicy)) {
            throw new ConfigException(file + ": placementPolicy: one of " + io.cardinal.allocator.policy.Policies.NAMES + ", got " + placementPolicy);
        }
        if (readTimeoutMillis < 100) throw new ConfigException(file + ": readTimeoutMillis: must be >= 100");
        if (leaderWaitMillis < 0 || leaderWaitMillis > 60_000) throw new ConfigException(file + ": leaderWaitMillis: must be 0..60000");
    }

    private static void checkAddress(Path file, String key, String a) throws ConfigException {
        if (a == null || !a.matches("[^:\\s]+:\\d{1,5}")) throw new ConfigException(file + ": " + key + ": must be host:port, got " + a);
        int port = Integer.parseInt(a.substring(a.lastIndexOf(':') + 1));
        if (port < 1 || port > 65535) throw new ConfigException(file + ": " + key + ": port out of range: " + port);
    }

    public Peer self() {
        return peers.stream().filter(p -> p.id.equals(id)).findFirst().orElseThrow();
    }

    public List<Member> members() {
        List<Member> out = new ArrayList<>();
        for (Peer p : peers) {
            out.add(Member.newBuilder().setId(p.id).setRaftAddress(p.raftAddress).setHttpAddress(p.httpAddress)
                    .setAgentAddress(p.agentAddress == null ? "" : p.agentAddress).build());
        }
        return out;
    }

    /** A config that cannot be used; the message says which key and why. */
    public static final class ConfigException extends Exception {
        public ConfigException(String message) {
            super(message);
        }
    }
}
