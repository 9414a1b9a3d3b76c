package io.cardinal.allocator.sched;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.SupernodeRule;
import io.cardinal.allocator.policy.PlacementPolicy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * One scheduling pass: a pure function of (inventory, pending jobs, running jobs, quotas, now) to an ordered list
 * of decisions. It works on a copy of the inventory and never mutates its inputs; no clock, no randomness.
 *
 * <ol>
 *   <li>Queue order: priority (high first), then submit order (old first), then job id.</li>
 *   <li>Quota: a job fits when its tenant stays within its quota, or borrows idle quota of its cohort within its
 *       borrow limit (the cohort's total use stays within the cohort's total quota). Otherwise it waits.</li>
 *   <li>Placement by the policy. If it fails and the job stays within its own nominal quota, preemption picks the
 *       smallest set of running jobs of strictly lower priority (lowest priority first, then youngest) whose cards
 *       let it be placed: victims are added in that order until it fits, then each is given back, last added
 *       first, when the job still fits without it. Borrowing never preempts.</li>
 *   <li>Backfill: the first job that still cannot be placed is the head; it holds the nodes nearest to fitting it
 *       (a reservation), and later jobs are placed only outside them, so they never take cards the head waits
 *       for. A later job with a run-time estimate may also use the held nodes when it ends before the head's
 *       shadow time (the latest estimated end of the jobs holding those nodes), as EASY backfill does.</li>
 *   <li>At most {@code maxJobsConsidered} pending jobs are tried per pass; the rest wait.</li>
 * </ol>
 */
public final class Scheduler {
    private final PlacementPolicy policy;
    private final Options options;

    /** Knobs of the pass. */
    public record Options(int maxJobsConsidered, boolean preemption, boolean backfill, int maxVictimsTried) {
        public Options {
            if (maxJobsConsidered < 1) throw new IllegalArgumentException("maxJobsConsidered must be >= 1");
            if (maxVictimsTried < 0) throw new IllegalArgumentException("maxVictimsTried must be >= 0");
        }

        public static Options defaults() {
            return new Options(1000, true, true, 256);
        }
    }

    /** The input of a pass. {@code nowMillis} is the leader-stamped time, used only with run-time estimates. */
    public record Input(Inventory inventory, List<PendingJob> pending, List<RunningJob> running,
                        Map<String, TenantQuota> quotas, long nowMillis) {
        public Input {
            Objects.requireNonNull(inventory, "inventory");
            pending = List.copyOf(pending);
            running = List.copyOf(running);
            quotas = Map.copyOf(quotas);
        }
    }

    public Scheduler(PlacementPolicy policy) {
        this(policy, Options.defaults());
    }

    public Scheduler(PlacementPolicy policy, Options options) {
        this.policy = Objects.requireNonNull(policy, "policy");
        this.options = Objects.requireNonNull(options, "options");
    }

    public PlacementPolicy policy() {
        return policy;
    }

    public List<SchedulingDecision> schedule(Input in) {
        return new Pass(in).run();
    }

    /** Queue order: priority desc, submit order asc, id. */
    public static final Comparator<PlacementRequest> QUEUE_ORDER = Comparator
            .comparingInt((PlacementRequest r) -> -r.priority())
            .thenComparingLong(PlacementRequest::submitOrder)
            .thenComparing(PlacementRequest::jobId);

    private final class Pass {
        final Input in;
        final Inventory work;
        final Map<String, Long> usedByTenant = new HashMap<>();
        final Map<String, RunningJob> runningById = new HashMap<>();
        final Set<String> preempted = new HashSet<>();
        final List<SchedulingDecision> out = new ArrayList<>();
        /** Smallest task count that failed per request shape in this pass (placement only shrinks capacity). */
        final Map<String, Integer> failedShapes = new HashMap<>();
        Set<String> reservedNodes = Set.of();
        long shadowMillis = 0; // 0: unknown
        String headJob;

        Pass(Input in) {
            this.in = in;
            this.work = in.inventory().copy();
            for (RunningJob r : in.running()) {
                usedByTenant.merge(r.tenant(), (long) r.cards().size(), Long::sum);
                runningById.put(r.jobId(), r);
            }
        }

        List<SchedulingDecision> run() {
            List<PendingJob> queue = new ArrayList<>(in.pending());
            queue.sort(Comparator.comparing(PendingJob::request, QUEUE_ORDER));
            int considered = 0;
            for (PendingJob job : queue) {
                if (considered++ >= options.maxJobsConsidered()) {
                    out.add(new SchedulingDecision.Wait(job.jobId(), "not considered this pass: beyond the first "
                            + options.maxJobsConsidered() + " jobs of the queue"));
                    continue;
                }
                consider(job);
            }
            return out;
        }

        void consider(PendingJob job) {
            PlacementRequest req = job.request();
            long need = req.totalCards();
            String quotaProblem = quotaProblem(req.tenant(), need);
            if (quotaProblem != null) {
                // Within its own quota but the cohort lent it out: it may reclaim by preemption.
                if (options.preemption() && withinNominal(req.tenant(), need) && preemptFor(req)) return;
                out.add(new SchedulingDecision.Wait(req.jobId(), quotaProblem));
                return;
            }
            Decision d = tryPlace(req);
            if (d instanceof Decision.Placed p) {
                commit(req, p, p.reason());
                return;
            }
            // Backfill into the head's held nodes when the job surely ends before the head needs them.
            if (!reservedNodes.isEmpty() && shadowMillis > 0 && job.estimatedRunMillis() > 0
                    && in.nowMillis() + job.estimatedRunMillis() <= shadowMillis) {
                setCordoned(reservedNodes, false);
                Decision b = policy.place(work, req);
                if (b instanceof Decision.Placed p) {
                    commit(req, p, p.reason() + "; backfilled: ends before the head " + headJob + " needs these cards");
                }
                setCordoned(reservedNodes, true);
                if (b instanceof Decision.Placed) return;
            }
            if (options.preemption() && withinNominal(req.tenant(), need) && preemptFor(req)) return;
            String reason = d.reason();
            if (options.backfill() && headJob == null) {
                reserve(req);
                if (!reservedNodes.isEmpty()) reason += "; head of the queue: holds " + reservedNodes.size() + " node(s)";
            } else if (headJob != null) {
                reason += "; behind head " + headJob;
            }
            out.add(new SchedulingDecision.Wait(req.jobId(), reason));
        }

        /** Preempts the fewest lower-priority jobs that let {@code req} be placed within quota; false if none do. */
        boolean preemptFor(PlacementRequest req) {
            List<String> victims = chooseVictims(req);
            if (victims == null) return false;
            Decision after = policy.place(work, req);
            if (!(after instanceof Decision.Placed p)) {
                throw new IllegalStateException("victims chosen but " + req.jobId() + " still not placed: " + after.reason());
            }
            for (String v : victims) {
                RunningJob r = runningById.get(v);
                out.add(new SchedulingDecision.Preempt(v, req.jobId(), "priority " + r.priority() + " < "
                        + req.priority() + " of " + req.jobId()));
            }
            failedShapes.clear(); // cards came back
            commit(req, p, p.reason() + "; after preempting " + victims);
            return true;
        }

        /** Quota allows it and the policy places it, on the current working state. */
        boolean fitsNow(PlacementRequest req) {
            return quotaProblem(req.tenant(), req.totalCards()) == null
                    && work.usableCardCount() >= req.totalCards()
                    && policy.place(work, req) instanceof Decision.Placed;
        }

        void unhold(RunningJob r) {
            work.release(r.jobId());
            usedByTenant.merge(r.tenant(), -(long) r.cards().size(), Long::sum);
        }

        void rehold(RunningJob r, Holder h, List<CardRef> cards) {
            work.restore(h, cards);
            usedByTenant.merge(r.tenant(), (long) r.cards().size(), Long::sum);
        }

        Decision tryPlace(PlacementRequest req) {
            String shape = shape(req);
            Integer failedAt = failedShapes.get(shape);
            if (failedAt != null && req.tasks() >= failedAt) {
                return new Decision.NotPlaced("no room: a job of the same shape with " + failedAt + " task(s) did not fit this pass");
            }
            Decision d = work.usableCardCount() < req.totalCards()
                    ? new Decision.NotPlaced("not enough usable cards: need " + req.totalCards() + ", " + work.usableCardCount() + " usable")
                    : policy.place(work, req);
            if (d instanceof Decision.NotPlaced) failedShapes.merge(shape, req.tasks(), Math::min);
            return d;
        }

        void commit(PlacementRequest req, Decision.Placed p, String reason) {
            work.allocate(new Holder(req.jobId(), 1), p.placement());
            usedByTenant.merge(req.tenant(), (long) req.totalCards(), Long::sum);
            out.add(new SchedulingDecision.Place(req.jobId(), p.placement(), reason));
        }

        // ---- quota ---------------------------------------------------------------------------------------------

        String quotaProblem(String tenant, long need) {
            TenantQuota q = in.quotas().get(tenant);
            if (q == null) return null;
            long used = usedByTenant.getOrDefault(tenant, 0L);
            long borrow = used + need - q.cards();
            if (q.cohort() == null) {
                if (borrow <= 0) return null;
                return "quota: tenant " + tenant + " uses " + used + " of " + q.cards() + " cards, needs " + need + " more";
            }
            if (borrow > q.borrowLimitCards()) {
                return "quota: tenant " + tenant + " would borrow " + borrow + " cards, limit " + q.borrowLimitCards();
            }
            long cohortQuota = 0;
            long cohortUsed = 0;
            for (TenantQuota m : in.quotas().values()) {
                if (!q.cohort().equals(m.cohort())) continue;
                cohortQuota += m.cards();
                cohortUsed += usedByTenant.getOrDefault(m.tenant(), 0L);
            }
 
            if (cohortUsed + need > cohortQuota) {
                if (borrow <= 0) {
                    return "quota: within tenant " + tenant + "'s quota, but cohort " + q.cohort() + " lent it out ("
                            + cohortUsed + " of " + cohortQuota + " cards used)";
                }
                return "quota: cohort " + q.cohort() + " uses " + cohortUsed + " of " + cohortQuota + " cards, no idle quota for " + need;
            }
            return null;
        }

        boolean withinNominal(String tenant, long need) {
            TenantQuota q = in.quotas().get(tenant);
            return q == null || usedByTenant.getOrDefault(tenant, 0L) + need <= q.cards();
        }

        // ---- preemption ----------------------------------------------------------------------------------------

        /** Victims, released on {@code work} when found; null (and work unchanged) when none would do. */
        List<String> chooseVictims(PlacementRequest req) {
            List<RunningJob> candidates = new ArrayList<>();
            for (RunningJob r : in.running()) {
                if (r.priority() < req.priority() && !preempted.contains(r.jobId()) && !work.cardsOf(r.jobId()).isEmpty()) {
                    candidates.add(r);
                }
            }
            if (candidates.isEmpty()) return null;
            candidates.sort(Comparator.comparingInt(RunningJob::priority)
                    .thenComparing(Comparator.comparingLong(RunningJob::submitOrder).reversed())
                    .thenComparing(RunningJob::jobId));
            if (candidates.size() > options.maxVictimsTried()) candidates = candidates.subList(0, options.maxVictimsTried());
            // Cheap bound first: all candidates together must free enough cards.
            long freeable = work.usableCardCount();
            for (RunningJob r : candidates) freeable += r.cards().size();
            if (freeable < req.totalCards()) return null;
            LinkedHashSet<String> chosen = new LinkedHashSet<>();
            Map<String, Holder> holders = new HashMap<>();
            Map<String, List<CardRef>> cards = new HashMap<>();
            boolean fits = false;
            for (RunningJob r : candidates) {
                List<CardRef> held = work.cardsOf(r.jobId());
                holders.put(r.jobId(), work.holder(held.get(0)));
                cards.put(r.jobId(), held);
                unhold(r);
                chosen.add(r.jobId());
                if (fitsNow(req)) {
                    fits = true;
                    break;
                }
            }
            if (!fits) {
                for (String v : chosen) rehold(runningById.get(v), holders.get(v), cards.get(v));
                return null;
            }
            // Give back every victim that is not needed, the last added (highest priority, oldest) first.
            List<String> order = new ArrayList<>(chosen);
            for (int i = order.size() - 1; i >= 0; i--) {
                String v = order.get(i);
                RunningJob r = runningById.get(v);
                rehold(r, holders.get(v), cards.get(v));
                if (fitsNow(req)) chosen.remove(v);
                else unhold(r);
            }
            preempted.addAll(chosen);
            return new ArrayList<>(chosen);
        }

        // ---- reservation ---------------------------------------------------------------------------------------

        /**
         * Holds nodes for the head; they are cordoned in the pass's working copy. With run-time estimates for every
         * running job, it holds the nodes that let the head start earliest (each node counts as free when the last
         * job on it is expected to end), inside one supernode when the job wants one; without estimates, the nodes
         * with the most usable cards now.
         */
        void reserve(PlacementRequest req) {
            headJob = req.jobId();
            int c = req.cardsPerTask();
            Map<String, Long> freeAt = estimatedFreeTimes();
            boolean oneSupernode = req.rule() != SupernodeRule.ANY && anySupernodeCouldHold(req);
            // Candidate groups: each supernode when the job wants one, else the whole cluster.
            List<List<long[]>> groups = new ArrayList<>();
            for (int s = 0; s < work.supernodeCount(); s++) {
                if (oneSupernode || groups.isEmpty()) groups.add(new ArrayList<>());
                List<long[]> g = groups.get(groups.size() - 1);
                for (int k = 0; k < work.nodeCountAt(s); k++) {
                    if (!nodeMatches(s, k, req) || work.nodeCardsAt(s, k) < c) continue;
                    long usable = work.nodeUsableAt(s, k, req.cardModels());
                    long at = freeAt == null ? 0 : freeAt.getOrDefault(work.nodeIdAt(s, k), in.nowMillis());
                    // freeAt == null: no estimates, rank by usable cards now
                    g.add(new long[] {at, -usable, s, k});
                }
            }
            List<long[]> best = null;
            long bestStart = Long.MAX_VALUE;
            long bestUsable = -1;
            for (List<long[]> g : groups) {
                g.sort((a, b) -> {
                    for (int x = 0; x < 4; x++) if (a[x] != b[x]) return Long.compare(a[x], b[x]);
                    return 0;
                });
                long slots = 0;
                long usable = 0;
                List<long[]> take = new ArrayList<>();
                for (long[] n : g) {
                    if (slots >= req.tasks()) break;
                    take.add(n);
                    slots += work.nodeCardsAt((int) n[2], (int) n[3]) / c;
                    usable -= n[1];
                }
                if (slots < req.tasks()) continue;
                long start = take.get(take.size() - 1)[0];
                if (start < bestStart || (start == bestStart && usable > bestUsable)) {
                    bestStart = start;
                    bestUsable = usable;
                    best = take;
                }
            }
            if (best == null) return; // cannot fit even on an empty cluster: hold nothing
            TreeSet<String> held = new TreeSet<>();
            for (long[] n : best) held.add(work.nodeIdAt((int) n[2], (int) n[3]));
            reservedNodes = held;
            setCordoned(reservedNodes, true);
            shadowMillis = freeAt == null ? 0 : Math.max(in.nowMillis(), bestStart);
        }

        /** Per node, when the last job on it is expected to end; null when some running job has no estimate. */
        Map<String, Long> estimatedFreeTimes() {
            Map<String, Long> at = new HashMap<>();
            for (RunningJob r : in.running()) {
                if (preempted.contains(r.jobId())) continue;
                if (r.estimatedEndMillis() <= 0) return null;
                for (CardRef card : r.cards()) at.merge(card.nodeId(), r.estimatedEndMillis(), Math::max);
            }
            return at;
        }

        boolean anySupernodeCouldHold(PlacementRequest req) {
            for (int s = 0; s < work.supernodeCount(); s++) {
                long slots = 0;
                for (int k = 0; k < work.nodeCountAt(s); k++) {
                    if (nodeMatches(s, k, req)) slots += work.nodeCardsAt(s, k) / req.cardsPerTask();
                }
                if (slots >= req.tasks()) return true;
            }
            return false;
        }

        boolean nodeMatches(int s, int k, PlacementRequest req) {
            String model = work.nodeModelAt(s, k);
            String nodeId = work.nodeIdAt(s, k);
            Inventory.NodeView v = work.nodeView(nodeId);
            if (!v.online() || v.cordoned()) return false;
            return req.cardModels().isEmpty() || model == null || req.cardModels().contains(model);
        }

        void setCordoned(Set<String> nodes, boolean cordoned) {
            for (String n : nodes) work.setNodeCordoned(n, cordoned);
        }
    }

    private static String shape(PlacementRequest r) {
        return r.cardsPerTask() + "|" + new TreeSet<>(r.cardModels()) + "|" + r.rule() + "|" + r.maxSupernodes();
    }
}
