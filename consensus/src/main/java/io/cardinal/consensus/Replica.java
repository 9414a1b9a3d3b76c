package io.cardinal.consensus;

import com.fasterxml.jackson.databind.JsonNode;
import io.cardinal.allocator.policy.PlacementPolicy;
import io.cardinal.protocol.v1.Command;
import io.cardinal.protocol.v1.EventBatch;
import io.cardinal.protocol.v1.Member;
import io.cardinal.protocol.v1.Query;
import io.cardinal.protocol.v1.Reply;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * One Cardinal replica: a Ratis server (gRPC transport, fsync on) running {@link CardinalStateMachine}, the
 * leader's {@link ControllerService}, a Raft client for admin operations and one for read barriers. This is the
 * only class the server daemon needs from consensus.
 */
public final class Replica implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Replica.class);
    /** Every Cardinal cluster uses one Raft group. */
    public static final RaftGroupId GROUP_ID = RaftGroupId.valueOf(UUID.nameUUIDFromBytes("cardinal".getBytes(StandardCharsets.UTF_8)));

    /** How this replica runs. */
    public record Settings(String id, Path dataDir, List<Member> peers, long snapshotEveryEntries,
                           int electionTimeoutMinMillis, int electionTimeoutMaxMillis, long minFreeDiskMiB,
                           long readTimeoutMillis, long logSegmentSizeKiB) {
        public Settings {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(dataDir, "dataDir");
            peers = List.copyOf(peers);
            if (peers.stream().noneMatch(p -> p.getId().equals(id))) {
                throw new IllegalArgumentException("peers must include this replica's id " + id);
            }
            if (logSegmentSizeKiB < 16) throw new IllegalArgumentException("logSegmentSizeKiB must be >= 16");
            if (snapshotEveryEntries < 1) throw new IllegalArgumentException("snapshotEveryEntries must be >= 1");
            if (electionTimeoutMinMillis < 50 || electionTimeoutMaxMillis <= electionTimeoutMinMillis) {
                throw new IllegalArgumentException("election timeouts: need 50 <= min < max, got " + electionTimeoutMinMillis
                        + ".." + electionTimeoutMaxMillis);
            }
        }

        public Member self() {
            return peers.stream().filter(p -> p.getId().equals(id)).findFirst().orElseThrow();
        }
    }

    private final Settings settings;
    private final CardinalStateMachine stateMachine;
    private final ControllerService controller;
    private final RaftServer server;
    private final RaftClient client;
    /**
     * Only read barriers go through this client. Ratis' async client orders every request of one client in a sliding
     * window; barriers (sent to whoever leads) mixed with requests aimed at one server stalled each other for the 5 s
     * request timeout in the read benchmark.
     */
    private final RaftClient barrierClient;
    private final RaftPeerId peerId;
    private final ReadBarrier readBarrier;
    /**
     * Runs confirmed reads off the apply thread (which completes their wait). Bounded: when full, a read is dropped
     * and its caller gets the read timeout; the apply thread that hands it over must never see an exception.
     */
    private final ThreadPoolExecutor readExecutor = new ThreadPoolExecutor(2, 2, 0, TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(MAX_QUEUED_READS), r -> {
                Thread t = new Thread(r, "cardinal-reads");
                t.setDaemon(true);
                return t;
            }, (task, pool) -> LOG.warn("{} reads queued; one more is dropped and will time out", MAX_QUEUED_READS));
    static final int MAX_QUEUED_READS = 10_000;
    /** The log entry of a read barrier: an event batch with no events, which apply treats as a no-op. */
    private static final Message BARRIER = Message.valueOf(ByteString.copyFrom(EventBatch.newBuilder()
            .setSchemaVersion(io.cardinal.state.apply.Applier.SCHEMA_VERSION).setCommandKind("READ_BARRIER").build().toByteArray()));

    private Replica(Settings settings, CardinalStateMachine sm, ControllerService controller, RaftServer server,
                    RaftClient client, RaftClient barrierClient) {
        this.settings = settings;
        this.stateMachine = sm;
        this.controller = controller;
        this.server = server;
        this.client = client;
        this.barrierClient = barrierClient;
        this.peerId = RaftPeerId.valueOf(settings.id());
        this.readBarrier = new ReadBarrier(() -> barrierClient.async().send(BARRIER).handle((r, ex) -> {
            if (ex != null || !r.isSuccess()) {
                Throwable why = ex != null ? ex : r.getException();
                throw new ReadUnavailableException("the read barrier was not committed: " + why, why);
            }
            return r.getLogIndex();
        }));
    }

    public static Replica start(Settings s, Supplier<PlacementPolicy> policy, FatalHandler fatal) throws IOException {
        return start(s, policy, false, fatal);
    }

    /** {@code lendSpares}: the server config switch of the same name, passed to every controller this replica runs. */
    public static Replica start(Settings s, Supplier<PlacementPolicy> policy, boolean lendSpares, FatalHandler fatal) throws IOException {
        Files.createDirectories(s.dataDir());
        Path raftDir = s.dataDir().resolve("raft");
        boolean existing = Files.isDirectory(raftDir.resolve(GROUP_ID.getUuid().toString()));
        RaftProperties p = properties(s, raftDir);
        ControllerService controller = new ControllerService(policy, lendSpares, s::peers, s.dataDir(), s.minFreeDiskMiB() << 20);
        CardinalStateMachine sm = new CardinalStateMachine(fatal, controller);
        RaftGroup group = RaftGroup.valueOf(GROUP_ID, raftPeers(s.peers()));
        RaftServer server = RaftServer.newBuilder().setServerId(RaftPeerId.valueOf(s.id())).setGroup(group)
                .setStateMachine(sm).setProperties(p)
                .setOption(existing ? RaftStorage.StartupOption.RECOVER : RaftStorage.StartupOption.FORMAT).build();
        server.start();
        controller.attach(server, GROUP_ID, RaftPeerId.valueOf(s.id()), sm);
        LOG.info("replica {} started ({} storage at {})", s.id(), existing ? "recovered" : "new", raftDir);
        return new Replica(s, sm, controller, server, newClient(group), newClient(group));
    }

    private static RaftProperties properties(Settings s, Path raftDir) {
        RaftProperties p = new RaftProperties();
        RaftConfigKeys.Rpc.setType(p, SupportedRpcType.GRPC);
        GrpcConfigKeys.Server.setPort(p, port(s.self().getRaftAddress()));
        RaftServerConfigKeys.setStorageDir(p, List.of(raftDir.toFile()));
        RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(s.electionTimeoutMinMillis(), TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(s.electionTimeoutMaxMillis(), TimeUnit.MILLISECONDS));
        // fsync on: the log is forced before an entry counts towards a majority.
        RaftServerConfigKeys.Log.setUnsafeFlushEnabled(p, false);
        // The log is purged by whole closed segments: small segments let a snapshot free the log behind it sooner.
        RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf(s.logSegmentSizeKiB() + "KB"));
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
        RaftServerConfigKeys.Log.setPurgeGap(p, (int) Math.min(1024, s.snapshotEveryEntries()));
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, s.snapshotEveryEntries());
        RaftServerConfigKeys.Snapshot.setCreationGap(p, Math.min(1024, s.snapshotEveryEntries()));
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
        RaftServerConfigKeys.Log.Appender.setInstallSnapshotEnabled(p, true);
        // Ratis' default backs off to 5 s between tries once a follower has been down for ~30 tries, and an
        // INCONSISTENCY reply counts as one, so a follower coming back would crawl. Retry every 200 ms instead.
        RaftServerConfigKeys.Log.Appender.setRetryPolicy(p, "1ms,10, 50ms,20, 200ms,100000000");
        // Linearizable reads do not use Ratis' read index (a deposed leader can pass it): see ReadBarrier.
        RaftServerConfigKeys.setSleepDeviationThreshold(p, TimeDuration.valueOf(2000, TimeUnit.MILLISECONDS));
        return p;
    }

    private static RaftClient newClient(RaftGroup group) {
        return RaftClient.newBuilder().setRaftGroup(group).setProperties(clientProperties())
                .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(20, TimeDuration.valueOf(200, TimeUnit.MILLISECONDS)))
                .build();
    }

    private static RaftProperties clientProperties() {
        RaftProperties p = new RaftProperties();
        RaftConfigKeys.Rpc.setType(p, SupportedRpcType.GRPC);
        org.apache.ratis.client.RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(5, TimeUnit.SECONDS));
        return p;
    }

    static List<RaftPeer> raftPeers(List<Member> members) {
        List<RaftPeer> out = new ArrayList<>();
        for (Member m : members) out.add(RaftPeer.newBuilder().setId(m.getId()).setAddress(m.getRaftAddress()).build());
        return out;
    }

    static int port(String hostPort) {
        int i = hostPort.lastIndexOf(':');
        if (i < 0) throw new IllegalArgumentException("address must be host:port, got " + hostPort);
        return Integer.parseInt(hostPort.substring(i + 1));
    }

    // ---- writes ----------------------------------------------------------------------------------------------

    public ControllerService controller() {
        return controller;
    }

    public CompletableFuture<Reply> submit(Command command) {
        return controller.submit(command);
    }

    // ---- reads -----------------------------------------------------------------------------------------------

    /**
     * Runs a query on this replica. Unless {@code stale}, it is linearizable: it waits for a read barrier committed
     * through the log after the call (see {@link ReadBarrier}), then for this replica to apply up to it, and reads the
     * local state. A stale read answers from the local state at once.
     */
    public CompletableFuture<JsonNode> query(Query q, boolean stale) {
        // TEST ONLY (chaos suite, -Dcardinal.injectBug): stale-read serves every read from local state, no barrier.
        if (io.cardinal.state.InjectedBugs.on("stale-read")) stale = true;
        CompletableFuture<Void> readable = stale ? CompletableFuture.completedFuture(null)
                : readBarrier.confirm().thenCompose(stateMachine::awaitApplied);
        return readable.<JsonNode>thenApplyAsync(v -> {
                    try {
                        return stateMachine.queryLocal(q);
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                }, readExecutor)
                .orTimeout(settings.readTimeoutMillis(), TimeUnit.MILLISECONDS)
                .exceptionally(ex -> {
                    Throwable e = ex instanceof java.util.concurrent.CompletionException && ex.getCause() != null ? ex.getCause() : ex;
                    if (e instanceof ReadUnavailableException u) throw u;
                    if (e instanceof TimeoutException) {
                        throw new ReadUnavailableException("the read was not confirmed within " + settings.readTimeoutMillis() + " ms", e);
                    }
                    throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
                });
    }

    /** How many read barriers this replica has appended (one per batch of concurrent linearizable reads). */
    public long readBarriersSent() {
        return readBarrier.barriersSent();
    }

    public CardinalStateMachine stateMachine() {
        return stateMachine;
    }

    // ---- status and admin ------------------------------------------------------------------------------------

    public String id() {
        return settings.id();
    }

    public Settings settings() {
        return settings;
    }

    private RaftServer.Division division() throws IOException {
        return server.getDivision(GROUP_ID);
    }

    public String role() {
        try {
            return division().getInfo().getCurrentRole().name();
        } catch (IOException | RuntimeException e) {
            return "STARTING";
        }
    }

    public String leaderId() {
        try {
            RaftPeerId l = division().getInfo().getLeaderId();
            return l == null ? null : l.toString();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    public long term() {
        try {
            return division().getInfo().getCurrentTerm();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    public long commitIndex() {
        try {
            return division().getRaftLog().getLastCommittedIndex();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** The Raft configuration's peers (may differ from the replicated member list while a change is under way). */
    public List<String> raftPeerIds() {
        try {
            List<String> ids = new ArrayList<>();
            for (RaftPeer peer : division().getGroup().getPeers()) ids.add(peer.getId().toString());
            return ids;
        } catch (IOException e) {
            return List.of();
        }
    }

    /** Changes the voting members to exactly {@code members} (joint consensus inside Ratis). */
    public void setMembers(List<Member> members) throws IOException {
        RaftClientReply r = client.admin().setConfiguration(raftPeers(members));
        if (!r.isSuccess()) throw new IOException("membership change failed: " + r.getException());
    }

    public void transferLeadership(String to, long timeoutMillis) throws IOException {
        RaftClientReply r = client.admin().transferLeadership(RaftPeerId.valueOf(to), timeoutMillis);
        if (!r.isSuccess()) throw new IOException("leadership transfer to " + to + " failed: " + r.getException());
    }

    /** Takes a snapshot of this replica now; returns its index. */
    public long takeSnapshot(long timeoutMillis) throws IOException {
        RaftClientReply r = client.getSnapshotManagementApi(peerId).create(true, timeoutMillis);
        if (!r.isSuccess()) throw new IOException("snapshot failed: " + r.getException());
        return r.getLogIndex();
    }

    public File dataDir() {
        return settings.dataDir().toFile();
    }

    @Override
    public void close() throws IOException {
        controller.close();
        readExecutor.shutdownNow();
        try {
            client.close();
            barrierClient.close();
        } finally {
            server.close();
        }
    }
}
