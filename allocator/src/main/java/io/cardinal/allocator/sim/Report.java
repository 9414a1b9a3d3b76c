package io.cardinal.allocator.sim;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The per-policy results as a text table or JSON. */
public final class Report {
    private Report() {
    }

    /**
     * The window in which every policy of the run still had jobs waiting: from the first submit to the earliest
     * time one of them drained its queue for good. Utilization in it compares policies on the same stretch of time.
     */
    public static double[] commonSaturatedWindowHours(List<Simulator.Result> results) {
        double from = Double.MAX_VALUE;
        double to = Double.MAX_VALUE;
        for (Simulator.Result r : results) {
            if (r.seriesHours().length > 0) from = Math.min(from, r.seriesHours()[0]);
            to = Math.min(to, r.queueDrainedHours());
        }
        return new double[] {from, to};
    }

    public static String table(String title, List<String> notes, List<Simulator.Result> results) {
        StringBuilder b = new StringBuilder();
        b.append(title).append('\n');
        for (String n : notes) b.append("  ").append(n).append('\n');
        double[] win = commonSaturatedWindowHours(results);
        b.append(String.format(Locale.ROOT, "  saturated window (all policies have jobs waiting): %.1f h to %.1f h%n", win[0], win[1]));
        boolean lending = false;
        for (Simulator.Result r : results) lending |= r.lentPlacements() > 0;
        String fmt = "%-14s %7s %8s %8s %8s %10s %10s %9s %9s %-22s %7s %6s" + (lending ? " %s" : "") + "%n";
        b.append(String.format(Locale.ROOT, fmt, "policy", "util", "util@sat", "good@sat", "util@own", "delay p50", "delay p99", "in-one-SN",
                "stranded", "repl node/sn/other/full/wait", "ETTR", "done", "lent/evicted"));
        for (Simulator.Result r : results) {
            Simulator.Replacements x = r.replacements();
            b.append(String.format(Locale.ROOT, fmt, r.policy() + (r.spares() ? "*" : ""), pct(r.utilizationMean()),
                    pct(r.utilizationBetween(win[0], win[1])), pct(r.usefulBetween(win[0], win[1])), pct(r.utilizationSaturated()), dur(r.delayP50Seconds()), dur(r.delayP99Seconds()), pct(r.placedInOneShare()),
                    pct(r.strandedShare()), x.sameNode() + "/" + x.sameSupernode() + "/" + x.otherSupernode() + "/" + x.fullReplacement()
                            + "/" + x.waited(), pct(r.ettr()), r.finished() + (r.unfinished() > 0 ? "+" + r.unfinished() : ""),
                    r.lentPlacements() + "/" + r.lentEvictions()));
        }
        b.append("  util: allocated cards / all cards, time mean from first submit to last end; util@sat: the same in the common\n");
        b.append("  saturated window; good@sat: useful card-time in that window / all card-time (a job spread over supernodes\n");
        b.append("  when one could hold it counts 1/slowdown; restart overhead and progress lost since the last checkpoint count\n");
        b.append("  nothing); util@own: while this policy had jobs waiting\n");
        b.append("  in-one-SN: of jobs that fit one supernode, share placed in one; stranded: free non-spare cards that cannot serve\n");
        b.append("  the median request, mean while jobs wait, / all cards; ETTR: card-weighted productive / wall time from first\n");
        b.append("  start to end; * = keeps spare cards\n");
        if (lending) b.append("  lent/evicted: lent placements on spare cards / lent jobs evicted because a replacement needed the cards\n");
        return b.toString();
    }

    public static String json(String title, List<String> notes, List<Simulator.Result> results) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("workload", title);
        root.put("notes", notes);
        List<Map<String, Object>> rows = new ArrayList<>();
        double[] win = commonSaturatedWindowHours(results);
        for (Simulator.Result r : results) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("policy", r.policy());
            m.put("spares", r.spares());
            m.put("jobs", r.jobs());
            m.put("finished", r.finished());
            m.put("unfinished", r.unfinished());
            m.put("utilizationMean", num(r.utilizationMean()));
            m.put("utilizationSaturated", num(r.utilizationBetween(win[0], win[1])));
            m.put("usefulSaturated", num(r.usefulBetween(win[0], win[1])));
            m.put("utilizationWhileOwnQueueNonEmpty", num(r.utilizationSaturated()));
            m.put("spreadSlowedPlacements", r.spreadSlowed());
            m.put("saturatedHours", num(r.saturatedHours()));
            m.put("makespanHours", num(r.makespanHours()));
            m.put("delayP50Seconds", num(r.delayP50Seconds()));
            m.put("delayP99Seconds", num(r.delayP99Seconds()));
            m.put("jobsFittingOneSupernode", r.fitOneSupernode());
            m.put("placedInOneSupernodeShare", num(r.placedInOneShare()));
            m.put("strandedCardsMean", num(r.strandedCardsMean()));
            m.put("strandedShare", num(r.strandedShare()));
            Simulator.Replacements x = r.replacements();
            Map<String, Object> rep = new LinkedHashMap<>();
            rep.put("sameNode", x.sameNode());
            rep.put("sameSupernode", x.sameSupernode());
            rep.put("otherSupernode", x.otherSupernode());
            rep.put("fullReplacement", x.fullReplacement());
            rep.put("waited", x.waited());
            rep.put("transientRestarts", x.transientRestarts());
            m.put("replacements", rep);
            m.put("ettr", num(r.ettr()));
            m.put("preemptions", r.preemptions());
            m.put("lentPlacements", r.lentPlacements());
            m.put("lentEvictions", r.lentEvictions());
            rows.add(m);
        }
        root.put("saturatedWindowHours", List.of(num(win[0]), num(win[1])));
        root.put("policies", rows);
        try {
            return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root);
        } catch (Exception e) {
            throw new IllegalStateException("cannot write JSON: " + e.getMessage(), e);
        }
    }

    private static Object num(double x) {
        return Double.isNaN(x) ? null : Math.round(x * 10_000) / 10_000.0;
    }

    static String pct(double x) {
        return Double.isNaN(x) ? "-" : String.format(Locale.ROOT, "%.1f%%", x * 100);
    }

    static String dur(double seconds) {
        if (Double.isNaN(seconds)) return "-";
        if (seconds < 120) return String.format(Locale.ROOT, "%.0fs", seconds);
        if (seconds < 7200) return String.format(Locale.ROOT, "%.1fm", seconds / 60);
        return String.format(Locale.ROOT, "%.1fh", seconds / 3600);
    }
}
