package io.cardinal.consensus;

import io.cardinal.allocator.policy.PlacementPolicy;
import io.cardinal.protocol.v1.Command;
import io.cardinal.protocol.v1.EventBatch;
import io.cardinal.protocol.v1.Member;
import io.cardinal.protocol.v1.Reply;
import io.cardinal.protocol.v1.SetMembers;
import io.cardinal.state.ClusterState;
import io.cardinal.state.apply.Applier;
import io.cardinal.state.controller.CommandResult;
import io.cardinal.state.controller.Controller;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Runs the {@link Controller} on one thread while this replica leads. Commands are handled strictly one at a
 * time, and each command's events are submitted to the local Raft server from this same thread, so the log order
 * is the order in which the controller decided. A reply completes only after its entry is committed and applied
 * here; a command that wrote nothing still waits for the entries before it, so it never reveals uncommitted state.
 */
public final class ControllerService implements CardinalStateMachine.LeaderHooks, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControllerService.class);
    /** Commands waiting for the controller thread; beyond this the API answers 503 at once. */
    public static final int MAX_QUEUED_COMMANDS = 10_000;
    /** How long a resync waits for in-flight entries to settle before giving up the leadership's controller. */
    private static final long RESYNC_WAIT_MILLIS = 10_000;

    private sealed interface Task permits Start, Stop, Cmd {
    }

    private record Start(ClusterState committed, long term) implements Task {
    }

    private record Stop() implements Task {
    }

    private record Cmd(Command command, CompletableFuture<Reply> reply) implements Task {
    }

    private final LinkedBlockingDeque<Task> queue = new LinkedBlockingDeque<>();
    private final Supplier<PlacementPolicy> policy;
    private final boolean lendSpares;
    private final Supplier<List<Member>> configuredMembers;
    private final Path dataDir;
    private final long minFreeDiskBytes;
    private final ClientId clientId = ClientId.randomId();
    private final AtomicLong callId = new AtomicLong();
    private final Thread thread;
    private volatile RaftServer server;
    private volatile RaftGroupId groupId;
    private volatile RaftPeerId peerId;
    private volatile CardinalStateMachine stateMachine;
    private volatile boolean ready;
    private volatile boolean needsResync;
    private volatile boolean running = true;
    // Owned by the controller thread.
    private Controller controller;
    private CompletableFuture<?> lastWrite = CompletableFuture.completedFuture(null);

    public ControllerService(Supplier<PlacementPolicy> policy, Supplier<List<Member>> configuredMembers, Path dataDir,
                             long minFreeDiskBytes) {
        this(policy, false, configuredMembers, dataDir, minFreeDiskBytes);
    }

    /** {@code lendSpares}: the server config switch, given to each {@link Controller} (see there). */
    public ControllerService(Supplier<PlacementPolicy> policy, boolean lendSpares, Supplier<List<Member>> configuredMembers,
                             Path dataDir, long minFreeDiskBytes) {
        this.policy = policy;
        this.lendSpares = lendSpares;
        this.configuredMembers = configuredMembers;
        this.dataDir = dataDir;
        this.minFreeDiskBytes = minFreeDiskBytes;
        this.thread = new Thread(this::run, "controller");
        this.thread.setDaemon(true);
    }

    void attach(RaftServer server, RaftGroupId groupId, RaftPeerId peerId, CardinalStateMachine sm) {
        this.server = server;
        this.groupId = groupId;
        this.peerId = peerId;
        this.stateMachine = sm;
        thread.start();
    }

    /** True while this replica leads and its controller is running. */
    public boolean ready() {
        return ready;
    }

    /** Queues a command; the future completes with the reply once its events are applied (or it failed). */
    public CompletableFuture<Reply> submit(Command command) {
        CompletableFuture<Reply> f = new CompletableFuture<>();
        if (!ready) {
            f.complete(error("not_leader", "this replica is not the leader"));
        } else if (queue.size() >= MAX_QUEUED_COMMANDS) {
            f.complete(error("unavailable", "the controller has " + MAX_QUEUED_COMMANDS + " commands queued; retry later"));
        } else {
            queue.offerLast(new Cmd(command, f));
        }
        return f;
    }

    @Override
    public void leaderReady(ClusterState committed, long term) {
        queue.offerLast(new Start(committed, term));
    }

    @Override
    public void notLeader() {
        ready = false;
        queue.offerFirst(new Stop());
    }

    private void run() {
        while (running) {
            Task t;
            try {
                t = queue.poll(500, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            reconcileIfDue();
            if (t == null) continue;
            try {
                if (t instanceof Start s) {
                    start(s);
                } else if (t instanceof Stop) {
                    if (controller != null) LOG.info("controller of term {} stopped: no longer leader", controller.term());
                    controller = null;
                    ready = false;
                } else if (t instanceof Cmd c) {
                    handle(c);
                }
            } catch (RuntimeException e) {
                LOG.error("controller thread: unexpected failure; the controller restarts from committed state", e);
                needsResync = true;
                if (t instanceof Cmd c) c.reply.complete(error("internal", "controller failure: " + e));
            }
        }
    }

    private long lastReconcileMillis;

    /** Restart backoffs end on the leader's clock, not on a command: the controller thread checks once a second. */
    private void reconcileIfDue() {
        long now = io.cardinal.state.WallClock.nowMillis();
        if (controller == null || !ready || now - lastReconcileMillis < 1000) return;
        lastReconcileMillis = now;
        if (controller.restartDue(now)) {
            handle(new Cmd(Command.newBuilder().setSchemaVersion(Applier.SCHEMA_VERSION).setActor("controller")
                    .setReconcile(io.cardinal.protocol.v1.Reconcile.getDefaultInstance()).build(), new CompletableFuture<>()));
        }
    }

    private void start(Start s) {
        controller = new Controller(s.committed, policy.get(), s.term, lendSpares);
        lastWrite = CompletableFuture.completedFuture(null);
        needsResync = false;
        ready = true;
        LOG.info("controller started for term {} at applied index {}", s.term, s.committed.appliedIndex());
        if (s.committed.members().isEmpty()) {
            // First leader of a new cluster: record the configured members (and their HTTP addresses) in the state.
            Command cmd = Command.newBuilder().setSchemaVersion(Applier.SCHEMA_VERSION).setActor("controller")
                    .setSetMembers(SetMembers.newBuilder().addAllMembers(configuredMembers.get())).build();
            handle(new Cmd(cmd, new CompletableFuture<>()));
        }
    }

    private void handle(Cmd c) {
        if (controller == null || !ready) {
            c.reply.complete(error("not_leader", "this replica is not the leader"));
            return;
        }
        if (needsResync || controller.broken()) resync();
        if (controller == null) {
            c.reply.complete(error("unavailable", "the controller is restarting; retry"));
            return;
        }
        String disk = diskProblem();
        if (disk != null && c.command.getBodyCase() != Command.BodyCase.RECONCILE) {
            c.reply.complete(error("unavailable", disk));
            return;
        }
        CommandResult r = controller.handle(c.command, io.cardinal.state.WallClock.nowMillis());
        if (r.events().isEmpty()) {
            // No write of its own, but the answer - a rejection such as "already CANCELLED" as much as a duplicate's
            // ok - was decided on the controller's state, which includes writes not yet committed. It goes out only
            // once those are committed and applied; if one of them fails, the answer's premise may be gone
            // (a chaos schedule caught a 409 for a cancel that a leader change then discarded), so it is unknown.
            Reply reply = r.reply();
            lastWrite.whenComplete((x, ex) -> c.reply.complete(committed(x, ex) ? reply
                    : error("unavailable", "an earlier write this answer depended on was not committed; retry")));
            return;
        }
        EventBatch batch = EventBatch.newBuilder().setSchemaVersion(Applier.SCHEMA_VERSION).setLeaderTerm(controller.term())
                .setCommandKey(c.command.getIdempotencyKey()).setCommandKind(c.command.getBodyCase().name())
                .addAllEvents(r.events()).build();
        RaftClientRequest request = RaftClientRequest.newBuilder().setClientId(clientId).setServerId(peerId)
                .setGroupId(groupId).setCallId(callId.incrementAndGet())
                .setMessage(Message.valueOf(ByteString.copyFrom(batch.toByteArray())))
                .setType(RaftClientRequest.writeRequestType()).build();
        CompletableFuture<RaftClientReply> f;
        try {
            f = server.submitClientRequestAsync(request);
        } catch (IOException e) {
            needsResync = true;
            c.reply.complete(error("unavailable", "could not append to the Raft log: " + e.getMessage() + "; retry"));
            return;
        }
        lastWrite = f;
        if (io.cardinal.state.InjectedBugs.on("ack-before-commit")) {
            // TEST ONLY (chaos suite, -Dcardinal.injectBug): acknowledge as soon as the entry is appended locally.
            c.reply.complete(r.reply());
        }
        f.whenComplete((rr, ex) -> {
            if (ex != null || rr == null || !rr.isSuccess()) {
                needsResync = true;
                String why = ex != null ? ex.toString() : rr == null ? "no reply" : String.valueOf(rr.getException());
                c.reply.complete(error("unavailable", "the write was not committed (" + why + "); retry with the same idempotency key"));
            } else if (CardinalStateMachine.isSkipped(rr.getMessage())) {
                needsResync = true;
                c.reply.complete(error("unavailable", "leadership changed before the write applied; retry with the same idempotency key"));
            } else {
                c.reply.complete(r.reply().toBuilder().setLogIndex(rr.getLogIndex()).build());
            }
        });
    }

    /** Whether a write's future says its entry was committed and applied by this leader's state machine. */
    static boolean committed(Object result, Throwable failure) {
        if (failure != null) return false;
        if (!(result instanceof RaftClientReply rr)) return result == null; // null: no write since the controller started
        return rr.isSuccess() && !CardinalStateMachine.isSkipped(rr.getMessage());
    }

    /** Starts a fresh controller from committed state once every write in flight has settled. */
    private void resync() {
        long term = controller.term();
        try {
            lastWrite.handle((x, ex) -> null).get(RESYNC_WAIT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            LOG.warn("resync: writes still in flight after {} ms; stepping the controller down", RESYNC_WAIT_MILLIS);
            controller = null;
            ready = false;
            return;
        } catch (Exception e) {
            Thread.currentThread().interrupt();
            return;
        }
        controller = new Controller(stateMachine.committedCopy(), policy.get(), term, lendSpares);
        needsResync = false;
        LOG.info("controller resynced from committed state at index {}", stateMachine.appliedIndex());
    }

    private String diskProblem() {
        if (minFreeDiskBytes <= 0) return null;
        try {
            long free = Files.getFileStore(dataDir).getUsableSpace();
            if (free < minFreeDiskBytes) {
                return "the leader's data dir " + dataDir + " has " + (free >> 20) + " MiB free, below the "
                        + (minFreeDiskBytes >> 20) + " MiB minimum; writes are refused until space is freed";
            }
            return null;
        } catch (IOException e) {
            return "cannot check free space of " + dataDir + ": " + e.getMessage();
        }
    }

    static Reply error(String code, String message) {
        return Reply.newBuilder().setOk(false).setCode(code).setMessage(message).build();
    }

    @Override
    public void close() {
        running = false;
        ready = false;
        thread.interrupt();
        for (Task t; (t = queue.poll()) != null; ) {
            if (t instanceof Cmd c) c.reply.complete(error("unavailable", "the replica is shutting down"));
        }
    }
}
