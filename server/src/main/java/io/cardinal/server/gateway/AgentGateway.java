package io.cardinal.server.gateway;

import io.cardinal.consensus.AppliedListener;
import io.cardinal.consensus.Replica;
import io.cardinal.protocol.v1.Ack;
import io.cardinal.protocol.v1.AgentFrame;
import io.cardinal.protocol.v1.CheckpointCommittedNotice;
import io.cardinal.protocol.v1.Assign;
import io.cardinal.protocol.v1.RankAssignment;
import io.cardinal.protocol.v1.CardInfo;
import io.cardinal.protocol.v1.CardRef;
import io.cardinal.protocol.v1.Command;
import io.cardinal.protocol.v1.CordonNode;
import io.cardinal.protocol.v1.DeclareNodeLost;
import io.cardinal.protocol.v1.Event;
import io.cardinal.protocol.v1.FailCard;
import io.cardinal.protocol.v1.Heartbeat;
import io.cardinal.protocol.v1.Hello;
import io.cardinal.protocol.v1.Inventory;
import io.cardinal.protocol.v1.JobProgress;
import io.cardinal.protocol.v1.JobRecord;
import io.cardinal.protocol.v1.Member;
import io.cardinal.protocol.v1.NodeRecord;
import io.cardinal.protocol.v1.Probe;
import io.cardinal.protocol.v1.Redirect;
import io.cardinal.protocol.v1.Refused;
import io.cardinal.protocol.v1.RegisterNode;
import io.cardinal.protocol.v1.Reply;
import io.cardinal.protocol.v1.Report;
import io.cardinal.protocol.v1.ReportCardHealth;
import io.cardinal.protocol.v1.ReportCheckpoint;
import io.cardinal.protocol.v1.ReportJobExited;
import io.cardinal.protocol.v1.ReportJobStarted;
import io.cardinal.protocol.v1.Stop;
import io.cardinal.protocol.v1.TaskState;
import io.cardinal.protocol.v1.TaskStatus;
import io.cardinal.protocol.v1.Welcome;
import io.cardinal.protocol.wire.Frames;
import io.cardinal.state.ClusterState;
import io.cardinal.state.apply.Applier;
import io.cardinal.state.store.EventKeys;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Where agents connect (every replica listens; followers redirect to the leader). The leader registers nodes,
 * turns agent reports into controller commands (acking a report only once its effect is committed), sends each
 * agent the assignments of committed placements, stops what it should no longer run, and runs the failure
 * detector. Heartbeats are never Raft writes.
 *
 * <p>All gateway state is owned by one thread ({@code gateway}); Netty threads only hand frames to it.
 */
public final class AgentGateway implements AutoCloseable, AppliedListener {
    private static final Logger LOG = LoggerFactory.getLogger(AgentGateway.class);
    /** Report ids remembered as done, so a resent report is acked without a second command. */
    static final int MAX_REMEMBERED_REPORTS = 100_000;
    static final long TICK_MILLIS = 100;
    /** A node lost this many times within the window is cordoned when it comes back (flap damping). */
    static final int FLAP_LIMIT = 3;
    static final long FLAP_WINDOW_MILLIS = 10 * 60_000;

    private final Replica replica;
    private final Supplier<List<Member>> members;
    private final MeterRegistry metrics;
    private final long ttlMillis;
    private final long lostNodeHoldMillis;
    /**
     * When this replica last became leader (System.nanoTime): the hold for lost nodes it never heard runs from then.
     * The hold is measured on the monotonic clock, as the agents measure their lease: a wall clock that jumps (or the
     * chaos clock-skew hook) must not shorten it.
     */
    private long leaderSinceNanos;
    private final ScheduledExecutorService gateway = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "agent-gateway");
        t.setDaemon(true);
        return t;
    });
    private final EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final EventLoopGroup workers = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private Channel server;

    // ---- owned by the gateway thread ----
    private final Map<String, Session> sessions = new HashMap<>();
    private final LinkedHashSet<String> doneReports = new LinkedHashSet<>();
    private final Set<String> reportsInFlight = new HashSet<>();
    private final FailureDetector detector;
    private final Map<String, Long> assignedAtMillis = new HashMap<>();
    /** Per job: {attempt, highest step seen in heartbeats}. */
    private final Map<String, long[]> lastStepByJob = new HashMap<>();
    private final Map<String, ArrayDeque<Long>> lossesByNode = new HashMap<>();
    private final Set<String> healthInFlight = new HashSet<>();
    /**
     * What each node runs as this leader last heard (heartbeat tasks, minus ranks reported exited since): node -> job
     * -> "attempt/rank" of live workers. Only nodes heard since this replica became leader are in it.
     */
    private final Map<String, Map<String, Set<String>>> liveWorkers = new HashMap<>();
    /** Assigns held back until no node may still run an older attempt of the job (no two attempts at once). */
    private final List<Held> heldAssigns = new ArrayList<>();
    /** When this leader last heard each node's heartbeat (System.nanoTime, for {@link #lostNodeHoldMillis}). */
    private final Map<String, Long> lastHeardNanos = new HashMap<>();
    /**
     * Nodes this leader declared lost whose NodeLost is not applied yet. In between, the committed state still says
     * online while the detector no longer tracks the node and its session is closed, so without this set the hold
     * took it for a node nothing watches: a 1-hour soak (seed 5555) saw held Assigns released in that window (50 ms)
     * start new attempts while the lost node's crashed agent had left the old ones running for 3 more seconds.
     */
    private final Set<String> declaredLost = new HashSet<>();
    /**
     * node -> job -> "attempt/rank" of Assigns sent that no heartbeat has shown yet -> heartbeats seen since. Until
     * its heartbeat shows the worker (it is then in liveWorkers) or two heartbeats have come without it (the second was
     * built after the agent took the Assign), the node counts as maybe running it. Without this a restart decided
     * between an Assign and the node's next heartbeat went out at once, while the agent was still killing the worker
     * of the Assign before (a chaos ci run saw 83 ms of two attempts on two agents).
     */
    private final Map<String, Map<String, Map<String, Integer>>> unconfirmedAssigns = new HashMap<>();

    private record Held(String nodeId, Assign assign) {
    }
    private boolean wasLeader;

    /** One agent connection. */
    final class Session {
        final Channel channel;
        final String id = UUID.randomUUID().toString();
        String nodeId;
        String supernodeId;
        List<String> tiers = List.of();
        String agentAddress = "";
        long epoch;
        long pendingEpoch;
        boolean registered;

        Session(Channel channel) {
            this.channel = channel;
        }

        void send(AgentFrame f) {
            channel.writeAndFlush(f);
        }
    }

    public AgentGateway(Replica replica, Supplier<List<Member>> members, MeterRegistry metrics, long ttlMillis) {
        this(replica, members, metrics, ttlMillis, 0);
    }

    /**
     * @param lostNodeHoldMillis how long after a lost node was last heard its older attempts may still run (see
     *                           docs/server-config.md); 0: a lost node runs nothing
     */
    public AgentGateway(Replica replica, Supplier<List<Member>> members, MeterRegistry metrics, long ttlMillis, long lostNodeHoldMillis) {
        this.replica = replica;
        this.members = members;
        this.metrics = metrics;
        this.ttlMillis = ttlMillis;
        this.lostNodeHoldMillis = lostNodeHoldMillis;
        this.detector = new FailureDetector(ttlMillis);
    }

    public void start(InetSocketAddress address) throws InterruptedException {
        server = new ServerBootstrap().group(boss, workers).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        Frames.addCodec(ch.pipeline());
                        ch.pipeline().addLast(new Handler());
                    }
                }).bind(address).sync().channel();
        gateway.scheduleWithFixedDelay(this::tick, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
        LOG.info("agent gateway listening on {} (heartbeat TTL {} ms, node lease {} ms)", address, ttlMillis, lostNodeHoldMillis);
    }

    private final class Handler extends SimpleChannelInboundHandler<AgentFrame> {
        private Session session;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            session = new Session(ctx.channel());
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, AgentFrame frame) {
            Session s = session;
            gateway.execute(() -> onFrame(s, frame));
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            Session s = session;
            gateway.execute(() -> {
                if (s.nodeId != null && sessions.get(s.nodeId) == s) sessions.remove(s.nodeId);
            });
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (Frames.isFramingError(cause)) {
                LOG.warn("agent connection {} dropped: {}", ctx.channel().remoteAddress(), Frames.explain(cause));
            } else {
                LOG.debug("agent connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
            }
            ctx.close();
        }
    }

    // ---- frames (gateway thread) -----------------------------------------------------------------------------

    private void onFrame(Session s, AgentFrame f) {
        try {
            switch (f.getBodyCase()) {
                case HELLO -> hello(s, f.getHello());
                case INVENTORY -> inventory(s, f.getInventory());
                case HEARTBEAT -> heartbeat(s, f.getHeartbeat());
                case REPORT -> report(s, f.getReport());
                case PROBE_REPLY -> {
                    if (s.nodeId != null) detector.alive(s.nodeId, io.cardinal.state.WallClock.nowMillis());
                }
                default -> protocolError(s, "unexpected " + f.getBodyCase() + " from an agent");
            }
        } catch (RuntimeException e) {
            LOG.error("agent gateway: failed handling {} from {}", f.getBodyCase(), s.nodeId, e);
        }
    }

    private void hello(Session s, Hello h) {
        if (h.getProtocolVersion() != Frames.PROTOCOL_VERSION) {
            refuse(s, "version", "agent speaks protocol " + h.getProtocolVersion() + ", this server speaks "
                    + Frames.PROTOCOL_VERSION + "; upgrade the agent or the server");
            return;
        }
        if (s.nodeId != null) {
            protocolError(s, "a second Hello on one connection");
            return;
        }
        if (!replica.controller().ready()) {
            String leader = replica.leaderId();
            if (replica.id().equals(leader)) {
                refuse(s, "not_ready", "replica " + leader + " leads but has not finished applying its log; retry shortly");
                return;
            }
            String address = "";
            for (Member m : members.get()) if (m.getId().equals(leader)) address = m.getAgentAddress();
            s.send(AgentFrame.newBuilder().setRedirect(Redirect.newBuilder().setLeaderId(leader == null ? "" : leader)
                    .setLeaderAddress(address).setReason("replica " + replica.id() + " is not the leader")).build());
            s.channel.close();
            return;
        }
        if (!h.getNodeId().matches("[A-Za-z0-9._-]{1,128}") || !h.getSupernodeId().matches("[A-Za-z0-9._-]{1,128}")) {
            refuse(s, "unknown_node", "node and supernode ids must be 1..128 of [A-Za-z0-9._-]");
            return;
        }
        Session old = sessions.put(h.getNodeId(), s);
        if (old != null && old != s) {
            LOG.info("node {} reconnected; closing its previous session", h.getNodeId());
            old.channel.close();
        }
        s.nodeId = h.getNodeId();
        // A Hello counts as hearing the node: the agent starts its lease from the Hello's send time when it has had no
        // heartbeat ack yet, so the hold must run from no earlier than its receipt here.
        lastHeardNanos.put(s.nodeId, System.nanoTime());
        s.supernodeId = h.getSupernodeId();
        s.tiers = h.getTiersList();
        s.agentAddress = h.getAgentAddress();
        NodeRecord n = committedNode(h.getNodeId());
        if (n != null && n.getOnline() && h.getLastEpoch() == n.getEpoch() && n.getSupernodeId().equals(h.getSupernodeId())) {
            // The same incarnation reconnecting (agent restart, or a new leader): its work stays valid.
            s.epoch = n.getEpoch();
            s.registered = true;
            detector.alive(s.nodeId, io.cardinal.state.WallClock.nowMillis());
        } else {
            // New node, a node declared lost, or an agent that lost its epoch: it registers under a new epoch.
            s.pendingEpoch = n == null ? 1 : n.getEpoch() + 1;
        }
        s.send(AgentFrame.newBuilder().setWelcome(Welcome.newBuilder().setSessionId(s.id).setLeaderId(replica.id())
                .setNodeEpoch(s.registered ? s.epoch : s.pendingEpoch).setProtocolVersion(Frames.PROTOCOL_VERSION)
                .setHeartbeatIntervalMillis(Math.max(100, ttlMillis / 3)).setLeaseMillis(lostNodeHoldMillis)).build());
    }

    private void inventory(Session s, Inventory inv) {
        if (s.nodeId == null) {
            protocolError(s, "Inventory before Hello");
            return;
        }
        if (!inv.getAgentAddress().isEmpty()) s.agentAddress = inv.getAgentAddress();
        if (s.registered) {
            NodeRecord n = committedNode(s.nodeId);
            if (n == null || n.getCardsCount() != inv.getCardsCount()) {
                // The inventory changed shape under the same epoch: register again (new epoch) on reconnect.
                s.registered = false;
                s.pendingEpoch = n == null ? 1 : n.getEpoch() + 1;
                register(s, inv);
                return;
            }
            cardHealthDiffs(s, inv.getCardsList(), "inventory");
            sendAssignments(s);
            return;
        }
        register(s, inv);
    }

    private void register(Session s, Inventory inv) {
        Command cmd = command("agent:" + s.nodeId).setRegisterNode(RegisterNode.newBuilder().setNodeId(s.nodeId)
                .setSupernodeId(s.supernodeId).addAllCards(inv.getCardsList())
                .addAllTiers(inv.getTiersCount() > 0 ? inv.getTiersList() : s.tiers).setAgentAddress(s.agentAddress)).build();
        long expected = s.pendingEpoch;
        replica.submit(cmd).whenComplete((reply, ex) -> gateway.execute(() -> {
            if (ex != null || !reply.getOk()) {
                String why = ex != null ? ex.toString() : reply.getCode() + ": " + reply.getMessage();
                LOG.warn("registering node {} failed: {}", s.nodeId, why);
                refuse(s, reply != null && reply.getCode().equals("invalid") ? "bad_inventory" : "not_ready", why);
                return;
            }
            if (reply.getEpoch() != expected) {
                LOG.warn("node {} registered at epoch {} but was welcomed with {}; it must reconnect", s.nodeId, reply.getEpoch(), expected);
                s.channel.close();
                return;
            }
            if (!s.channel.isActive()) return;
            NodeRecord now = committedNode(s.nodeId);
            long committed = now == null ? -1 : now.getEpoch();
            if (committed != expected) {
                // A registration from one of this node's earlier sessions committed after this one.
                LOG.warn("node {} registered at epoch {} but is now at epoch {}; it must reconnect", s.nodeId, expected, committed);
                s.channel.close();
                return;
            }
            s.epoch = expected;
            s.registered = true;
            detector.alive(s.nodeId, io.cardinal.state.WallClock.nowMillis());
            LOG.info("node {} ({} cards, supernode {}) registered at epoch {}", s.nodeId, inv.getCardsCount(), s.supernodeId, expected);
            dampFlapping(s.nodeId);
            sendAssignments(s);
        }));
    }

    private void heartbeat(Session s, Heartbeat hb) {
        if (!s.registered) return;
        long now = io.cardinal.state.WallClock.nowMillis();
        detector.alive(s.nodeId, now);
        lastHeardNanos.put(s.nodeId, System.nanoTime());
        s.send(AgentFrame.newBuilder().setAck(Ack.newBuilder().setHeartbeatSequence(hb.getSequence())).build());
        Map<String, Set<String>> live = new HashMap<>();
        for (TaskStatus t : hb.getTasksList()) {
            // Steps restart from the restore point with each attempt: keep the newest attempt's progress only.
            long[] cur = lastStepByJob.get(t.getJobId());
            if (cur == null || t.getAttempt() > cur[0]) lastStepByJob.put(t.getJobId(), new long[]{t.getAttempt(), t.getStep()});
            else if (t.getAttempt() == cur[0]) cur[1] = Math.max(cur[1], t.getStep());
            if (t.getState() == TaskState.TASK_STATE_RUNNING || t.getState() == TaskState.TASK_STATE_PREPARING) {
                live.computeIfAbsent(t.getJobId(), k -> new HashSet<>()).add(t.getAttempt() + "/" + t.getRank());
            }
        }
        liveWorkers.put(s.nodeId, live);
        Map<String, Map<String, Integer>> pending = unconfirmedAssigns.get(s.nodeId);
        if (pending != null) {
            pending.forEach((job, ranks) -> {
                Set<String> seen = live.getOrDefault(job, Set.of());
                ranks.replaceAll((key, heartbeats) -> heartbeats + 1);
                ranks.entrySet().removeIf(e -> seen.contains(e.getKey()) || e.getValue() >= 2);
            });
            pending.values().removeIf(Map::isEmpty);
            if (pending.isEmpty()) unconfirmedAssigns.remove(s.nodeId);
        }
        releaseHeldAssigns();
        if (hb.getCardsCount() > 0) cardHealthDiffs(s, hb.getCardsList(), "heartbeat");
        reconcileTasks(s, hb.getTasksList());
    }

    /** Stops what an agent runs that committed state no longer gives it (e.g. work of a superseded attempt). */
    private void reconcileTasks(Session s, List<TaskStatus> tasks) {
        Map<String, Long> wanted = new HashMap<>();
        replica.stateMachine().read(st -> {
            for (TaskStatus t : tasks) {
                JobRecord j = st.jobs().get(t.getJobId());
                if (j != null && ClusterState.holdsCards(j.getState()) && Assignments.nodesOf(j).contains(s.nodeId)) {
                    wanted.put(j.getJobId(), j.getAttempt());
                }
            }
        });
        for (TaskStatus t : tasks) {
            if (t.getState() != TaskState.TASK_STATE_RUNNING && t.getState() != TaskState.TASK_STATE_PREPARING) continue;
            Long want = wanted.get(t.getJobId());
            if (want == null || want != t.getAttempt()) {
                s.send(AgentFrame.newBuilder().setStop(Stop.newBuilder().setJobId(t.getJobId()).setAttempt(t.getAttempt())
                        .setReason(want == null ? "the job no longer runs on this node" : "attempt " + want + " supersedes it")).build());
            }
        }
    }

    private void cardHealthDiffs(Session s, List<CardInfo> cards, String source) {
        NodeRecord n = committedNode(s.nodeId);
        if (n == null) return;
        for (CardInfo c : cards) {
            if (c.getIndex() < 0 || c.getIndex() >= n.getCardsCount()) continue;
            if (n.getCards(c.getIndex()).getHealthy() == c.getHealthy()) continue;
            String key = s.nodeId + "/" + c.getIndex() + "/" + c.getHealthy();
            if (!healthInFlight.add(key)) continue;
            Command cmd = command("agent:" + s.nodeId).setReportCardHealth(ReportCardHealth.newBuilder()
                    .setCard(CardRef.newBuilder().setNodeId(s.nodeId).setIndex(c.getIndex())).setHealthy(c.getHealthy())
                    .setReason("reported unhealthy in " + source).setDetectedMs(io.cardinal.state.WallClock.nowMillis())
                    .addAllProgress(progress())).build();
            replica.submit(cmd).whenComplete((r, ex) -> gateway.execute(() -> healthInFlight.remove(key)));
        }
    }

    private void report(Session s, Report r) {
        if (s.nodeId == null) {
            protocolError(s, "Report before Hello");
            return;
        }
        if (!s.registered) {
            // The agent resends its unacked reports right after the Welcome, before it can know that registering
            // takes a Raft write. Closing here made it reconnect while that registration was in flight, and each new
            // session registered again: chaos schedules (netns, seeds 6001, 6002) saw a node go through five epochs
            // in a second. Not acked, the report comes again after the agent's resend interval.
            return;
        }
        if (doneReports.contains(r.getId())) {
            ack(s, r.getId());
            return;
        }
        if (!reportsInFlight.add(r.getId())) return;
        if (r.getNodeEpoch() != 0 && r.getNodeEpoch() != s.epoch) {
            LOG.info("report {} from node {} is of epoch {}, node is at {}: dropped", r.getId(), s.nodeId, r.getNodeEpoch(), s.epoch);
            done(s, r.getId());
            return;
        }
        if (r.getPayloadCase() == Report.PayloadCase.TASK_EXITED) {
            var t = r.getTaskExited();
            Set<String> live = liveWorkers.getOrDefault(s.nodeId, Map.of()).get(t.getJobId());
            boolean gone = live != null && live.remove(t.getAttempt() + "/" + t.getRank());
            Map<String, Integer> pending = unconfirmedAssigns.getOrDefault(s.nodeId, Map.of()).get(t.getJobId());
            gone |= pending != null && pending.remove(t.getAttempt() + "/" + t.getRank()) != null;
            if (gone) releaseHeldAssigns();
        }
        Command cmd = toCommand(s, r);
        if (cmd == null) {
            done(s, r.getId());
            return;
        }
        Timer.Sample sample = Timer.start(metrics);
        replica.submit(cmd).whenComplete((reply, ex) -> gateway.execute(() -> {
            reportsInFlight.remove(r.getId());
            sample.stop(metrics.timer("cardinal.agent.reports", "type", r.getType().name()));
            if (ex != null) return;
            if (reply.getOk() || isFinal(reply)) {
                if (!reply.getOk()) LOG.info("report {} from {} refused: {}", r.getId(), s.nodeId, reply.getMessage());
                done(s, r.getId());
            }
            // not_leader / unavailable: no ack; the agent sends it again.
        }));
    }

    private static boolean isFinal(Reply reply) {
        return reply.getCode().equals("invalid") || reply.getCode().equals("not_found") || reply.getCode().equals("conflict");
    }

    private Command toCommand(Session s, Report r) {
        Command.Builder c = command("agent:" + s.nodeId).setIdempotencyKey("");
        switch (r.getPayloadCase()) {
            case TASK_STARTED -> {
                var t = r.getTaskStarted();
                return c.setReportJobStarted(ReportJobStarted.newBuilder().setJobId(t.getJobId()).setAttempt(t.getAttempt())
                        .setRank(t.getRank()).setNodeId(s.nodeId).setShardSource(t.getShardSource())
                        .setAssignedMs(assignedAtMillis.getOrDefault(t.getJobId() + "#" + t.getAttempt(), 0L))).build();
            }
            case TASK_EXITED -> {
                var t = r.getTaskExited();
                return c.setReportJobExited(ReportJobExited.newBuilder().setJobId(t.getJobId()).setAttempt(t.getAttempt())
                        .setRank(t.getRank()).setExitCode(t.getExitCode()).setDetail(t.getDetail())
                        .setKilledByAgent(t.getKilledByAgent()).setLastStep(Math.max(t.getLastStep(), lastStep(t.getJobId(), t.getAttempt())))
                        .setDetectedMs(r.getCreatedAtMillis() > 0 ? r.getCreatedAtMillis() : io.cardinal.state.WallClock.nowMillis())).build();
            }
            case CHECKPOINT_DURABLE -> {
                var t = r.getCheckpointDurable();
                return c.setReportCheckpoint(ReportCheckpoint.newBuilder().setJobId(t.getJobId()).setAttempt(t.getAttempt())
                        .setRank(t.getRank()).setStep(t.getStep()).setBuddyNodeId(t.getBuddyNodeId()).setNodeId(s.nodeId)).build();
            }
            case CARD_HEALTH -> {
                var t = r.getCardHealth();
                return c.setReportCardHealth(ReportCardHealth.newBuilder()
                        .setCard(CardRef.newBuilder().setNodeId(s.nodeId).setIndex(t.getCard().getIndex()))
                        .setHealthy(t.getHealthy()).setReason(t.getReason())
                        .setDetectedMs(r.getCreatedAtMillis() > 0 ? r.getCreatedAtMillis() : io.cardinal.state.WallClock.nowMillis())
                        .addAllProgress(progress())).build();
            }
            case ASSIGN_REFUSED -> {
                var t = r.getAssignRefused();
                LOG.warn("node {} refused job {} attempt {} (holds attempt {}): {}", s.nodeId, t.getJobId(), t.getAttempt(),
                        t.getHeldAttempt(), t.getReason());
                return null;
            }
            case CHECKPOINT_REJECTED -> {
                var t = r.getCheckpointRejected();
                LOG.warn("node {} rejected the shard of job {} rank {} step {} ({}); restore falls back to step {}", s.nodeId,
                        t.getJobId(), t.getRank(), t.getStep(), t.getReason(), t.getFallbackStep());
                return null;
            }
            default -> {
                LOG.warn("node {} sent a report with no payload ({}); dropped", s.nodeId, r.getType());
                return null;
            }
        }
    }

    private void done(Session s, String reportId) {
        reportsInFlight.remove(reportId);
        doneReports.add(reportId);
        if (doneReports.size() > MAX_REMEMBERED_REPORTS) {
            var it = doneReports.iterator();
            it.next();
            it.remove();
        }
        ack(s, reportId);
    }

    private static void ack(Session s, String reportId) {
        s.send(AgentFrame.newBuilder().setAck(Ack.newBuilder().addReportIds(reportId)).build());
    }

    private void sendAssignments(Session s) {
        List<Assign> assigns = new ArrayList<>();
        replica.stateMachine().read(st -> assigns.addAll(Assignments.allForNode(st, s.nodeId)));
        for (Assign a : assigns) sendOrHold(a, s.nodeId);
    }

    /**
     * Sends the Assign unless some node may still run an older attempt of its job; then it waits in
     * {@link #heldAssigns} and {@link #releaseHeldAssigns()} sends it once those workers are gone. Fencing on each
     * agent only orders attempts on that agent; this orders them across agents.
     */
    private void sendOrHold(Assign a, String nodeId) {
        if (olderAttemptMayRun(a.getJobId(), a.getAttempt()) != null) {
            heldAssigns.removeIf(h -> h.assign().getJobId().equals(a.getJobId()) && h.nodeId().equals(nodeId));
            heldAssigns.add(new Held(nodeId, a));
            return;
        }
        Session s = sessions.get(nodeId);
        if (s != null && s.registered) send(s, a);
    }

    /**
     * A node that may still run a worker of the job with an attempt below {@code attempt}, or null. Every online node
     * with an agent that the failure detector watches counts until this leader has heard its heartbeat (a node that
     * is never heard from is declared lost after the TTL, which takes it out of the count).
     */
    private String olderAttemptMayRun(String jobId, long attempt) {
        if (io.cardinal.state.InjectedBugs.on("assign-without-hold")) return null; // TEST ONLY: the chaos agent-attempts checker must catch it
        List<String> online = new ArrayList<>();
        List<String> offline = new ArrayList<>();
        replica.stateMachine().read(st -> {
            for (NodeRecord n : st.nodes().values()) {
                if (!n.getAgentAddress().isEmpty()) (n.getOnline() ? online : offline).add(n.getNodeId());
            }
        });
        for (String n : online) {
            if (!liveWorkers.containsKey(n)) {
                // Not heard yet: it may run anything, unless nothing watches it (registered by hand, never connected).
                if (detector.tracks(n) || sessions.containsKey(n) || declaredLost.contains(n)) return n;
                continue;
            }
            if (runsOlderAttempt(n, jobId, attempt)) return n;
        }
        // A node declared lost may still run what it last reported: its agent may be cut off from us, or crashed with
        // its workers left running until it comes back and kills them. Wait until it is heard again (its heartbeats
        // then say what runs) or the hold has passed since it was last heard.
        long nowNanos = System.nanoTime();
        long holdNanos = TimeUnit.MILLISECONDS.toNanos(lostNodeHoldMillis);
        // An Assign sent after its last heartbeat counts too: the agent may have started it just before it was cut off
        // (an IT saw the restart 3 s after the cut while the old worker, started 0.7 s before it, still ran).
        Set<String> lost = new HashSet<>(liveWorkers.keySet());
        lost.addAll(unconfirmedAssigns.keySet());
        lost.removeAll(online);
        for (String n : lost) {
            Long heard = lastHeardNanos.get(n);
            if (heard == null || nowNanos - heard >= holdNanos) continue;
            if (runsOlderAttempt(n, jobId, attempt)) return n;
        }
        // A lost node this leader never heard (it went silent before or just after the leader change) may run
        // anything: hold for lostNodeHoldMillis from the change. A chaos run saw an agent crash 2.5 s after a leader
        // change, its surviving worker, and the restart started elsewhere 2 s before the restarted agent killed it.
        if (nowNanos - leaderSinceNanos < holdNanos) {
            for (String n : offline) if (!liveWorkers.containsKey(n)) return n;
        }
        return null;
    }

    /**
     * Whether node {@code n}'s last heartbeat showed, or an Assign sent to it since may have started, a worker of
     * {@code jobId} with an attempt below {@code attempt} (workers are keyed "attempt/rank").
     */
    private boolean runsOlderAttempt(String n, String jobId, long attempt) {
        for (String w : liveWorkers.getOrDefault(n, Map.of()).getOrDefault(jobId, Set.of())) {
            if (Long.parseLong(w.substring(0, w.indexOf('/'))) < attempt) return true;
        }
        for (String w : unconfirmedAssigns.getOrDefault(n, Map.of()).getOrDefault(jobId, Map.of()).keySet()) {
            if (Long.parseLong(w.substring(0, w.indexOf('/'))) < attempt) return true;
        }
        return false;
    }

    /** Sends the held Assigns whose older attempts are gone everywhere (and drops superseded ones). */
    private void releaseHeldAssigns() {
        if (heldAssigns.isEmpty()) return;
        List<Held> held = new ArrayList<>(heldAssigns);
        heldAssigns.clear();
        for (Held h : held) {
            Assign a = h.assign();
            String nodeId = h.nodeId();
            Assign[] current = new Assign[1];
            replica.stateMachine().read(st -> {
                JobRecord j = st.jobs().get(a.getJobId());
                if (j != null && j.getAttempt() == a.getAttempt()) current[0] = Assignments.forNode(st, j, nodeId);
            });
            if (current[0] != null) sendOrHold(current[0], nodeId);
        }
    }

    private void send(Session s, Assign a) {
        assignedAtMillis.putIfAbsent(a.getJobId() + "#" + a.getAttempt(), io.cardinal.state.WallClock.nowMillis());
        Map<String, Integer> pending = unconfirmedAssigns.computeIfAbsent(s.nodeId, k -> new HashMap<>())
                .computeIfAbsent(a.getJobId(), k -> new HashMap<>());
        for (RankAssignment r : a.getRanksList()) pending.put(a.getAttempt() + "/" + r.getRank(), 0);
        s.send(AgentFrame.newBuilder().setAssign(a).build());
    }

    // ---- applied events: assignments and stops (every replica hears them; only the leader acts) --------------

    @Override
    public void onApplied(long index, List<Event> events) {
        gateway.execute(() -> {
            if (!replica.controller().ready()) return;
            for (Event e : events) applied(e);
        });
    }

    private void applied(Event e) {
        switch (e.getBodyCase()) {
            case JOB_PLACED, JOB_RESTARTING -> {
                String jobId = EventKeys.jobId(e);
                List<Assign> assigns = new ArrayList<>();
                List<String> nodes = new ArrayList<>();
                replica.stateMachine().read(st -> {
                    JobRecord j = st.jobs().get(jobId);
                    if (j == null) return;
                    for (String n : Assignments.nodesOf(j)) {
                        Assign a = Assignments.forNode(st, j, n);
                        if (a != null) {
                            assigns.add(a);
                            nodes.add(n);
                        }
                    }
                });
                for (int i = 0; i < assigns.size(); i++) sendOrHold(assigns.get(i), nodes.get(i));
            }
            case JOB_INTERRUPTED -> stopEverywhere(e.getJobInterrupted().getJobId(), e.getJobInterrupted().getAttempt(), "interrupted: " + e.getJobInterrupted().getReason());
            case JOB_CANCELLED -> stopEverywhere(e.getJobCancelled().getJobId(), 0, "cancelled");
            case JOB_FAILED -> stopEverywhere(e.getJobFailed().getJobId(), 0, "failed");
            case JOB_PREEMPTED -> stopEverywhere(e.getJobPreempted().getJobId(), e.getJobPreempted().getAttempt(), "preempted");
            case JOB_SUCCEEDED -> stopEverywhere(e.getJobSucceeded().getJobId(), 0, "succeeded");
            case NODE_LOST -> {
                detector.forget(e.getNodeLost().getNodeId());
                declaredLost.remove(e.getNodeLost().getNodeId()); // offline now: the lost-node hold covers it
            }
            case NODE_REGISTERED -> {
                declaredLost.remove(e.getNodeRegistered().getNodeId());
                closeIfEpochMoved(e.getNodeRegistered().getNodeId(), e.getNodeRegistered().getEpoch());
            }
            case CHECKPOINT_COMMITTED -> {
                // To every agent, like Stop: buddies hold copies of the job's shards without running it.
                var c = e.getCheckpointCommitted();
                AgentFrame notice = AgentFrame.newBuilder().setCheckpointCommitted(CheckpointCommittedNotice.newBuilder()
                        .setJobId(c.getJobId()).setAttempt(c.getAttempt()).setStep(c.getStep())).build();
                for (Session s : sessions.values()) if (s.registered) s.send(notice);
            }
            default -> {
            }
        }
    }

    /**
     * A registration submitted by one of a node's earlier sessions (closed while its command was in flight) can commit
     * after the node's current session was registered at the previous epoch, or re-attached to it. From then on every
     * Assign carries the new epoch and the agent refuses it as newer than its own, for as long as the session lives
     * (a chaos schedule, seed 6001 on netns, ended with a node stuck so). Closing the session makes the agent say
     * Hello again and register at an epoch that matches.
     */
    private void closeIfEpochMoved(String nodeId, long epoch) {
        Session s = sessions.get(nodeId);
        if (s != null && s.registered && s.epoch != epoch) {
            LOG.warn("node {} was registered at epoch {} by an earlier session, its current session is at epoch {}; it must reconnect",
                    nodeId, epoch, s.epoch);
            s.registered = false;
            s.channel.close();
        }
    }

    /** The node's record in this replica's applied state, or null. */
    private NodeRecord committedNode(String nodeId) {
        NodeRecord[] known = new NodeRecord[1];
        replica.stateMachine().read(st -> known[0] = st.nodes().get(nodeId));
        return known[0];
    }

    /** Stop goes to every connected agent: cheap, and agents without the job ignore it. */
    private void stopEverywhere(String jobId, long attempt, String reason) {
        AgentFrame stop = AgentFrame.newBuilder().setStop(Stop.newBuilder().setJobId(jobId).setAttempt(attempt).setReason(reason)).build();
        for (Session s : sessions.values()) if (s.registered) s.send(stop);
    }

    // ---- failure detector (leader only) -----------------------------------------------------------------------

    private void tick() {
        try {
            boolean leader = replica.controller().ready();
            long now = io.cardinal.state.WallClock.nowMillis();
            if (leader && !wasLeader) {
                // A new leader gives every online node one full TTL before it may declare it lost.
                List<String> online = new ArrayList<>();
                replica.stateMachine().read(st -> {
                    for (NodeRecord n : st.nodes().values()) if (n.getOnline() && !n.getAgentAddress().isEmpty()) online.add(n.getNodeId());
                });
                detector.becameLeader(online, now);
                leaderSinceNanos = System.nanoTime();
                liveWorkers.clear();
                unconfirmedAssigns.clear();
                lastHeardNanos.clear();
                heldAssigns.clear();
                declaredLost.clear();
                LOG.info("failure detector armed for {} nodes (grace {} ms)", online.size(), ttlMillis);
            }
            if (!leader && wasLeader) {
                detector.clear();
                liveWorkers.clear();
                unconfirmedAssigns.clear();
                heldAssigns.clear();
                declaredLost.clear();
                for (Session s : new ArrayList<>(sessions.values())) s.channel.close();
                sessions.clear();
            }
            wasLeader = leader;
            if (!leader) return;
            releaseHeldAssigns();
            for (FailureDetector.Action a : detector.due(now)) {
                if (a.probe()) {
                    Session s = sessions.get(a.nodeId());
                    if (s != null) s.send(AgentFrame.newBuilder().setProbe(Probe.newBuilder().setNonce(now).setSentAtMillis(now)).build());
                } else {
                    declareLost(a.nodeId(), a.silentMillis(), now);
                }
            }
        } catch (RuntimeException e) {
            LOG.error("agent gateway tick failed", e);
        }
    }

    private void declareLost(String nodeId, long silentMillis, long now) {
        long[] epoch = {0};
        boolean[] online = {false};
        replica.stateMachine().read(st -> {
            NodeRecord n = st.nodes().get(nodeId);
            if (n != null) {
                epoch[0] = n.getEpoch();
                online[0] = n.getOnline();
            }
        });
        if (!online[0]) return;
        LOG.warn("node {} silent for {} ms (TTL {} ms, probe unanswered): declaring it lost", nodeId, silentMillis, ttlMillis);
        lossesByNode.computeIfAbsent(nodeId, k -> new ArrayDeque<>()).addLast(now);
        declaredLost.add(nodeId);
        Command cmd = command("failure-detector").setDeclareNodeLost(DeclareNodeLost.newBuilder().setNodeId(nodeId)
                .setEpoch(epoch[0]).setReason("no heartbeat for " + silentMillis + " ms").setDetectedMs(now)
                .addAllProgress(progress())).build();
        replica.submit(cmd).whenComplete((r, ex) -> gateway.execute(() -> {
            if (ex != null || !r.getOk()) {
                declaredLost.remove(nodeId);
                LOG.warn("declaring node {} lost failed: {}; will retry", nodeId, ex != null ? ex : r.getMessage());
                detector.alive(nodeId, io.cardinal.state.WallClock.nowMillis() - ttlMillis);
            }
        }));
        Session s = sessions.remove(nodeId);
        if (s != null) s.channel.close();
    }

    /** A node lost {@link #FLAP_LIMIT} times within the window is cordoned when it registers again. */
    private void dampFlapping(String nodeId) {
        ArrayDeque<Long> losses = lossesByNode.get(nodeId);
        if (losses == null) return;
        long now = io.cardinal.state.WallClock.nowMillis();
        while (!losses.isEmpty() && now - losses.peekFirst() > FLAP_WINDOW_MILLIS) losses.pollFirst();
        if (losses.size() >= FLAP_LIMIT) {
            LOG.warn("node {} was lost {} times in {} min: cordoning it until an operator uncordons it", nodeId, losses.size(),
                    FLAP_WINDOW_MILLIS / 60_000);
            replica.submit(command("failure-detector").setCordonNode(CordonNode.newBuilder().setNodeId(nodeId)
                    .setReason("flapping: lost " + losses.size() + " times in " + FLAP_WINDOW_MILLIS / 60_000 + " min")).build());
            losses.clear();
        }
    }

    private List<JobProgress> progress() {
        List<JobProgress> out = new ArrayList<>();
        for (Map.Entry<String, long[]> e : lastStepByJob.entrySet()) {
            out.add(JobProgress.newBuilder().setJobId(e.getKey()).setStep(e.getValue()[1]).build());
        }
        return out;
    }

    private long lastStep(String jobId, long attempt) {
        long[] cur = lastStepByJob.get(jobId);
        return cur != null && cur[0] == attempt ? cur[1] : 0;
    }

    // ---- admin -------------------------------------------------------------------------------------------------

    /**
     * Fault injection: asks the node's agent to fail a card, so the failure travels the real path (agent report ->
     * controller). Returns false when this replica has no session with that node.
     */
    public java.util.concurrent.CompletableFuture<Boolean> failCard(String nodeId, int card, boolean healthy, String reason) {
        java.util.concurrent.CompletableFuture<Boolean> f = new java.util.concurrent.CompletableFuture<>();
        gateway.execute(() -> {
            Session s = sessions.get(nodeId);
            if (s == null || !s.registered) {
                f.complete(false);
                return;
            }
            s.send(AgentFrame.newBuilder().setFailCard(FailCard.newBuilder().setCardIndex(card).setHealthy(healthy).setReason(reason)).build());
            f.complete(true);
        });
        return f;
    }

    public int sessions() {
        try {
            return gateway.submit(sessions::size).get(2, TimeUnit.SECONDS);
        } catch (Exception e) {
            return -1;
        }
    }

    private void refuse(Session s, String code, String message) {
        s.send(AgentFrame.newBuilder().setRefused(Refused.newBuilder().setCode(code).setMessage(message)
                .setServerProtocolVersion(Frames.PROTOCOL_VERSION)).build());
        s.channel.close();
        if (s.nodeId != null && sessions.get(s.nodeId) == s) sessions.remove(s.nodeId);
    }

    private void protocolError(Session s, String message) {
        LOG.warn("agent {} ({}): protocol error: {}; closing", s.nodeId, s.channel.remoteAddress(), message);
        s.channel.close();
        if (s.nodeId != null && sessions.get(s.nodeId) == s) sessions.remove(s.nodeId);
    }

    private static Command.Builder command(String actor) {
        return Command.newBuilder().setSchemaVersion(Applier.SCHEMA_VERSION).setActor(actor);
    }

    @Override
    public void close() {
        gateway.shutdownNow();
        if (server != null) server.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
