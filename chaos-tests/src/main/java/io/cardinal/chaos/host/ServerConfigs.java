package io.cardinal.chaos.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** The YAML config of one replica (docs/server-config.md). */
final class ServerConfigs {
    private ServerConfigs() {
    }

    /** Ports of a replica or an agent on a host of its own (a container or a network namespace, its own address). */
    static final int RAFT_PORT = 7000;
    static final int HTTP_PORT = 8000;
    static final int AGENT_GATEWAY_PORT = 9000;
    static final int AGENT_PEER_PORT = 7100;

    /**
     * The peers of replicas that each have an address of their own ({@code ips}: id -> address), on the ports above:
     * id -> {raftAddress, httpAddress}, plus the agent gateway's address when the run has agents.
     */
    static Map<String, List<String>> peersAt(Map<String, String> ips, boolean agentGateways) {
        Map<String, List<String>> peers = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : ips.entrySet()) {
            String a = e.getValue();
            peers.put(e.getKey(), agentGateways
                    ? List.of(a + ":" + RAFT_PORT, a + ":" + HTTP_PORT, a + ":" + AGENT_GATEWAY_PORT)
                    : List.of(a + ":" + RAFT_PORT, a + ":" + HTTP_PORT));
        }
        return peers;
    }

    /**
     * Writes {@code agent.yaml} into {@code agentDir(node)} for each agent ({@code agentIps}: node id -> its own
     * address) with the replicas' gateways as its servers; {@code dataDirAsSeen}: the agent's data dir as the agent
     * process sees it, given its directory here.
     */
    static void writeAgentConfigs(Map<String, String> agentIps, Collection<String> replicaIps, int cards,
                                  Function<String, Path> agentDir, Function<Path, String> dataDirAsSeen) throws IOException {
        List<String> gateways = new ArrayList<>();
        for (String ip : replicaIps) gateways.add(ip + ":" + AGENT_GATEWAY_PORT);
        for (Map.Entry<String, String> a : agentIps.entrySet()) {
            Path d = agentDir.apply(a.getKey());
            Files.createDirectories(d);
            Files.writeString(d.resolve("agent.yaml"), agentYaml(a.getKey(), supernodeOf(a.getKey()), cards, gateways,
                    dataDirAsSeen.apply(d), a.getValue() + ":" + AGENT_PEER_PORT, null));
        }
    }

    /** {@code peers}: id -> {raftAddress, httpAddress} or {raftAddress, httpAddress, agentAddress} (agent gateway). */
    static String yaml(String id, String dataDir, Map<String, List<String>> peers) {
        StringBuilder y = new StringBuilder();
        y.append("id: ").append(id).append('\n');
        y.append("dataDir: ").append(dataDir).append('\n');
        y.append("peers:\n");
        for (Map.Entry<String, List<String>> e : peers.entrySet()) {
            y.append("  - {id: ").append(e.getKey()).append(", raftAddress: ").append(e.getValue().get(0))
                    .append(", httpAddress: ").append(e.getValue().get(1))
                    .append(e.getValue().size() > 2 ? ", agentAddress: " + e.getValue().get(2) : "").append("}\n");
        }
        y.append("snapshotEveryEntries: 2000\n");
        // With agents: a lost node's jobs restart elsewhere only once it is heard again or 60 s after it was last heard.
        // A cut-off agent fences itself within the lease (the servers' default, 12 s, suffices for agent-partition), but
        // a crashed agent's orphaned workers run until it restarts, which under load took 17 s (docs/server-config.md).
        if (peers.values().stream().anyMatch(p -> p.size() > 2)) y.append("lostNodeHoldMillis: ").append(LOST_NODE_HOLD_MILLIS).append('\n');
        return y.toString();
    }

    /** The server classpath: -Dcardinal.server.classpath, else dist/target/cardinal/lib under cardinal.home, else ours. */
    static String serverClasspath() {
        String cp = System.getProperty("cardinal.server.classpath");
        if (cp != null) return cp;
        String home = System.getProperty("cardinal.home");
        if (home != null && Files.isDirectory(Path.of(home, "dist", "target", "cardinal", "lib"))) {
            return Path.of(home, "dist", "target", "cardinal", "lib").toAbsolutePath() + "/*";
        }
        return System.getProperty("java.class.path");
    }

    /**
     * The YAML config of one agent (agent/README.md): {@code servers} are the replicas' agent gateways. Heartbeats
     * follow the server's TTL (its Welcome says how often).
     */
    static String agentYaml(String nodeId, String supernodeId, int cards, List<String> servers, String dataDir, String peerAddress,
                            String adminAddress) {
        StringBuilder y = new StringBuilder();
        y.append("nodeId: ").append(nodeId).append('\n');
        y.append("supernodeId: ").append(supernodeId).append('\n');
        y.append("servers:\n");
        for (String s : servers) y.append("  - ").append(s).append('\n');
        y.append("dataDir: ").append(dataDir).append('\n');
        y.append("peerAddress: ").append(peerAddress).append('\n');
        if (adminAddress != null) y.append("adminAddress: ").append(adminAddress).append('\n');
        y.append("cards: {count: ").append(cards).append(", model: H100, memoryMib: 81920}\n");
        return y.toString();
    }

    /** Node id of agent {@code n} (0-based): two nodes per supernode, sn1-n1, sn1-n2, sn2-n1, ... (the workload's names). */
    static String agentNodeId(int n) {
        return "sn" + (1 + n / 2) + "-n" + (1 + n % 2);
    }

    static String supernodeOf(String nodeId) {
        return nodeId.substring(0, nodeId.indexOf('-'));
    }

    /** -Dcardinal.chaos.lostNodeHoldMillis=N overrides it; 0 turns the hold and the agents' lease off, to show what they prevent. */
    static final long LOST_NODE_HOLD_MILLIS = Long.getLong("cardinal.chaos.lostNodeHoldMillis", 60_000);

    static final List<String> AGENT_JVM_FLAGS = List.of("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
            "-Xshare:auto");

    static final List<String> JVM_FLAGS = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Xshare:auto", "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "-Dchronicle.analytics.disable=true");
}
