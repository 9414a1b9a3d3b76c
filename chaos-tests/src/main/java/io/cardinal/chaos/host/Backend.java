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

    /** Removes every network fault on every replica. */
    default void healNetwork() throws Exception {
    }

    /** Copies each replica's log into {@code dir}. */
    void collectLogs(Path dir) throws Exception;

    @Override
    void close();
}
