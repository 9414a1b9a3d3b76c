package io.cardinal.allocator.sim;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.TaskCards;
import io.cardinal.allocator.policy.Fragmentation;
import io.cardinal.allocator.policy.PlacementPolicy;
import io.cardinal.allocator.policy.SpareLending;
import io.cardinal.allocator.policy.Validation;
import io.cardinal.allocator.sched.PendingJob;
import io.cardinal.allocator.sched.RunningJob;
import io.cardinal.allocator.sched.Scheduler;
import io.cardinal.allocator.sched.SchedulingDecision;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeMap;

/**
 * Discrete-event replay of one workload under one policy. Deterministic: events are ordered by (time, kind, seq)
 * and everything else is a pure function of the workload.
 *
 * <p>Restart model (stated, the same for every policy): a job checkpoints every {@code checkpointMillis} of
 * progress; an interruption loses the progress since its last checkpoint. A transient interruption restarts the
 * job on the same cards after {@code restartLocalMillis}. A lost card asks the policy for a replacement: when it
 * keeps every unaffected task in place (Cardinal's local replacement) the restart costs {@code restartLocalMillis}
 * (restore from local/buddy checkpoint shards); when the whole job moves it costs {@code restartFullMillis}
 * (relaunch every rank, restore from remote storage); when nothing fits the job goes back to the queue and pays
 * {@code restartFullMillis} once placed again.
 *
 * <p>Spread slowdown ({@link Config#spreadSlowdown}, the same for every policy): a job that one supernode of the
 * empty cluster could hold, running over several, progresses at 1/slowdown of its speed. Allocated utilization
 * counts its cards in full; {@link Result#usefulBetween} counts what became kept progress.
 */
public final class Simulator {
    private static final int FINISH = 0;
    private static final int REPAIR = 1;
    private static final int FAILURE = 2;
    private static final int SUBMIT = 3;
    private static final long MAX_EVENTS = 50_000_000;

    /**
     * {@code lendSpares}: a policy run with spares lends them (see {@link SpareLending}): a waiting job that fits
     * only with spare cards runs on them (in one supernode unless its rule is ANY), and is evicted (stopped as a
     * preemption is: progress since the last checkpoint lost, a full restart once placed again) when a replacement
     * needs the cards. {@code holdLatestFree}: the head of the queue holds, of the nodes that let it start
     * earliest, those that free up last ({@link Scheduler.Options#holdLatestFree}).
     */
    public record Config(long checkpointMillis, long restartLocalMillis, long restartFullMillis, boolean estimates,
                         int maxJobsConsidered, int localityWaitPercent, boolean lendSpares, boolean holdLatestFree,
                         double spreadSlowdown) {
        /** Beyond this a "slowed" job is stuck, not slow; the bound keeps run times far from overflow. */
        public static final double MAX_SPREAD_SLOWDOWN = 100;

        public Config {
            if (!(spreadSlowdown >= 1.0) || spreadSlowdown > MAX_SPREAD_SLOWDOWN) {
                throw new IllegalArgumentException("spreadSlowdown must be in [1, " + (int) MAX_SPREAD_SLOWDOWN + "], got " + spreadSlowdown);
            }
        }

        public Config(long checkpointMillis, long restartLocalMillis, long restartFullMillis, boolean estimates,
                      int maxJobsConsidered, int localityWaitPercent, boolean lendSpares, boolean holdLatestFree) {
            this(checkpointMillis, restartLocalMillis, restartFullMillis, estimates, maxJobsConsidered, localityWaitPercent, lendSpares,
                    holdLatestFree, 1.0);
        }

        public Config(long checkpointMillis, long restartLocalMillis, long restartFullMillis, boolean estimates, int maxJobsConsidered) {
            this(checkpointMillis, restartLocalMillis, restartFullMillis, estimates, maxJobsConsidered, Scheduler.Options.DEFAULT_LOCALITY_WAIT_PERCENT);
        }

        public Config(long checkpointMillis, long restartLocalMillis, long restartFullMillis, boolean estimates, int maxJobsConsidered,
                      int localityWaitPercent) {
            this(checkpointMillis, restartLocalMillis, restartFullMillis, estimates, maxJobsConsidered, localityWaitPercent, false, false);
        }

        public Config withLendSpares(boolean lend) {
            return new Config(checkpointMillis, restartLocalMillis, restartFullMillis, estimates, maxJobsConsidered, localityWaitPercent, lend,
                    holdLatestFree, spreadSlowdown);
        }

        public Config withHoldLatestFree(boolean latest) {
            return new Config(checkpointMillis, restartLocalMillis, restartFullMillis, estimates, maxJobsConsidered, localityWaitPercent, lendSpares,
                    latest, spreadSlowdown);
        }

        public Config withSpreadSlowdown(double slowdown) {
            return new Config(checkpointMillis, restartLocalMillis, restartFullMillis, estimates, maxJobsConsidered, localityWaitPercent, lendSpares,
                    holdLatestFree, slowdown);
        }

        public static Config defaults() {
            return new Config(30 * 60_000L, 60_000L, 600_000L, true, 500);
        }
    }

    /** Replacement decisions after lost cards, by where the affected tasks went. */
    public record Replacements(int sameNode, int sameSupernode, int otherSupernode, int fullReplacement, int waited,
                               int transientRestarts) {
    }

    public record Result(String policy, boolean spares, int jobs, int finished, int unfinished, double utilizationMean,
                         double utilizationSaturated, double saturatedHours, double makespanHours, double delayP50Seconds,
                         double delayP99Seconds, int fitOneSupernode, double placedInOneShare, double strandedCardsMean,
                         double strandedShare, Replacements replacements, double ettr, int preemptions,
                         double[] seriesHours, double[] seriesUtilization, long[] delaysMillis, double queueDrainedHours,
                         int lentPlacements, int lentEvictions, int totalCards, int spreadSlowed, Segments useful) {
        /** Time-weighted utilization of the step series over [fromHours, toHours]; NaN when the window is empty. */
        public double utilizationBetween(double fromHours, double toHours) {
            if (!(toHours > fromHours) || seriesHours.length == 0) return Double.NaN;
            double sum = 0;
            for (int i = 0; i < seriesHours.length; i++) {
                double a = Math.max(fromHours, seriesHours[i]);
                double b = Math.min(toHours, i + 1 < seriesHours.length ? seriesHours[i + 1] : toHours);
                if (b > a) sum += seriesUtilization[i] * (b - a);
            }
            return sum / (toHours - fromHours);
        }

        /**
         * Useful card-time over [fromHours, toHours] / (all cards x the window): the card-time that became job
         * progress the job kept, at full speed. A job spread over supernodes it could have avoided counts
         * 1/slowdown of its cards; restart overhead and progress lost since the last checkpoint count nothing.
         * NaN when the window is empty.
         */
        public double usefulBetween(double fromHours, double toHours) {
            if (!(toHours > fromHours) || totalCards == 0) return Double.NaN;
            return useful.cardHoursBetween(fromHours, toHours) / ((double) totalCards * (toHours - fromHours));
        }
    }

    /**
     * Productive stretches of every job: [from, to) in hours and the cards' useful rate (cards x the share of that
     * wall time that became kept progress). Kept as segments, not as a step series, so any window can be cut later.
     */
    public record Segments(double[] fromHours, double[] toHours, double[] usefulCards) {
        double cardHoursBetween(double from, double to) {
            double sum = 0;
            for (int i = 0; i < fromHours.length; i++) {
                double a = Math.max(from, fromHours[i]);
                double b = Math.min(to, toHours[i]);
                if (b > a) sum += usefulCards[i] * (b - a);
            }
            return sum;
        }
    }

    /** Growable arrays for {@link Segments}; one per run. */
    private static final class SegmentLog {
        private double[] from = new double[1024];
        private double[] to = new double[1024];
        private double[] cards = new double[1024];
        private int n;

        void add(long fromMillis, long toMillis, double usefulCards) {
            if (toMillis <= fromMillis || usefulCards <= 0) return;
            if (n == from.length) {
                from = Arrays.copyOf(from, n * 2);
                to = Arrays.copyOf(to, n * 2);
                cards = Arrays.copyOf(cards, n * 2);
            }
            from[n] = fromMillis / 3_600_000.0;
            to[n] = toMillis / 3_600_000.0;
            cards[n] = usefulCards;
            n++;
        }

        Segments done() {
            return new Segments(Arrays.copyOf(from, n), Arrays.copyOf(to, n), Arrays.copyOf(cards, n));
        }
    }

    private record Event(long at, int kind, long seq, String jobId, long attempt, int failure) {
    }

    private static final class JobState {
        final SimJob job;
        final PlacementRequest req;
        Placement placement;
        long attempt;
        boolean running;
        boolean restartPending; // was interrupted and waits: pays a full restart when placed again
        long firstStart = -1;
        long segmentStart;
        long workDone;
        long finishAt;
        long endedAt = -1;
        /** Wall time per unit of progress on the current placement: 1, or the spread slowdown. */
        double slowdown = 1.0;
        /** Wall time spent making progress the job kept (at whatever speed): ETTR's numerator. */
        long progressWallMillis;

        JobState(SimJob job, long order) {
            this.job = job;
            this.req = job.request(order);
        }
    }

    private Simulator() {
    }

    public static Result run(Workload w, PlacementPolicy policy, boolean spares, Config cfg, int medianTasks, int medianCardsPerTask) {
        Inventory inv = w.cluster().copy();
        if (spares) {
            for (int s = 0; s < inv.supernodeCount(); s++) {
                if (inv.totalCardsAt(s) >= w.spareMinSupernodeCards() && w.spareCardsPerSupernode() > 0) {
                    inv.setSpareRule(inv.supernodeIdAt(s), new Inventory.SpareRule(w.spareCardsPerSupernode(), 0));
                }
            }
        }
        boolean lending = spares && cfg.lendSpares();
        Scheduler scheduler = new Scheduler(policy, new Scheduler.Options(cfg.maxJobsConsidered(), true, true, 64, cfg.localityWaitPercent(), lending,
                cfg.holdLatestFree()));
        Map<String, JobState> jobs = new HashMap<>();
        PriorityQueue<Event> events = new PriorityQueue<>((a, b) -> a.at != b.at ? Long.compare(a.at, b.at)
                : a.kind != b.kind ? Integer.compare(a.kind, b.kind) : Long.compare(a.seq, b.seq));
        long[] seq = {0};
        long order = 0;
        for (SimJob j : w.jobs()) {
            JobState js = new JobState(j, order++);
            jobs.put(j.id(), js);
            events.add(new Event(j.submitMillis(), SUBMIT, seq[0]++, j.id(), 0, -1));
        }
        for (int f = 0; f < w.failures().size(); f++) {
            events.add(new Event(w.failures().get(f).atMillis(), FAILURE, seq[0]++, null, 0, f));
        }
        TreeMap<String, JobState> pending = new TreeMap<>();
        TreeMap<String, JobState> running = new TreeMap<>();
        Map<String, Boolean> fitsOneCache = new HashMap<>();
        SegmentLog useful = new SegmentLog();
        int[] spreadSlowed = {0};
        // A job that one supernode could hold runs slower spread over several: its traffic crosses the scale-out
        // network. Jobs larger than any supernode are spread under every policy; their run time already includes it.
        java.util.function.BiFunction<JobState, Placement, Double> slowdownOf = (js, pl) -> {
            if (cfg.spreadSlowdown() == 1.0 || supernodesOf(inv, pl) <= 1 || !fitsOneSupernode(w.cluster(), js.req, fitsOneCache)) return 1.0;
            spreadSlowed[0]++;
            return cfg.spreadSlowdown();
        };
        int total = inv.totalCards();
        int done = 0;
        int sameNode = 0, sameSn = 0, otherSn = 0, full = 0, waited = 0, transients = 0, preemptions = 0;
        int lentPlacements = 0, evictions = 0;
        int fitOne = 0, placedOne = 0;
        List<Long> delays = new ArrayList<>();
        List<double[]> series = new ArrayList<>();
        double utilIntegral = 0, satIntegral = 0, satTime = 0, strandedIntegral = 0;
        long firstTime = w.jobs().isEmpty() ? 0 : w.jobs().get(0).submitMillis();
        long lastTime = firstTime;
        int lastAlloc = 0;
        boolean lastSaturated = false;
        double lastStranded = 0;
        long processed = 0;
        long drainedAt = firstTime;
        while (!events.isEmpty() && done < jobs.size()) {
            long now = events.peek().at;
            // Integrate the state that held since the last batch.
            long dt = now - lastTime;
            if (dt > 0) {
                utilIntegral += (double) lastAlloc * dt;
                if (lastSaturated) {
                    satIntegral += (double) lastAlloc * dt;
                    satTime += dt;
                    strandedIntegral += lastStranded * dt;
                }
            }
            lastTime = now;
            while (!events.isEmpty() && events.peek().at == now) {
                Event e = events.poll();
                if (++processed > MAX_EVENTS) throw new IllegalStateException("more than " + MAX_EVENTS + " events");
                switch (e.kind) {
                    case SUBMIT -> pending.put(e.jobId, jobs.get(e.jobId));
                    case FINISH -> {
                        JobState js = jobs.get(e.jobId);
                        if (!js.running || js.attempt != e.attempt) break;
                        inv.release(js.job.id());
                        useful.add(js.segmentStart, now, js.job.cards() / js.slowdown);
                        js.progressWallMillis += Math.max(0, now - js.segmentStart);
                        js.running = false;
                        js.endedAt = now;
                        running.remove(js.job.id());
                        done++;
                    }
                    case REPAIR -> {
                        Workload.Failure f = w.failures().get(e.failure);
                        inv.setCardHealthy(new CardRef(f.nodeId(), f.cardIndex()), true);
                    }
                    case FAILURE -> {
                        Workload.Failure f = w.failures().get(e.failure);
                        CardRef card = new CardRef(f.nodeId(), f.cardIndex());
                        if (!inv.healthy(card)) break; // already broken
                        Holder h = inv.holder(card);
                        JobState js = h == null ? null : jobs.get(h.jobId());
                        if (f.permanent()) {
                            inv.setCardHealthy(card, false);
                            events.add(new Event(now + SyntheticWorkload.REPAIR_MILLIS, REPAIR, seq[0]++, null, 0, e.failure));
                        }
                        if (js == null) break;
                        checkpoint(js, now, cfg, useful);
                        if (!f.permanent()) {
                            transients++;
                            restart(js, now, cfg.restartLocalMillis(), events, seq, null, inv);
                            break;
                        }
                        Decision d;
                        boolean evicted = false;
                        if (lending) {
                            // Lent jobs whose cards the replacement needs stop first, as a preempted job does.
                            SpareLending.Outcome o = SpareLending.replace(policy, inv, js.req, js.placement, Set.of(card));
                            for (String id : o.evicted()) {
                                JobState b = jobs.get(id);
                                checkpoint(b, now, cfg, useful);
                                inv.release(id);
                                b.running = false;
                                b.restartPending = true;
                                running.remove(id);
                                pending.put(id, b);
                                evictions++;
                            }
                            evicted = !o.evicted().isEmpty();
                            d = o.decision();
                        } else {
                            d = policy.replace(inv, js.req, js.placement, Set.of(card));
                        }
                        if (d instanceof Decision.Placed p) {
                            // A policy that re-places the whole job restarts every rank, wherever they land.
                            boolean wholeJob = p.reason().startsWith("full re-placement")
                                    || (evicted && p.reason().contains("take back their cards; full re-placement"));
                            int kind = wholeJob ? 3 : locality(inv, js.placement, p.placement());
                            switch (kind) {
                                case 0 -> sameNode++;
                                case 1 -> sameSn++;
                                case 2 -> otherSn++;
                                default -> full++;
                            }
                            js.slowdown = slowdownOf.apply(js, p.placement());
                            restart(js, now, kind <= 2 ? cfg.restartLocalMillis() : cfg.restartFullMillis(), events, seq, p.placement(), inv);
                        } else {
                            waited++;
                            inv.release(js.job.id());
                            js.running = false;
                            js.restartPending = true;
                            running.remove(js.job.id());
                            pending.put(js.job.id(), js);
                        }
                    }
                    default -> throw new IllegalStateException("unknown event kind " + e.kind);
                }
            }
            // One scheduling pass per batch of simultaneous events.
            if (!pending.isEmpty()) {
                List<PendingJob> pend = new ArrayList<>(pending.size());
                for (JobState js : pending.values()) {
                    long left = js.job.durationMillis() - js.workDone + (js.restartPending ? cfg.restartFullMillis() : 0);
                    pend.add(new PendingJob(js.req, cfg.estimates() ? left : 0));
                }
                List<RunningJob> run = new ArrayList<>(running.size());
                for (JobState js : running.values()) {
                    run.add(new RunningJob(js.job.id(), js.job.tenant(), js.job.priority(), js.req.submitOrder(),
                            inv.cardsOf(js.job.id()), cfg.estimates() ? js.finishAt : 0));
                }
                for (SchedulingDecision d : scheduler.schedule(new Scheduler.Input(inv, pend, run, Map.of(), now))) {
                    if (d instanceof SchedulingDecision.Preempt p) {
                        JobState v = jobs.get(p.jobId());
                        checkpoint(v, now, cfg, useful);
                        inv.release(v.job.id());
                        v.running = false;
                        v.restartPending = true;
                        running.remove(v.job.id());
                        pending.put(v.job.id(), v);
                        preemptions++;
                    } else if (d instanceof SchedulingDecision.Place p) {
                        JobState js = jobs.get(p.jobId());
                        pending.remove(js.job.id());
                        running.put(js.job.id(), js);
                        if (js.firstStart < 0) {
                            js.firstStart = now;
                            delays.add(now - js.job.submitMillis());
                            if (fitsOneSupernode(w.cluster(), js.req, fitsOneCache)) {
                                fitOne++;
                                if (supernodesOf(inv, p.placement()) == 1) placedOne++;
                            }
                        }
                        long overhead = js.restartPending ? cfg.restartFullMillis() : 0;
                        js.restartPending = false;
                        js.attempt++;
                        js.placement = p.placement();
                        inv.allocate(new Holder(js.job.id(), js.attempt), p.placement(), p.lent());
                        if (p.lent()) lentPlacements++;
                        js.running = true;
                        js.slowdown = slowdownOf.apply(js, p.placement());
                        js.segmentStart = now + overhead;
                        js.finishAt = js.segmentStart + wallFor(js);
                        events.add(new Event(js.finishAt, FINISH, seq[0]++, js.job.id(), js.attempt, -1));
                    }
                }
            }
            lastAlloc = inv.allocatedCards();
            if (lastSaturated && pending.isEmpty()) drainedAt = now;
            lastSaturated = !pending.isEmpty();
            lastStranded = lastSaturated ? Fragmentation.strandedCards(inv, medianTasks, medianCardsPerTask) : 0;
            series.add(new double[] {now / 3_600_000.0, (double) lastAlloc / total});
        }
        long span = Math.max(1, lastTime - firstTime);
        // ETTR: card-weighted productive time over wall time from first start to end, finished jobs. Productive
        // time is wall time that made kept progress, at any speed: ETTR measures interruptions, good@sat the speed.
        double productive = 0, wall = 0;
        for (JobState js : jobs.values()) {
            if (js.endedAt < 0) continue;
            productive += (double) js.job.cards() * js.progressWallMillis;
            wall += (double) js.job.cards() * (js.endedAt - js.firstStart);
        }
        long[] delayArr = delays.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(delayArr);
        double[] hours = new double[series.size()];
        double[] util = new double[series.size()];
        for (int i = 0; i < series.size(); i++) {
            hours[i] = series.get(i)[0];
            util[i] = series.get(i)[1];
        }
        return new Result(policy.name(), spares, jobs.size(), done, jobs.size() - done, utilIntegral / ((double) total * span),
                satTime == 0 ? Double.NaN : satIntegral / ((double) total * satTime), satTime / 3_600_000.0, span / 3_600_000.0,
                percentile(delayArr, 0.50) / 1000.0, percentile(delayArr, 0.99) / 1000.0, fitOne,
                fitOne == 0 ? Double.NaN : (double) placedOne / fitOne,
                satTime == 0 ? 0 : strandedIntegral / satTime, satTime == 0 ? 0 : strandedIntegral / satTime / total,
                new Replacements(sameNode, sameSn, otherSn, full, waited, transients),
                wall == 0 ? Double.NaN : productive / wall, preemptions, hours, util, delayArr,
                (lastSaturated ? lastTime : drainedAt) / 3_600_000.0, lentPlacements, evictions, total, spreadSlowed[0], useful.done());
    }

    /**
     * Progress since the segment started is checkpointed in whole intervals (of progress, so a slowed job
     * checkpoints less often in wall time); the rest is lost. The kept stretch is logged as useful card-time.
     */
    private static void checkpoint(JobState js, long now, Config cfg, SegmentLog useful) {
        long progress = (long) (Math.max(0, now - js.segmentStart) / js.slowdown);
        long saved = Math.min(progress / cfg.checkpointMillis() * cfg.checkpointMillis(), js.job.durationMillis() - 1 - js.workDone);
        long savedWall = (long) Math.ceil(saved * js.slowdown);
        useful.add(js.segmentStart, js.segmentStart + savedWall, js.job.cards() / js.slowdown);
        js.progressWallMillis += savedWall;
        js.workDone += saved;
    }

    /** Wall time the job's remaining work takes on its current placement. */
    private static long wallFor(JobState js) {
        return (long) Math.ceil((js.job.durationMillis() - js.workDone) * js.slowdown);
    }

    private static void restart(JobState js, long now, long overhead, PriorityQueue<Event> events, long[] seq, Placement newPlacement,
                                Inventory inv) {
        js.attempt++;
        if (newPlacement != null) {
            // A lent job stays lent (evictable) after its own replacement.
            boolean lent = inv.isLent(js.job.id());
            inv.release(js.job.id());
            inv.allocate(new Holder(js.job.id(), js.attempt), newPlacement, lent);
            js.placement = newPlacement;
        }
        js.segmentStart = now + overhead;
        js.finishAt = js.segmentStart + wallFor(js);
        events.add(new Event(js.finishAt, FINISH, seq[0]++, js.job.id(), js.attempt, -1));
    }

    /** 0 same node, 1 same supernode, 2 another supernode (unaffected tasks kept), 3 the whole job moved. */
    static int locality(Inventory inv, Placement before, Placement after) {
        int worst = 0;
        for (int t = 0; t < before.tasks().size(); t++) {
            TaskCards a = before.tasks().get(t);
            TaskCards b = after.tasks().get(t);
            if (a.equals(b)) continue;
            boolean changedOnlyLost = a.nodeId().equals(b.nodeId());
            int kind;
            if (changedOnlyLost) kind = 0;
            else if (inv.nodeView(a.nodeId()).supernodeId().equals(inv.nodeView(b.nodeId()).supernodeId())) kind = 1;
            else kind = 2;
            worst = Math.max(worst, kind);
        }
        // A task that did not lose a card but moved means the whole job was placed again.
        int moved = 0;
        for (int t = 0; t < before.tasks().size(); t++) {
            TaskCards a = before.tasks().get(t);
            boolean healthy = true;
            for (int i : a.cardIndices()) if (!inv.healthy(new CardRef(a.nodeId(), i))) healthy = false;
            if (healthy && !a.equals(after.tasks().get(t))) moved++;
        }
        return moved > 0 ? 3 : worst;
    }

    static int supernodesOf(Inventory inv, Placement p) {
        Set<String> sns = new HashSet<>();
        for (TaskCards t : p.tasks()) sns.add(inv.nodeView(t.nodeId()).supernodeId());
        return sns.size();
    }

    /** Could the job sit in one supernode of the empty cluster (by card counts of accepted models)? */
    static boolean fitsOneSupernode(Inventory empty, PlacementRequest req, Map<String, Boolean> cache) {
        String key = req.tasks() + "x" + req.cardsPerTask() + req.cardModels();
        return cache.computeIfAbsent(key, k -> {
            for (int s = 0; s < empty.supernodeCount(); s++) {
                long slots = 0;
                for (int n = 0; n < empty.nodeCountAt(s); n++) slots += empty.nodeUsableAt(s, n, req.cardModels()) / req.cardsPerTask();
                if (slots >= req.tasks()) return true;
            }
            return false;
        });
    }

    /** Nearest-rank percentile of a sorted array; NaN when empty. */
    static double percentile(long[] sorted, double q) {
        if (sorted.length == 0) return Double.NaN;
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    /** Jobs that can never run on this cluster, with the reason, so the replay can leave them out up front. */
    public static Map<String, String> neverPlaceable(Workload w) {
        Map<String, String> out = new TreeMap<>();
        Map<String, String> byShape = new HashMap<>();
        for (SimJob j : w.jobs()) {
            PlacementRequest r = j.request(0);
            String key = r.tasks() + "x" + r.cardsPerTask() + new java.util.TreeSet<>(r.cardModels()) + r.rule() + r.maxSupernodes();
            String why = byShape.computeIfAbsent(key, k -> {
                String v = Validation.check(w.cluster(), r);
                if (v != null) return v;
                if (r.rule() == io.cardinal.allocator.model.SupernodeRule.REQUIRED && !fitsOneSupernode(w.cluster(), r, new HashMap<>())) {
                    return "REQUIRED but no supernode has " + r.tasks() + " x " + r.cardsPerTask() + " cards";
                }
                return "";
            });
            if (!why.isEmpty()) out.put(j.id(), why);
        }
        return out;
    }
}
