package io.cardinal.state;

import io.cardinal.allocator.policy.Policies;
import io.cardinal.allocator.policy.PlacementPolicy;
import io.cardinal.protocol.v1.CancelJob;
import io.cardinal.protocol.v1.CardInfo;
import io.cardinal.protocol.v1.Command;
import io.cardinal.protocol.v1.CordonNode;
import io.cardinal.protocol.v1.DeclareNodeLost;
import io.cardinal.protocol.v1.DrainNode;
import io.cardinal.protocol.v1.Event;
import io.cardinal.protocol.v1.EventBatch;
import io.cardinal.protocol.v1.JobRecord;
import io.cardinal.protocol.v1.JobSpec;
import io.cardinal.protocol.v1.Member;
import io.cardinal.protocol.v1.NodeRecord;
import io.cardinal.protocol.v1.Reconcile;
import io.cardinal.protocol.v1.RegisterNode;
import io.cardinal.protocol.v1.ReportCardHealth;
import io.cardinal.protocol.v1.ReportCheckpoint;
import io.cardinal.protocol.v1.ReportJobExited;
import io.cardinal.protocol.v1.ReportJobStarted;
import io.cardinal.protocol.v1.SetMembers;
import io.cardinal.protocol.v1.SetQuota;
import io.cardinal.protocol.v1.SetSpareRule;
import io.cardinal.protocol.v1.SubmitJob;
import io.cardinal.protocol.v1.SupernodeRule;
import io.cardinal.protocol.v1.UncordonNode;
import io.cardinal.state.apply.Applier;
import io.cardinal.state.apply.ApplyResult;
import io.cardinal.state.controller.CommandResult;
import io.cardinal.state.controller.Controller;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

/**
 * A leader's controller and two replicas fed by the same log. Each step decodes one op ({@link #GENES} small ints,
 * so jqwik can shrink them) into a command against the controller's view, commits the resulting batch on both
 * replicas and checks: the controller never breaks, both replicas and the controller's view have the same state
 * hash, and the independent invariant checks hold.
 */
public final class Sim {
    public static final int GENES = 10;
    public static final int GENE_MAX = 999;

    static final String[] NODES = {"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"};
    static final String[] SUPERNODE = {"sn-a", "sn-a", "sn-a", "sn-b", "sn-b", "sn-c", "sn-c", "sn-d"};
    static final int[] CARDS = {8, 8, 8, 8, 8, 4, 4, 2};
    static final String[] MODEL = {"910b", "910b", "910b", "910b", "910b", "h100", "h100", "h100"};
    static final String[] TENANTS = {"t0", "t1", "t2"};
    static final String[] SUPERNODES = {"sn-a", "sn-b", "sn-c", "sn-d"};

    /** One entry of the simulated Raft log. */
    public record Entry(long term, long index, EventBatch batch) {
    }

    enum Kind {
        RECONCILE(3), REGISTER(12), SUBMIT(18), CANCEL(4), CORDON(3), UNCORDON(3), DRAIN(3), CARD_HEALTH(10),
        NODE_LOST(4), STARTED(10), CHECKPOINT(10), EXITED(7), SET_QUOTA(4), SET_SPARE(3), LEADER_CHANGE(3),
        SET_MEMBERS(1);

        final int weight;

        Kind(int weight) {
            this.weight = weight;
        }

        static final int TOTAL;

        static {
            int t = 0;
            for (Kind k : values()) t += k.weight;
            TOTAL = t;
        }

        static Kind of(int gene) {
            int x = gene % TOTAL;
            for (Kind k : values()) {
                if (x < k.weight) return k;
                x -= k.weight;
            }
            throw new AssertionError();
        }
    }

    // The production default: the property checks the policy the server runs.
    private final PlacementPolicy policy = Policies.byName("cardinal");
    private final ClusterState a = new ClusterState();
    private final ClusterState b = new ClusterState();
    private final List<Entry> log = new ArrayList<>();
    private final List<String> trace = new ArrayList<>();
    private final Map<String, Integer> eventCounts = new TreeMap<>();
    /** Controllers run with spare lending (server config lendSpares) when set. */
    private final boolean lendSpares;
    private Controller ctl;
    private long index;
    private long nowMs = 1_700_000_000_000L;
    private int skipped;
    private int duplicates;
    private int rejected;

    public static int[] randomGenes(Random r) {
        int[] g = new int[GENES];
        for (int i = 0; i < GENES; i++) g[i] = r.nextInt(GENE_MAX + 1);
        return g;
    }

    public static List<int[]> randomHistory(Random r, int steps) {
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < steps; i++) out.add(randomGenes(r));
        return out;
    }

    /** Runs every op, checking after each. */
    public static Sim run(List<int[]> ops) {
        return run(ops, false);
    }

    /** As {@link #run(List)}, every controller with spare lending on or off. */
    public static Sim run(List<int[]> ops, boolean lendSpares) {
        Sim s = new Sim(lendSpares);
        for (int[] g : ops) s.step(g);
        return s;
    }

    private Sim(boolean lendSpares) {
        this.lendSpares = lendSpares;
        this.ctl = new Controller(a, policy, 1, lendSpares);
    }

    public ClusterState replicaA() {
        return a;
    }

    public ClusterState replicaB() {
        return b;
    }

    public List<Entry> log() {
        return log;
    }

    public Map<String, Integer> eventCounts() {
        return eventCounts;
    }

    public int skippedBatches() {
        return skipped;
    }

    public int duplicates() {
        return duplicates;
    }

    public int rejected() {
        return rejected;
    }

    public void step(int[] g) {
        nowMs += 1000;
        NavigableMap<String, JobRecord> before = new TreeMap<>(a.jobs());
        Kind kind = Kind.of(g[0]);
        if (kind == Kind.LEADER_CHANGE) {
            leaderChange(g);
        } else {
            Command cmd = command(kind, g, ctl.view());
            trace.add(describe(cmd));
            CommandResult r = ctl.handle(cmd, nowMs);
            check(!ctl.broken() && !"internal".equals(r.reply().getCode()), "controller broke: " + r.reply());
            if (!r.reply().getOk()) {
                rejected++;
                check(r.events().isEmpty(), "a refused command has events");
                check(Set.of("invalid", "not_found", "conflict").contains(r.reply().getCode()), "unexpected code " + r.reply());
            }
            if (r.reply().getDuplicate()) {
                duplicates++;
                check(r.events().isEmpty(), "a duplicate submit wrote events");
                check(r.reply().getJobId().equals(a.jobIdForKey(cmd.getIdempotencyKey())), "duplicate names another job");
            }
            if (!r.events().isEmpty()) {
                commit(EventBatch.newBuilder().setSchemaVersion(Applier.SCHEMA_VERSION).setLeaderTerm(ctl.term())
                        .setCommandKey(cmd.getIdempotencyKey()).setCommandKind(cmd.getBodyCase().name())
                        .addAllEvents(r.events()).build(), ctl.term());
            }
            if (kind == Kind.SUBMIT && r.reply().getOk()) {
                check(a.jobs().containsKey(r.reply().getJobId()), "submitted job " + r.reply().getJobId() + " not in state");
            }
        }
        String ha = a.stateHash();
        check(ha.equals(b.stateHash()), "replicas diverged");
        check(ha.equals(ctl.view().stateHash()), "controller view differs from the committed state");
        for (JobRecord j : a.jobs().values()) {
            check(j.getRestarts() <= j.getSpec().getMaxRestarts(), "job " + j.getJobId() + " restarted " + j.getRestarts()
                    + " times, its budget is " + j.getSpec().getMaxRestarts());
        }
        try {
            InvariantChecker.checkAtRest(a);
            InvariantChecker.checkStep(before, a);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n" + recentTrace(), e);
        }
    }

    /** A new leader. With {@code g[1]} even, the old leader's last batch is appended in the new term: skipped. */
    private void leaderChange(int[] g) {
        long oldTerm = ctl.term();
        if (g[1] % 2 == 0) {
            Command cmd = command(Kind.SUBMIT, g, ctl.view());
            CommandResult r = ctl.handle(cmd, nowMs);
            trace.add("stale leader " + oldTerm + ": " + describe(cmd) + " -> " + r.events().size() + " events, appended in term " + (oldTerm + 1));
            if (!r.events().isEmpty()) {
                String hashBefore = a.stateHash();
                ApplyResult res = commit(EventBatch.newBuilder().setSchemaVersion(Applier.SCHEMA_VERSION)
                        .setLeaderTerm(oldTerm).addAllEvents(r.events()).build(), oldTerm + 1);
                check(res.skipped(), "a batch of term " + oldTerm + " in a term " + (oldTerm + 1) + " entry was applied");
                check(a.stateHash().equals(hashBefore), "a skipped batch changed the state");
                check(a.appliedIndex() == index && a.appliedTerm() == oldTerm + 1, "skipped entry did not advance the applied index");
                skipped++;
            }
        } else {
            trace.add("leader change to term " + (oldTerm + 1));
        }
        ctl = new Controller(a, policy, oldTerm + 1, lendSpares);
    }

    private ApplyResult commit(EventBatch batch, long entryTerm) {
        index++;
        ApplyResult ra;
        ApplyResult rb;
        try {
            ra = Applier.apply(a, batch, entryTerm, index);
            rb = Applier.apply(b, batch, entryTerm, index);
        } catch (RuntimeException e) {
            throw new AssertionError("apply refused a controller batch: " + e.getMessage() + "\n" + recentTrace(), e);
        }
        check(ra.events().equals(rb.events()) && ra.skipped() == rb.skipped(), "replicas applied differently");
        for (Event e : ra.events()) {
            eventCounts.merge(e.getBodyCase().name(), 1, Integer::sum);
            if (e.hasJobPlaced() && e.getJobPlaced().getLent()) eventCounts.merge("JOB_PLACED_LENT", 1, Integer::sum);
            if (e.hasJobRestarting() && e.getJobRestarting().getLent()) eventCounts.merge("JOB_RESTARTING_LENT", 1, Integer::sum);
            if (e.hasJobPreempted() && e.getJobPreempted().getReason().startsWith("evicted from lent spare cards")) {
                eventCounts.merge("LENT_EVICTED", 1, Integer::sum);
            }
        }
        log.add(new Entry(entryTerm, index, batch));
        return ra;
    }

    private void check(boolean ok, String msg) {
        if (!ok) throw new AssertionError(msg + "\n" + recentTrace());
    }

    private String recentTrace() {
        int from = Math.max(0, trace.size() - 20);
        return "last commands (" + trace.size() + " in all):\n  " + String.join("\n  ", trace.subList(from, trace.size()));
    }

    private static String describe(Command c) {
        String text = com.google.protobuf.TextFormat.shortDebugString(c.hasRegisterNode()
                ? c.toBuilder().setRegisterNode(c.getRegisterNode().toBuilder().clearCards()).build() : c);
        if (c.hasRegisterNode()) {
            StringBuilder health = new StringBuilder();
            for (CardInfo ci : c.getRegisterNode().getCardsList()) health.append(ci.getHealthy() ? '+' : '-');
            text += " cards " + health;
        }
        return c.getBodyCase() + " " + text;
    }

    // ---- decoding genes into commands -------------------------------------------------------------------------

    /** The command {@code g} decodes to against {@code view}; a leader change decodes to a Reconcile here. */
    public static Command commandFor(int[] g, ClusterState view) {
        Kind kind = Kind.of(g[0]);
        return command(kind == Kind.LEADER_CHANGE ? Kind.RECONCILE : kind, g, view);
    }

    static Command command(Kind kind, int[] g, ClusterState view) {
        Command.Builder c = Command.newBuilder().setActor("sim");
        switch (kind) {
            case RECONCILE:
                return c.setReconcile(Reconcile.getDefaultInstance()).build();
            case REGISTER: {
                int n = g[1] % NODES.length;
                RegisterNode.Builder r = RegisterNode.newBuilder().setNodeId(NODES[n]).setSupernodeId(SUPERNODE[n]);
                int sick = g[2] % 6 == 0 ? g[3] % CARDS[n] : -1;
                for (int i = 0; i < CARDS[n]; i++) {
                    r.addCards(CardInfo.newBuilder().setIndex(i).setModel(MODEL[n]).setMemoryMib(65536).setHealthy(i != sick));
                }
                return c.setActor("agent:" + NODES[n]).setRegisterNode(r).build();
            }
            case SUBMIT:
                return c.setIdempotencyKey(g[9] % 3 == 0 ? "" : "key-" + (g[9] % 11))
                        .setSubmitJob(SubmitJob.newBuilder().setSpec(spec(g))).build();
            case CANCEL:
                return c.setCancelJob(CancelJob.newBuilder().setJobId(pickJob(view, g[1], g[2], false)).setReason("sim")).build();
            case CORDON:
                return c.setCordonNode(CordonNode.newBuilder().setNodeId(NODES[g[1] % NODES.length])).build();
            case UNCORDON:
                return c.setUncordonNode(UncordonNode.newBuilder().setNodeId(NODES[g[1] % NODES.length])).build();
            case DRAIN:
                return c.setDrainNode(DrainNode.newBuilder().setNodeId(NODES[g[1] % NODES.length])).build();
            case CARD_HEALTH: {
                int n = g[1] % NODES.length;
                int idx = g[3] % 10 == 0 ? CARDS[n] : g[2] % CARDS[n];
                return c.setReportCardHealth(ReportCardHealth.newBuilder().setCard(Fixtures.card(NODES[n], idx))
                        .setHealthy(g[4] % 3 == 0)).build();
            }
            case NODE_LOST: {
                String node = NODES[g[1] % NODES.length];
                NodeRecord rec = view.nodes().get(node);
                long epoch = rec == null ? 1 : g[2] % 5 == 0 ? rec.getEpoch() + 1 : g[2] % 2 == 0 ? 0 : rec.getEpoch();
                return c.setDeclareNodeLost(DeclareNodeLost.newBuilder().setNodeId(node).setEpoch(epoch).setReason("heartbeat expired")).build();
            }
            case STARTED: {
                String job = pickJob(view, g[1], g[2], true);
                return c.setReportJobStarted(ReportJobStarted.newBuilder().setJobId(job).setAttempt(attempt(view, job, g[3]))
                        .setRank(rank(view, job, g[4]) - (g[5] % 4 == 0 ? 1 : 0))).build();
            }
            case CHECKPOINT: {
                String job = pickJob(view, g[1], g[2], true);
                JobRecord j = view.jobs().get(job);
                long cp = j == null ? 0 : j.getCheckpointStep();
                long step = g[4] % 6 == 0 ? Math.max(0, cp - g[5] % 3) : cp + 1 + g[5] % 50;
                return c.setReportCheckpoint(ReportCheckpoint.newBuilder().setJobId(job).setAttempt(attempt(view, job, g[3]))
                        .setStep(step).setRank(rank(view, job, g[2]))).build();
            }
            case EXITED: {
                String job = pickJob(view, g[1], g[2], true);
                int code = g[4] % 3 == 0 ? 1 + g[5] % 3 : 0;
                return c.setReportJobExited(ReportJobExited.newBuilder().setJobId(job).setAttempt(attempt(view, job, g[3]))
                        .setExitCode(code).setRank(rank(view, job, g[3]))).build();
            }
            case SET_QUOTA:
                return c.setSetQuota(SetQuota.newBuilder().setTenant(TENANTS[g[1] % TENANTS.length]).setCards(g[2] % 33)
                        .setBorrowLimitCards(g[3] % 4 == 0 ? -1 : g[3] % 9)).build();
            case SET_SPARE:
                return c.setSetSpareRule(SetSpareRule.newBuilder().setSupernodeId(SUPERNODES[g[1] % SUPERNODES.length])
                        .setCards(g[2] % 3).setPercent(g[3] % 3 * 10)).build();
            case SET_MEMBERS: {
                SetMembers.Builder m = SetMembers.newBuilder();
                for (int i = 1; i <= 1 + g[1] % 3; i++) {
                    m.addMembers(Member.newBuilder().setId("r" + i).setRaftAddress("127.0.0.1:700" + i));
                }
                return c.setSetMembers(m).build();
            }
            default:
                throw new AssertionError(kind);
        }
    }

    static JobSpec spec(int[] g) {
        int[] cpt = {1, 2, 4, 8, 16};
        SupernodeRule[] rules = {SupernodeRule.SUPERNODE_RULE_UNSPECIFIED, SupernodeRule.SUPERNODE_REQUIRED,
                SupernodeRule.SUPERNODE_PREFERRED, SupernodeRule.SUPERNODE_ANY};
        JobSpec.Builder s = JobSpec.newBuilder().setName("job").setTenant(TENANTS[g[1] % TENANTS.length])
                .setTasks(1 + g[2] % 4).setCardsPerTask(g[3] % 23 == 0 ? 16 : cpt[g[3] % 4])
                .setSupernode(rules[g[4] % 4]).setPriority(g[5] % 4).setMaxSupernodes(g[6] % 3)
                .setMaxRestarts(g[8] % 4).addCommand("python").addCommand("train.py");
        switch (g[7] % 5) {
            case 1: s.addCardModels("910b"); break;
            case 2: s.addCardModels("h100"); break;
            case 3: s.addCardModels("h100").addCardModels("910b"); break;
            case 4: if (g[7] % 2 == 0) s.addCardModels("tpu-v5"); break;
            default: break;
        }
        return s.build();
    }

    /** Mostly a job that holds cards (for reports), sometimes any job, sometimes an unknown id. */
    static String pickJob(ClusterState view, int g1, int g2, boolean preferHolding) {
        List<String> holding = new ArrayList<>();
        for (JobRecord j : view.jobs().values()) if (ClusterState.holdsCards(j.getState())) holding.add(j.getJobId());
        if (preferHolding && !holding.isEmpty() && g1 % 5 != 0) return holding.get(g2 % holding.size());
        List<String> all = new ArrayList<>(view.jobs().keySet());
        int pick = g2 % (all.size() + 1);
        return pick == all.size() ? "j-999999" : all.get(pick);
    }

    /** The job's attempt, or (one time in six) the one before: a stale report. */
    static long attempt(ClusterState view, String job, int g) {
        JobRecord j = view.jobs().get(job);
        long at = j == null ? 1 : j.getAttempt();
        return g % 6 == 0 ? Math.max(0, at - 1) : at;
    }

    /** A rank of the job (0 when unknown), so per-rank reports can complete a job's ranks. */
    private static int rank(ClusterState view, String job, int g) {
        JobRecord j = view.jobs().get(job);
        int tasks = j == null ? 1 : Math.max(1, j.getSpec().getTasks());
        return Math.floorMod(g, tasks);
    }
}
