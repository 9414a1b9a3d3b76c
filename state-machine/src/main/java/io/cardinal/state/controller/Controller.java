package io.cardinal.state.controller;

import io.cardinal.allocator.policy.PlacementPolicy;
import io.cardinal.protocol.v1.AdminAction;
import io.cardinal.protocol.v1.Command;
import io.cardinal.protocol.v1.Event;
import io.cardinal.protocol.v1.MembersSet;
import io.cardinal.protocol.v1.QuotaSet;
import io.cardinal.protocol.v1.Reply;
import io.cardinal.protocol.v1.SpareRuleSet;
import io.cardinal.state.ClusterState;
import io.cardinal.state.apply.InvariantViolation;

/**
 * The leader's decision maker. It handles one command at a time against its view (the committed state plus the
 * events it has emitted that are not yet applied) and returns {@code (events, reply)}. It never touches the
 * committed state: its events reach every replica only through the Raft log.
 *
 * <p>Not thread-safe by design: the consensus layer calls it from one thread.
 */
public final class Controller {
    private final ClusterState view;
    private final PlacementPolicy policy;
    private final long term;
    private final boolean lendSpares;
    private boolean broken;
    private final Topology topology = new Topology();

    /** {@code committed} is copied; the controller owns the copy. */
    public Controller(ClusterState committed, PlacementPolicy policy, long term) {
        this(committed, policy, term, false);
    }

    /**
     * {@code lendSpares} (server config): a job that fits only with a supernode's spare cards runs on them, marked
     * lent, and is evicted (preempted back to the queue) when a replacement needs those cards. Off: every decision
     * is as without lending.
     */
    public Controller(ClusterState committed, PlacementPolicy policy, long term, boolean lendSpares) {
        this.view = committed.copy();
        this.policy = policy;
        this.term = term;
        this.lendSpares = lendSpares;
    }

    public long term() {
        return term;
    }

    /** The speculative view (read only). */
    public ClusterState view() {
        return view;
    }

    /** True when an interrupted job's restart backoff has run out, so a Reconcile would restart it. */
    public boolean restartDue(long nowMillis) {
        for (var j : view.jobs().values()) {
            if (j.getState() == io.cardinal.protocol.v1.JobState.INTERRUPTED && j.getNotBeforeMs() > 0 && j.getNotBeforeMs() <= nowMillis) {
                return true;
            }
        }
        return false;
    }

    /** True after a handler left the view unusable; the owner must start a new controller from committed state. */
    public boolean broken() {
        return broken;
    }

    public CommandResult handle(Command cmd, long nowMillis) {
        if (broken) throw new IllegalStateException("controller view is broken; start a new controller");
        Batch batch = new Batch(view, nowMillis);
        Reply.Builder reply = Reply.newBuilder().setOk(true);
        try {
            dispatch(cmd, batch, reply);
            batch.finish();
            for (Event e : batch.events()) {
                if (e.hasNodeRegistered()) topology.invalidate();
            }
        } catch (Rejection r) {
            if (batch.events().isEmpty()) {
                return new CommandResult(java.util.List.of(), Reply.newBuilder().setOk(false).setCode(r.code())
                        .setMessage(r.getMessage()).build());
            }
            // Events were applied to the view already: it no longer matches what will be committed.
            broken = true;
            return internal("rejected after emitting events: " + r.getMessage());
        } catch (InvariantViolation | IllegalStateException | IllegalArgumentException e) {
            broken = true;
            return internal(e.getMessage());
        }
        return new CommandResult(batch.events(), reply.setEvents(batch.events().size()).build());
    }

    private static CommandResult internal(String message) {
        return new CommandResult(java.util.List.of(), Reply.newBuilder().setOk(false).setCode("internal")
                .setMessage("controller bug, nothing was written: " + message + " (see the leader's log)").build());
    }

    private void dispatch(Command cmd, Batch b, Reply.Builder reply) {
        Jobs jobs = new Jobs(b, policy, topology, lendSpares);
        Nodes nodes = new Nodes(b, policy, jobs);
        switch (cmd.getBodyCase()) {
            case SUBMIT_JOB:
                jobs.submit(cmd.getSubmitJob().getSpec(), cmd.getIdempotencyKey(), reply);
                break;
            case CANCEL_JOB:
                jobs.cancel(cmd.getCancelJob(), reply);
                break;
            case REPORT_JOB_STARTED:
                jobs.started(cmd.getReportJobStarted(), reply);
                break;
            case REPORT_CHECKPOINT:
                jobs.checkpoint(cmd.getReportCheckpoint(), reply);
                break;
            case REPORT_JOB_EXITED:
                jobs.exited(cmd.getReportJobExited(), reply);
                break;
            case REGISTER_NODE:
                nodes.register(cmd.getRegisterNode(), reply);
                break;
            case CORDON_NODE:
                nodes.cordon(cmd.getCordonNode(), reply);
                break;
            case UNCORDON_NODE:
                nodes.uncordon(cmd.getUncordonNode(), reply);
                break;
            case DRAIN_NODE:
                nodes.drain(cmd.getDrainNode(), reply);
                break;
            case REPORT_CARD_HEALTH:
                nodes.cardHealth(cmd.getReportCardHealth(), reply);
                break;
            case DECLARE_NODE_LOST:
                nodes.lost(cmd.getDeclareNodeLost(), reply);
                break;
            case SET_QUOTA: {
                var q = cmd.getSetQuota();
                if (q.getTenant().isEmpty()) throw Rejection.invalid("tenant: required");
                if (q.getCards() < 0) throw Rejection.invalid("cards: must be >= 0, got " + q.getCards());
                if (q.getBorrowLimitCards() < -1) throw Rejection.invalid("borrowLimitCards: must be >= -1 (-1 = no limit)");
                b.add(Event.newBuilder().setQuotaSet(QuotaSet.newBuilder().setTenant(q.getTenant()).setCards(q.getCards())
                        .setCohort(q.getCohort()).setBorrowLimitCards(q.getBorrowLimitCards())));
                audit(b, cmd, "quota set", q.getTenant() + "=" + q.getCards());
                jobs.schedulePass();
                break;
            }
            case SET_SPARE_RULE: {
                var r = cmd.getSetSpareRule();
                if (r.getSupernodeId().isEmpty()) throw Rejection.invalid("supernodeId: required");
                if (r.getCards() < 0) throw Rejection.invalid("cards: must be >= 0, got " + r.getCards());
                if (r.getPercent() < 0 || r.getPercent() > 100) throw Rejection.invalid("percent: must be 0..100, got " + r.getPercent());
                b.add(Event.newBuilder().setSpareRuleSet(SpareRuleSet.newBuilder().setSupernodeId(r.getSupernodeId())
                        .setCards(r.getCards()).setPercent(r.getPercent())));
                audit(b, cmd, "spare rule set", r.getSupernodeId() + " cards=" + r.getCards() + " percent=" + r.getPercent());
                break;
            }
            case SET_MEMBERS:
                if (cmd.getSetMembers().getMembersCount() == 0) throw Rejection.invalid("members: at least one member");
                b.add(Event.newBuilder().setMembersSet(MembersSet.newBuilder().addAllMembers(cmd.getSetMembers().getMembersList())));
                break;
            case RECONCILE:
                jobs.schedulePass();
                break;
            default:
                throw Rejection.invalid("unknown or empty command (" + cmd.getBodyCase() + ")");
        }
    }

    static void audit(Batch b, Command cmd, String action, String detail) {
        b.add(Event.newBuilder().setAdminAction(AdminAction.newBuilder()
                .setActor(cmd.getActor().isEmpty() ? "unknown" : cmd.getActor()).setAction(action).setDetail(detail)));
    }
}
