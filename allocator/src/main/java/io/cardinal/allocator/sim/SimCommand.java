package io.cardinal.allocator.sim;

import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.policy.CardinalPolicy;
import io.cardinal.allocator.policy.PlacementPolicy;
import io.cardinal.allocator.policy.Policies;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code cardinal sim}: replays a trace or a synthetic training mix through every placement policy and reports
 * utilization, queueing delay, supernode locality, fragmentation, replacements and ETTR. Exit codes: 0 ok, 1 invalid
 * input. Errors are one line on stderr.
 */
@Command(name = "sim", mixinStandardHelpOptions = true, description = "Replay workloads through placement policies.",
        subcommands = {SimCommand.Replay.class, SimCommand.Synthetic.class})
public final class SimCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 0;
    }

    /**
     * How much slower a job that fits one supernode runs spread over several. The scheduler's locality wait
     * (100% of the run time) has assumed 2x since it was introduced; the simulator now runs the jobs at that speed too.
     */
    static final double DEFAULT_SPREAD_SLOWDOWN = 2.0;

    /** Runs standalone: {@code java -cp ... io.cardinal.allocator.sim.SimCommand replay --trace ...}. */
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command with Cardinal's error handling: bad options and bad input give one line and exit code 1. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new SimCommand());
        // Standalone, `sim` owns -o; mounted under `cardinal` it inherits the root's -o instead (one option, one name).
        cl.getCommandSpec().addOption(CommandLine.Model.OptionSpec.builder("-o", "--output").type(String.class)
                .defaultValue("table").scopeType(CommandLine.ScopeType.INHERIT).paramLabel("FORMAT")
                .description("table|json (${DEFAULT-VALUE})").build());
        cl.setParameterExceptionHandler((ex, args) -> {
            ex.getCommandLine().getErr().println("error: " + ex.getMessage());
            return 1;
        });
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("error: " + (ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getMessage()));
            return 1;
        });
        return cl;
    }

    /** Options shared by both subcommands. */
    static class Common {
        @Option(names = "--policy", defaultValue = "all", description = "policy name or 'all' (${DEFAULT-VALUE}): first-fit, best-fit-node, slurm-block, volcano-tier, cardinal")
        String policy;
        @Option(names = "--saturate", description = "submit every job at time 0 (the queue is full from the start)")
        boolean saturate;
        @Option(names = "--speedup", defaultValue = "1", description = "divide submit times by X (${DEFAULT-VALUE})")
        double speedup;
        @CommandLine.Spec(CommandLine.Spec.Target.MIXEE)
        CommandLine.Model.CommandSpec mixee;
        @Option(names = "--out", description = "directory for PNG plots (none when absent)")
        Path outDir;
        @Option(names = "--spares", defaultValue = "-1", description = "spare cards per supernode for cardinal (default: 8 on supernodes >= 128 cards for synthetic, 0 for replay)")
        int spares;
        @Option(names = "--checkpoint-minutes", defaultValue = "30", description = "checkpoint interval (${DEFAULT-VALUE})")
        double checkpointMinutes;
        @Option(names = "--restart-local-seconds", defaultValue = "60", description = "restart after a local replacement or transient fault (${DEFAULT-VALUE})")
        double restartLocalSeconds;
        @Option(names = "--restart-full-seconds", defaultValue = "600", description = "restart after the whole job moved or waited (${DEFAULT-VALUE})")
        double restartFullSeconds;
        @Option(names = "--max-jobs-per-pass", defaultValue = "500", description = "backfill depth: pending jobs tried per pass (${DEFAULT-VALUE})")
        int maxJobsPerPass;
        @Option(names = "--spread-slowdown", defaultValue = "" + DEFAULT_SPREAD_SLOWDOWN, paramLabel = "X",
                description = "a job that one supernode could hold runs X times slower when spread over several, under every "
                        + "policy (${DEFAULT-VALUE}; 1 = no slowdown); see the allocator README for the figure")
        double spreadSlowdown;
        @Option(names = "--locality-wait-percent",
                description = "a PREFERRED job waits for one supernode at most this share of its run time, then spreads "
                        + "(default: (spread slowdown - 1) x 100, the wait after which spreading would end it sooner)")
        Integer localityWaitPercent; // null: follows the spread slowdown
        @Option(names = "--lend-spares", description = "cardinal lends its spare cards to waiting jobs that fit one supernode with them; "
                + "a lent job is evicted when a replacement needs the cards (off by default)")
        boolean lendSpares;
        @Option(names = "--typical-request", paramLabel = "TASKSxCARDS", description = "cardinal's typical next request, the request "
                + "whose stranded cards its scoring lowers (default: the workload's median request, e.g. 4x8)")
        String typicalRequest;
        @Option(names = "--latest-free-hold", defaultValue = "all", paramLabel = "all|cardinal|none",
                description = "whose head of the queue holds, of the nodes that let it start earliest, those that free up last "
                        + "(the sooner ones stay open to backfill): every policy's (${DEFAULT-VALUE}: the scheduler is shared), "
                        + "cardinal's only, or none (the nodes that free up first, as plain EASY backfill does)")
        String latestFreeHold;

        /** The -o value this command inherited (from `cardinal`, or from `sim` when run on its own). */
        String output() {
            CommandLine.Model.OptionSpec o = mixee == null ? null : mixee.findOption("-o");
            Object v = o == null ? null : o.getValue();
            return v == null ? "table" : v.toString().toLowerCase(java.util.Locale.ROOT);
        }

        void validate() throws TraceException {
            String output = output();
            if (!output.equals("table") && !output.equals("json")) throw new TraceException("-o must be table or json, got " + output);
            if (!policy.equals("all") && !Policies.NAMES.contains(policy)) {
                throw new TraceException("unknown policy '" + policy + "', known: all, " + String.join(", ", Policies.NAMES));
            }
            if (!(speedup > 0) || speedup > 1e9) throw new TraceException("--speedup must be > 0, got " + speedup);
            if (!(checkpointMinutes > 0)) throw new TraceException("--checkpoint-minutes must be > 0");
            if (!(restartLocalSeconds >= 0) || !(restartFullSeconds >= 0)) throw new TraceException("restart times must be >= 0");
            if (maxJobsPerPass < 1) throw new TraceException("--max-jobs-per-pass must be >= 1");
            if (localityWaitPercent != null && localityWaitPercent < 0) {
                throw new TraceException("--locality-wait-percent must be >= 0, got " + localityWaitPercent);
            }
            if (!(spreadSlowdown >= 1) || spreadSlowdown > Simulator.Config.MAX_SPREAD_SLOWDOWN) {
                throw new TraceException("--spread-slowdown must be a number in [1, " + (int) Simulator.Config.MAX_SPREAD_SLOWDOWN
                        + "], got " + spreadSlowdown);
            }
            if (typicalRequest != null) typical();
            if (!List.of("cardinal", "all", "none").contains(latestFreeHold)) {
                throw new TraceException("--latest-free-hold must be cardinal, all or none, got " + latestFreeHold);
            }
        }

        /** {tasks, cardsPerTask} of --typical-request; null when not given. */
        int[] typical() throws TraceException {
            if (typicalRequest == null) return null;
            String[] parts = typicalRequest.toLowerCase(Locale.ROOT).split("x", -1);
            try {
                if (parts.length == 2) {
                    int t = Integer.parseInt(parts[0].strip());
                    int c = Integer.parseInt(parts[1].strip());
                    if (t >= 1 && c >= 1) return new int[] {t, c};
                }
            } catch (NumberFormatException e) {
                // falls through to the error below
            }
            throw new TraceException("--typical-request must be TASKSxCARDS with both >= 1 (e.g. 1x8), got " + typicalRequest);
        }

        Simulator.Config config(String policyName) {
            boolean latest = latestFreeHold.equals("all") || (latestFreeHold.equals("cardinal") && policyName.equals(CardinalPolicy.NAME));
            return new Simulator.Config((long) (checkpointMinutes * 60_000), (long) (restartLocalSeconds * 1000),
                    (long) (restartFullSeconds * 1000), true, maxJobsPerPass, localityWaitPercent(), lendSpares, latest, spreadSlowdown);
        }

        /**
         * Waiting W for one supernode ends a job at W + T, spreading it now at X x T: waiting pays while
         * W < (X - 1) x T. So the wait follows the slowdown unless given.
         */
        int localityWaitPercent() {
            return localityWaitPercent != null ? localityWaitPercent : (int) Math.round((spreadSlowdown - 1) * 100);
        }
    }

    @Command(name = "replay", mixinStandardHelpOptions = true,
            description = "Replay a trace: a directory or pod file of the Alibaba GPU v2023 trace, or a gang-job CSV.")
    static final class Replay implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @CommandLine.Mixin
        Common common;
        @Option(names = "--trace", required = true, description = "trace directory or file")
        Path trace;
        @Option(names = "--nodes", description = "node list (Alibaba format sn,cpu_milli,memory_mib,gpu,model); default: the trace's own")
        Path nodes;
        @Option(names = "--supernode-nodes", defaultValue = "8", description = "group K consecutive nodes into a supernode (${DEFAULT-VALUE})")
        int supernodeNodes;
        @Option(names = "--on-error", defaultValue = "stop", description = "malformed rows: skip|stop (${DEFAULT-VALUE})")
        String onError;
        @Option(names = "--failures", description = "inject card failures at the Llama 3 rate")
        boolean failures;
        @Option(names = "--seed", defaultValue = "1", description = "seed for injected failures (${DEFAULT-VALUE})")
        long seed;
        @Option(names = "--repeat", defaultValue = "1", description = "replay the trace's jobs R times (copies get ids <id>#<r>, same times) to raise demand above capacity (${DEFAULT-VALUE})")
        int repeat;

        @Override
        public Integer call() {
            try {
                common.validate();
                TraceReader.OnError mode = switch (onError) {
                    case "skip" -> TraceReader.OnError.SKIP;
                    case "stop" -> TraceReader.OnError.STOP;
                    default -> throw new TraceException("--on-error must be skip or stop, got " + onError);
                };
                List<String> skipped = new ArrayList<>();
                List<String> notes = new ArrayList<>();
                Path podsFile;
                Path nodesFile = nodes;
                List<SimJob> jobs;
                if (Files.isDirectory(trace)) {
                    podsFile = trace.resolve(TraceReader.ALIBABA_PODS);
                    if (nodesFile == null) nodesFile = trace.resolve(TraceReader.ALIBABA_NODES);
                } else {
                    podsFile = trace;
                }
                if (!Files.exists(podsFile)) throw new TraceException("no such file: " + podsFile);
                String header = firstLine(podsFile);
                if (header.startsWith("job,")) {
                    jobs = TraceReader.gangCsv(podsFile, mode, skipped);
                    if (nodesFile == null) throw new TraceException("a gang-job CSV needs --nodes (a node list in the Alibaba node format)");
                } else {
                    if (nodesFile == null) nodesFile = podsFile.resolveSibling(TraceReader.ALIBABA_NODES);
                    jobs = TraceReader.alibabaPods(podsFile, mode, skipped, notes);
                    notes.add("Alibaba GPU v2023 trace (Weng et al., \"Beware of Fragmentation\", USENIX ATC'23)");
                }
                if (repeat < 1 || repeat > 100) throw new TraceException("--repeat must be in 1..100, got " + repeat);
                if (repeat > 1) {
                    List<SimJob> copies = new ArrayList<>(jobs.size() * repeat);
                    for (int r = 0; r < repeat; r++) {
                        for (SimJob j : jobs) {
                            copies.add(r == 0 ? j : new SimJob(j.id() + "#" + r, j.submitMillis(), j.durationMillis(), j.tasks(), j.cardsPerTask(),
                                    j.cardModels(), j.priority(), j.tenant(), j.rule(), j.maxSupernodes()));
                        }
                    }
                    jobs = copies;
                    notes.add("every job replayed " + repeat + " times");
                }
                Inventory cluster = TraceReader.alibabaNodes(nodesFile, supernodeNodes, mode, skipped);
                notes.add(String.format(Locale.ROOT, "%d cards on %d nodes, %d consecutive nodes per supernode (%d supernodes), 8 supernodes per pod",
                        cluster.totalCards(), cluster.nodeIds().size(), supernodeNodes, cluster.supernodeCount()));
                long horizon = 0;
                for (SimJob j : jobs) horizon = Math.max(horizon, j.submitMillis() + j.durationMillis());
                List<Workload.Failure> fails = failures ? SyntheticWorkload.failures(cluster, seed, horizon * 2 + 1) : List.of();
                Workload w = new Workload("replay " + trace, cluster, jobs, fails, common.spares < 0 ? 0 : common.spares, 1, notes);
                return runAll(spec, common, w, skipped);
            } catch (TraceException e) {
                spec.commandLine().getErr().println("error: " + e.getMessage());
                return 1;
            }
        }
    }

    @Command(name = "synthetic", mixinStandardHelpOptions = true,
            description = "Generate a large-model training mix (see SyntheticWorkload for the distributions) and replay it.")
    static final class Synthetic implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @CommandLine.Mixin
        Common common;
        @Option(names = "--seed", defaultValue = "1", description = "(${DEFAULT-VALUE})")
        long seed;
        @Option(names = "--cards", defaultValue = "16384", description = "cards in the cluster (${DEFAULT-VALUE})")
        int cards;
        @Option(names = "--supernode-size", defaultValue = "384", description = "cards per large supernode (${DEFAULT-VALUE})")
        int supernodeSize;
        @Option(names = "--small-supernode-size", defaultValue = "72", description = "cards per small supernode (${DEFAULT-VALUE})")
        int smallSupernodeSize;
        @Option(names = "--small-share", defaultValue = "0.25", description = "share of cards in small supernodes (${DEFAULT-VALUE})")
        double smallShare;
        @Option(names = "--jobs", defaultValue = "2000", description = "(${DEFAULT-VALUE})")
        int jobs;
        @Option(names = "--load", defaultValue = "1.2", description = "offered load, card-time demanded / capacity (${DEFAULT-VALUE})")
        double load;
        @Option(names = "--no-failures", description = "no card failures")
        boolean noFailures;
        @Option(names = "--high-priority-share", defaultValue = "0", description = "share of jobs with priority 1 that may preempt (${DEFAULT-VALUE})")
        double highPriorityShare;

        @Override
        public Integer call() {
            try {
                common.validate();
                SyntheticWorkload.Params p;
                try {
                    p = new SyntheticWorkload.Params(seed, cards, supernodeSize, smallSupernodeSize, smallShare, jobs, load, !noFailures, highPriorityShare);
                } catch (IllegalArgumentException e) {
                    throw new TraceException(e.getMessage());
                }
                Workload w = SyntheticWorkload.generate(p);
                if (common.spares >= 0) {
                    w = new Workload(w.name(), w.cluster(), w.jobs(), w.failures(), common.spares, w.spareMinSupernodeCards(), w.notes());
                }
                return runAll(spec, common, w, List.of());
            } catch (TraceException e) {
                spec.commandLine().getErr().println("error: " + e.getMessage());
                return 1;
            }
        }
    }

    static int runAll(CommandLine.Model.CommandSpec spec, Common c, Workload w, List<String> skipped) throws TraceException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<String> notes = new ArrayList<>(w.notes());
        if (!skipped.isEmpty()) {
            notes.add(skipped.size() + " malformed row(s) skipped, first: " + skipped.get(0));
            for (String s : skipped.subList(0, Math.min(20, skipped.size()))) err.println("skipped " + s);
        }
        Map<String, String> never = Simulator.neverPlaceable(w);
        List<SimJob> jobs = new ArrayList<>();
        for (SimJob j : w.jobs()) {
            if (never.containsKey(j.id())) continue;
            long submit = c.saturate ? 0 : (long) (j.submitMillis() / c.speedup);
            jobs.add(j.withSubmit(submit));
        }
        if (!never.isEmpty()) {
            var first = never.entrySet().iterator().next();
            notes.add(never.size() + " job(s) can never run on this cluster and were left out, e.g. " + first.getKey() + ": " + first.getValue());
        }
        if (jobs.isEmpty()) throw new TraceException("no job left to replay");
        jobs.sort(Comparator.comparingLong(SimJob::submitMillis).thenComparing(SimJob::id));
        w = new Workload(w.name(), w.cluster(), jobs, w.failures(), w.spareCardsPerSupernode(), w.spareMinSupernodeCards(), notes);
        // The median request by job count: Cardinal's "typical next request" and the fragmentation yardstick.
        List<SimJob> bySize = new ArrayList<>(jobs);
        bySize.sort(Comparator.comparingInt(SimJob::cards).thenComparing(SimJob::id));
        SimJob median = bySize.get(bySize.size() / 2);
        notes.add(String.format(Locale.ROOT, "%d jobs%s; median request %d x %d cards; checkpoint every %.0f min, restart %.0f s local / %.0f s full; %d failures",
                jobs.size(), c.saturate ? " (saturated: all submitted at 0)" : c.speedup != 1 ? " (submit times / " + c.speedup + ")" : "",
                median.tasks(), median.cardsPerTask(), c.checkpointMinutes, c.restartLocalSeconds, c.restartFullSeconds, w.failures().size()));
        notes.add(String.format(Locale.ROOT, "spread over several supernodes, a job that one could hold takes %.2f x its run time (--spread-slowdown); "
                + "a PREFERRED job waits for one supernode up to %d%% of its run time", c.spreadSlowdown, c.localityWaitPercent()));
        if (c.typicalRequest != null) notes.add("cardinal's typical request " + c.typical()[0] + " x " + c.typical()[1] + " (--typical-request)");
        List<String> names = c.policy.equals("all") ? Policies.NAMES : List.of(c.policy);
        List<Simulator.Result> results = new ArrayList<>();
        for (String name : names) {
            int[] typical = c.typical();
            PlacementPolicy policy = name.equals(CardinalPolicy.NAME)
                    ? (typical == null ? new CardinalPolicy(median.tasks(), median.cardsPerTask()) : new CardinalPolicy(typical[0], typical[1]))
                    : Policies.byName(name);
            boolean spares = name.equals(CardinalPolicy.NAME) && w.spareCardsPerSupernode() > 0;
            results.add(Simulator.run(w, policy, spares, c.config(name), median.tasks(), median.cardsPerTask()));
        }
        String title = w.name();
        out.print(c.output().equals("json") ? Report.json(title, notes, results) + "\n" : Report.table(title, notes, results));
        if (c.outDir != null) {
            String prefix = w.name().startsWith("synthetic") ? "synthetic" : "replay";
            for (Path p : Plots.write(c.outDir, prefix, title, results)) err.println("wrote " + p);
        }
        out.flush();
        return 0;
    }

    private static String firstLine(Path p) throws TraceException {
        try (var r = Files.newBufferedReader(p)) {
            String l = r.readLine();
            while (l != null && (l.isBlank() || l.startsWith("#"))) l = r.readLine();
            return l == null ? "" : l.strip();
        } catch (java.io.IOException e) {
            throw new TraceException("cannot read " + p + ": " + e.getMessage());
        }
    }
}
