package io.cardinal.allocator.sched;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.SupernodeRule;
import io.cardinal.allocator.policy.PlacementPolicy;
import io.cardinal.allocator.policy.SpareLending;

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
 *   <li>Placement by the policy. If it fails, or quota stops the job, preemption picks the smallest set of running
 *       jobs of strictly lower priority (lowest priority first, then youngest) whose stop lets it be placed within
 *       its tenant's own nominal quota: victims are added in that order until it fits, then each is given back,
 *       last added first, when the job still fits without it. A job short of quota (its own lower-priority jobs
 *       fill its quota, or its cohort lent the quota out) takes victims only among its own tenant's jobs and those
 *       of cohort members that borrow. Borrowing never preempts: a job that would exceed its own quota even after
 *       its tenant's lower-priority jobs stop waits.</li>
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

    /**
     * Knobs of the pass. {@code localityWaitPercent}: how long a PREFERRED job that the policy would rather hold for
     * one supernode may wait for one, in percent of its estimated run time; when no supernode is expected to have
     * room sooner (by the running jobs' estimated ends), it is spread over several now. It stands for the slowdown
     * a job split over the scale-out network would suffer: waiting longer than that costs more than it saves.
     * Without run-time estimates the job waits (nothing tells when a supernode frees up). {@code lendSpares}: a
     * job that cannot be placed normally may get a lent placement on one supernode's free and spare cards
     * ({@link SpareLending#placeLent}), tried right after normal placement; off by default, and with it off every
     * decision is the same as without the option. {@code holdLatestFree}: of the nodes that let the head start
     * earliest, hold those expected to free up last, so the ones that free up sooner stay open to backfill of any
     * length until the head starts (see {@link Pass#planHold}); off, the head holds the nodes that free up first, as
     * EASY backfill does.
     */
    public record Options(int maxJobsConsidered, boolean preemption, boolean backfill, int maxVictimsTried,
                          int localityWaitPercent, boolean lendSpares, boolean holdLatestFree) {
        public static final int DEFAULT_LOCALITY_WAIT_PERCENT = 100;

        public Options {
            if (maxJobsConsidered < 1) throw new IllegalArgumentException("maxJobsConsidered must be >= 1");
            if (maxVictimsTried < 0) throw new IllegalArgumentException("maxVictimsTried must be >= 0");
            if (localityWaitPercent < 0) throw new IllegalArgumentException("localityWaitPercent must be >= 0");
        }

        public Options(int maxJobsConsidered, boolean preemption, boolean backfill, int maxVictimsTried, int localityWaitPercent,
                       boolean lendSpares) {
            this(maxJobsConsidered, preemption, backfill, maxVictimsTried, localityWaitPercent, lendSpares, false);
        }

        public Options(int maxJobsConsidered, boolean preemption, boolean backfill, int maxVictimsTried, int localityWaitPercent) {
            this(maxJobsConsidered, preemption, backfill, maxVictimsTried, localityWaitPercent, false);
        }

        public Options(int maxJobsConsidered, boolean preemption, boolean backfill, int maxVictimsTried) {
            this(maxJobsConsidered, preemption, backfill, maxVictimsTried, DEFAULT_LOCALITY_WAIT_PERCENT);
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
        final Map<String, Long> estimatedRunMillis = new HashMap<>();
        /** Per node, the latest estimated end of jobs placed in this pass (-1: one has no estimate). */
        final Map<String, Long> passEnds = new HashMap<>();
        /** Like {@code failedShapes}, for spreading PREFERRED jobs. */
        final Map<String, Integer> spreadFailed = new HashMap<>();
        /** Like {@code failedShapes}, for lent placements. */
        final Map<String, Integer> lentFailed = new HashMap<>();
        /** Lent jobs released on the working copy while victims are tried, so that putting them back keeps the mark. */
        final Set<String> unheldLent = new HashSet<>();
        Map<String, Long> freeAtCache;
        boolean freeAtUnknown;
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
            for (PendingJob j : queue) estimatedRunMillis.put(j.jobId(), j.estimatedRunMillis());
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
                // It may preempt when it would stay within its own quota once its tenant's lower-priority jobs
                // stop: the cohort lent the quota out (reclaim from borrowers), or its own jobs fill it.
                if (options.preemption() && withinNominalAfterOwnLower(req) && preemptFor(req, true)) return;
                out.add(new SchedulingDecision.Wait(req.jobId(), quotaProblem));
                return;
            }
            Decision d = tryPlace(req);
            if (d instanceof Decision.Placed p) {
                commit(req, p, p.reason());
                return;
            }
            // Before spreading: a lent placement keeps the job in one supernode, and takes nothing from the head's
            // hold (its nodes are cordoned on the working copy, and they include their supernode's spare count).
            if (options.lendSpares() && placeLent(req)) return;
            if (spreadIfOneIsFar(job)) return;
            // Backfill into the head's held nodes when the job surely ends before the head needs them.
            if (!reservedNodes.isEmpty() && shadowMillis > 0 && job.estimatedRunMillis() > 0
                    && in.nowMillis() + job.estimatedRunMillis() <= shadowMillis) {
                hold(false);
                Decision b = policy.place(work, req);
                boolean lent = false;
                if (!(b instanceof Decision.Placed) && options.lendSpares()) {
                    b = SpareLending.placeLent(policy, work, req);
                    lent = true;
                }
                if (b instanceof Decision.Placed p) {
                    commit(req, p, p.reason() + "; backfilled: ends before the head " + headJob + " needs these cards", lent);
                }
                hold(true);
                if (b instanceof Decision.Placed) return;
            }
            if (options.preemption() && withinNominalAfterOwnLower(req) && preemptFor(req, false)) return;
            String reason = d.reason();
            if (options.backfill() && headJob == null) {
                reserve(req);
                if (!reservedNodes.isEmpty()) reason += "; head of the queue: holds " + reservedNodes.size() + " node(s)";
            } else if (headJob != null) {
                reason += "; behind head " + headJob;
            }
            out.add(new SchedulingDecision.Wait(req.jobId(), reason));
        }

        /** A lent placement on one supernode's free and spare cards ({@link SpareLending#placeLent}); true when placed. */
        boolean placeLent(PlacementRequest req) {
            if (work.usableCardCount() < req.totalCards()) return false;
            Integer failedAt = lentFailed.get(shape(req));
            if (failedAt != null && req.tasks() >= failedAt) return false;
            Decision d = SpareLending.placeLent(policy, work, req);
            if (!(d instanceof Decision.Placed p)) {
                lentFailed.merge(shape(req), req.tasks(), Math::min);
                return false;
            }
            // The head's held nodes are cordoned only on this working copy: without them the placement may leave
            // the spare count free, and then it is a normal placement, not a lent one.
            hold(false);
            boolean lent = !SpareLending.spareCardsTaken(work, p.placement()).isEmpty();
            hold(true);
            commit(req, p, lent ? p.reason() : p.reason().substring(p.reason().indexOf("; ") + 2), lent);
            return true;
        }

        /**
         * A PREFERRED job the policy holds back for one supernode is spread now when no supernode is expected to
         * have room for it within its locality wait ({@link Options#localityWaitPercent}); true when placed.
         */
        boolean spreadIfOneIsFar(PendingJob job) {
            PlacementRequest req = job.request();
            if (req.rule() != SupernodeRule.PREFERRED || job.estimatedRunMillis() <= 0) return false;
            if (work.usableCardCount() < req.totalCards()) return false;
            Integer failedAt = spreadFailed.get(shape(req));
            if (failedAt != null && req.tasks() >= failedAt) return false;
            // Placing first: for a policy that spreads PREFERRED jobs anyway this fails at once, as place did.
            Decision d = policy.placeSpread(work, req);
            if (!(d instanceof Decision.Placed p)) {
                spreadFailed.merge(shape(req), req.tasks(), Math::min);
                return false;
            }
            long waitMillis = oneSupernodeWaitMillis(req);
            if (waitMillis < 0 || waitMillis <= job.estimatedRunMillis() / 100 * options.localityWaitPercent()) return false;
            commit(req, p, p.reason() + "; spread: no supernode expected to have room for " + (waitMillis / 60_000) + " min");
            return true;
        }

        /** Expected wait until some supernode could hold {@code req}; -1 when unknown (no estimates) or never. */
        long oneSupernodeWaitMillis(PlacementRequest req) {
            Map<String, Long> freeAt = estimatedFreeTimes();
            if (freeAt == null || !anySupernodeCouldHold(req)) return -1;
            Hold h = planHold(req, true, freeAt);
            return h == null ? -1 : Math.max(0, h.startMillis() - in.nowMillis());
        }

        /**
         * Preempts the fewest lower-priority jobs that let {@code req} be placed within its own nominal quota; false
         * if none do. {@code forQuota}: the job is short of quota, not of cards, so only jobs whose stop gives quota
         * back in a way Kueue allows are victims: its own tenant's, and those of cohort members that borrow.
         */
        boolean preemptFor(PlacementRequest req, boolean forQuota) {
            List<String> victims = chooseVictims(req, forQuota);
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
            spreadFailed.clear();
            lentFailed.clear();
            commit(req, p, p.reason() + "; after preempting " + victims);
            return true;
        }

        /** Quota allows it without borrowing and the policy places it, on the current working state. */
        boolean fitsNow(PlacementRequest req) {
            return quotaProblem(req.tenant(), req.totalCards()) == null
                    && withinNominal(req.tenant(), req.totalCards())
                    && work.usableCardCount() >= req.totalCards()
                    && policy.place(work, req) instanceof Decision.Placed;
        }

        void unhold(RunningJob r) {
            if (work.isLent(r.jobId())) unheldLent.add(r.jobId());
            work.release(r.jobId());
            usedByTenant.merge(r.tenant(), -(long) r.cards().size(), Long::sum);
        }

        void rehold(RunningJob r, Holder h, List<CardRef> cards) {
            work.restore(h, cards, unheldLent.contains(r.jobId()));
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
            commit(req, p, reason, false);
        }

        void commit(PlacementRequest req, Decision.Placed p, String reason, boolean lent) {
            long est = estimatedRunMillis.getOrDefault(req.jobId(), 0L);
            // The nodes it takes are busy until it ends: later reservations of this pass must not count them free.
            for (var t : p.placement().tasks()) passEnds.merge(t.nodeId(), est > 0 ? in.nowMillis() + est : -1L, Scheduler::laterEnd);
            freeAtCache = null;
            work.allocate(new Holder(req.jobId(), 1), p.placement(), lent);
            usedByTenant.merge(req.tenant(), (long) req.totalCards(), Long::sum);
            out.add(new SchedulingDecision.Place(req.jobId(), p.placement(), reason, lent));
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

        /**
         * Would the job stay within its tenant's own quota if every running job of that tenant with strictly lower
         * priority stopped? Preemption never serves borrowing, so a job beyond this bound never preempts.
         */
        boolean withinNominalAfterOwnLower(PlacementRequest req) {
            TenantQuota q = in.quotas().get(req.tenant());
            if (q == null) return true;
            long used = usedByTenant.getOrDefault(req.tenant(), 0L);
            if (used + req.totalCards() <= q.cards()) return true;
            long ownLower = 0;
            for (RunningJob r : in.running()) {
                if (r.tenant().equals(req.tenant()) && r.priority() < req.priority() && !preempted.contains(r.jobId())) {
                    ownLower += r.cards().size();
                }
            }
            return used - ownLower + req.totalCards() <= q.cards();
        }

        /** A tenant of {@code tenant}'s cohort (not itself) that uses more than its own quota. */
        boolean borrowerInCohortOf(String tenant, String other) {
            TenantQuota q = in.quotas().get(tenant);
            TenantQuota o = in.quotas().get(other);
            return q != null && o != null && q.cohort() != null && q.cohort().equals(o.cohort()) && !tenant.equals(other)
                    && usedByTenant.getOrDefault(other, 0L) > o.cards();
        }

        // ---- preemption ----------------------------------------------------------------------------------------

        /** Victims, released on {@code work} when found; null (and work unchanged) when none would do. */
        List<String> chooseVictims(PlacementRequest req, boolean forQuota) {
            List<RunningJob> candidates = new ArrayList<>();
            for (RunningJob r : in.running()) {
                if (r.priority() >= req.priority() || preempted.contains(r.jobId()) || work.cardsOf(r.jobId()).isEmpty()) continue;
                // Short of quota: a lender's jobs within its own quota are not taken (that would reclaim from the
                // lender, not from a borrower).
                if (forQuota && !r.tenant().equals(req.tenant()) && !borrowerInCohortOf(req.tenant(), r.tenant())) continue;
                candidates.add(r);
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
            freeAtCache = null;
            freeAtUnknown = false;
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
            Map<String, Long> freeAt = estimatedFreeTimes();
            boolean oneSupernode = req.rule() != SupernodeRule.ANY && anySupernodeCouldHold(req);
            Hold best = planHold(req, oneSupernode, freeAt);
            if (best != null && oneSupernode && req.rule() == SupernodeRule.PREFERRED && freeAt != null) {
                // A PREFERRED job is spread when one supernode is far off (spreadIfOneIsFar): hold for that.
                long run = estimatedRunMillis.getOrDefault(req.jobId(), 0L);
                if (run > 0 && best.startMillis() - in.nowMillis() > run / 100 * options.localityWaitPercent()) {
                    Hold across = planHold(req, false, freeAt);
                    if (across != null) best = across;
                }
            }
            if (best == null) return; // cannot fit even on an empty cluster: hold nothing
            reservedNodes = best.nodes();
            hold(true);
            shadowMillis = freeAt == null ? 0 : Math.max(in.nowMillis(), best.startMillis());
        }

        record Hold(TreeSet<String> nodes, long startMillis) {
        }

        /**
         * The nodes that let {@code req} start earliest (inside one supernode when {@code oneSupernode}): each node
         * counts as free when the last job on it is expected to end; with {@code freeAt} null (no estimates), the
         * nodes with the most usable cards now. Null when it cannot fit even on an empty cluster.
         */
        Hold planHold(PlacementRequest req, boolean oneSupernode, Map<String, Long> freeAt) {
            int c = req.cardsPerTask();
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
                List<long[]> take = takeFor(g, req.tasks(), c);
                if (take == null) continue;
                long start = take.get(take.size() - 1)[0];
                if (options.holdLatestFree() && freeAt != null) {
                    List<long[]> latest = takeFor(latestFirst(g, start), req.tasks(), c); // a superset of take's nodes
                    if (latest != null) take = latest;
                }
                long usable = 0;
                for (long[] n : take) usable -= n[1];
                if (start < bestStart || (start == bestStart && usable > bestUsable)) {
                    bestStart = start;
                    bestUsable = usable;
                    best = take;
                }
            }
            if (best == null) return null;
            TreeSet<String> held = new TreeSet<>();
            for (long[] n : best) held.add(work.nodeIdAt((int) n[2], (int) n[3]));
            return new Hold(held, bestStart);
        }

        /**
         * The first nodes of {@code ordered} ({free at, -usable, supernode, node}) that hold {@code tasks} tasks of
         * {@code c} cards once free; null when all of them cannot. Normal placement leaves each supernode's spare
         * count free, so a supernode's held nodes count for min(their task slots, (their cards - spares) / c):
         * holding too few would let backfill fill the rest of the supernode and leave the head short of the spare
         * cards when its nodes free up.
         */
        List<long[]> takeFor(List<long[]> ordered, int tasks, int c) {
            Map<Integer, long[]> perSupernode = new HashMap<>(); // s -> {slots, cards}
            long slots = 0;
            List<long[]> take = new ArrayList<>();
            for (long[] n : ordered) {
                if (slots >= tasks) break;
                take.add(n);
                int s = (int) n[2];
                long[] acc = perSupernode.computeIfAbsent(s, x -> new long[2]);
                slots -= heldSlots(s, acc, c);
                int cards = work.nodeCardsAt(s, (int) n[3]);
                acc[0] += cards / c;
                acc[1] += cards;
                slots += heldSlots(s, acc, c);
            }
            return slots >= tasks ? take : null;
        }

        /**
         * The group's nodes expected free by {@code startMillis}, the latest first (ties as in the earliest-first
         * order). Holding these keeps the head's start: a held node idles from when it frees up until the head
         * starts unless a job short enough to end by then comes along, while a node left unheld takes backfill of
         * any length, so the nodes that free up soonest are the ones to leave open.
         */
        List<long[]> latestFirst(List<long[]> g, long startMillis) {
            List<long[]> cand = new ArrayList<>();
            for (long[] n : g) if (n[0] <= startMillis) cand.add(n);
            cand.sort((a, b) -> {
                if (a[0] != b[0]) return Long.compare(b[0], a[0]);
                for (int x = 1; x < 4; x++) if (a[x] != b[x]) return Long.compare(a[x], b[x]);
                return 0;
            });
            return cand;
        }

        /** Tasks held nodes of supernode s ({slots, cards}) can take while its spare cards stay free. */
        long heldSlots(int s, long[] acc, int cardsPerTask) {
            return Math.min(acc[0], Math.max(0, acc[1] - work.spareCountAt(s)) / cardsPerTask);
        }

        /**
         * Per node, when the last job on it (running, or placed earlier in this pass) is expected to end; null when
         * one of them has no estimate. Cached until the pass places or preempts a job.
         */
        Map<String, Long> estimatedFreeTimes() {
            if (freeAtCache != null || freeAtUnknown) return freeAtCache;
            Map<String, Long> at = new HashMap<>();
            for (RunningJob r : in.running()) {
                if (preempted.contains(r.jobId())) continue;
                if (r.estimatedEndMillis() <= 0) {
                    freeAtUnknown = true;
                    return null;
                }
                for (CardRef card : r.cards()) at.merge(card.nodeId(), r.estimatedEndMillis(), Math::max);
            }
            for (var e : passEnds.entrySet()) {
                if (e.getValue() < 0) {
                    freeAtUnknown = true;
                    return null;
                }
                at.merge(e.getKey(), e.getValue(), Math::max);
            }
            freeAtCache = at;
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

        /** Puts the head's hold on the working copy (held nodes cordoned) or lifts it. */
        void hold(boolean on) {
            for (String n : reservedNodes) work.setNodeCordoned(n, on);
        }
    }

    /** The later of two estimated ends, where -1 (unknown) wins. */
    private static Long laterEnd(Long a, Long b) {
        return a < 0 || b < 0 ? -1L : Math.max(a, b);
    }

    private static String shape(PlacementRequest r) {
        return r.cardsPerTask() + "|" + new TreeSet<>(r.cardModels()) + "|" + r.rule() + "|" + r.maxSupernodes();
    }
}
