package io.cardinal.chaos.host;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * Where the replicas run: each replica is its own host. Every backend can kill -9, restart, pause and resume a
 * replica; network faults (partitions, packet loss) need a backend where each host has its own address.
 * Every call is bounded in time.
 */
public interface Backend extends AutoCloseable {
    /** Fault kinds a backend supports. */
    String KILL = "kill";
    String PAUSE = "pause";
    String NETWORK = "network";
    /** Traffic shaping on a host's own interface (tc htb): {@link #slowLink}. */
    String SHAPE = "shape";
    /** Each replica's data dir on its own small filesystem (a loop-mounted ext4 image): {@link #stallDisk}, {@link #fillDisk}. */
    String DISK = "disk";
    /** Runs real node agents (cardinal-agent processes) connected to the replicas' agent gateways. */
    String AGENTS = "agents";
    /** Can cut one agent off from every replica ({@link #isolateAgent}). */
    String AGENT_NETWORK = "agent-network";

    String name();

    Set<String> capabilities();

    /** Replica ids, n1..nN. */
    List<String> ids();

    /** host:port of the replica's HTTP API, reachable from this JVM. */
    String httpAddress(String id);

    /** Starts all replicas (first call) with the given extra JVM system properties. */
    void startAll() throws Exception;

    /** (Re)starts a replica that was killed; its data dir is kept. */
    void start(String id) throws Exception;

    void kill9(String id) throws Exception;

    boolean running(String id);

    void pause(String id) throws Exception;

    void resume(String id) throws Exception;

    /** Drops every packet from {@code from} to {@code to} (one way). */
    default void block(String from, String to) throws Exception {
        throw new UnsupportedOperationException(name() + " backend has no network faults");
    }

    /** Drops a fraction of the packets a replica receives and sends. */
    default void loss(String id, double fraction) throws Exception {
        throw new UnsupportedOperationException(name() + " backend has no network faults");
    }

    /**
     * Limits what a replica sends to {@code rateKbit} behind a deep FIFO: packets queue, so they arrive late (and
     * bursts much later). This is the closest honest stand-in for added latency on a kernel without sch_netem.
     * Undone by {@link #healNetwork()}.
     */
    default void slowLink(String id, int rateKbit) throws Exception {
        throw new UnsupportedOperationException(name() + " backend has no traffic shaping");
    }

    /** What the shaping of {@link #slowLink} did so far (bytes, packets, drops, overlimits), or null. */
    default String linkStats(String id) throws Exception {
        return null;
    }

    /** Removes every network fault (rules and shaping) on every replica, and on every agent. */
    default void healNetwork() throws Exception {
    }

    /** Each replica's loop-mounted data dir when the backend was built with disk faults, else null. */
    default LoopDisks disks() {
        return null;
    }

    /** The blkio cgroup that holds the replica's processes, for {@link #stallDisk}. */
    default Path diskCgroup(String id) throws Exception {
        throw new UnsupportedOperationException(name() + " backend has no disk faults");
    }

    /** Throttles the block I/O of a replica to its data dir's device to about one write a second (a stalled disk). */
    default void stallDisk(String id) throws Exception {
        requireDisks().throttle(id, diskCgroup(id));
    }

    /** Fills a replica's data dir filesystem with a ballast file until only {@code leaveFreeMiB} MiB are free. */
    default void fillDisk(String id, long leaveFreeMiB) throws Exception {
        requireDisks().fill(id, leaveFreeMiB);
    }

    /**
     * Removes every disk fault (throttles and ballast files) on every replica; returns what the throttles held
     * back (for the history), or null when there was none.
     */
    default String healDisks() throws Exception {
        return disks() != null ? disks().heal() : null;
    }

    private LoopDisks requireDisks() {
        if (disks() == null) throw new UnsupportedOperationException(name() + " backend has no disk faults");
        return disks();
    }

    // ---- node agents (empty unless the backend was built with agents) ----------------------------------------

    /** Node ids of the agents (sn1-n1, sn1-n2, sn2-n1, ...), empty when the run has no agents. */
    default List<String> agentIds() {
        return List.of();
    }

    /** Cards each agent reports. */
    default int cardsPerAgent() {
        return 8;
    }

    /** Starts every agent (once the replicas have a leader); each registers its node through the gateway. */
    default void startAgents() throws Exception {
        if (!agentIds().isEmpty()) throw new UnsupportedOperationException(name() + " backend cannot run agents");
    }

    /** (Re)starts one agent with its data dir kept (so it finds the workers its predecessor left running). */
    default void startAgent(String nodeId) throws Exception {
        throw new UnsupportedOperationException(name() + " backend has no agents");
    }

    /** SIGKILL of the agent daemon only: its workers keep running, orphaned, as after a real daemon crash. */
    default void kill9Agent(String nodeId) throws Exception {
        throw new UnsupportedOperationException(name() + " backend has no agents");
    }

    default boolean agentRunning(String nodeId) {
        return false;
    }

    /** Drops every packet between the agent and every replica, both ways; {@link #healNetwork()} undoes it. */
    default void isolateAgent(String nodeId) throws Exception {
        throw new UnsupportedOperationException(name() + " backend cannot cut an agent off from the replicas: "
                + "its agents share one network stack with them (use --backend containers or netns)");
    }

    /** The agent's attempts.log ({@code <epochMillis> START|STOP <job> <attempt> <rank> <pid>}) as seen from here. */
    default Path attemptsLog(String nodeId) {
        throw new UnsupportedOperationException(name() + " backend has no agents");
    }

    /** Copies each replica's log into {@code dir}. */
    void collectLogs(Path dir) throws Exception;

    @Override
    void close();

    /** The "Sent ..." and "backlog ..." lines of {@code tc -s class show} output, joined into one line. */
    static String htbCounters(String tcOutput) {
        StringBuilder sb = new StringBuilder();
        for (String line : tcOutput.split("\n")) {
            String t = line.trim();
            if (t.startsWith("Sent") || t.startsWith("backlog")) sb.append(sb.length() > 0 ? " " : "").append(t);
        }
        return sb.toString();
    }
}
