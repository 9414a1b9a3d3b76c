package io.cardinal.chaos.checker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Checker 6: no two attempts of one job ever run at the same time on the agents. Reads every agent's
 * {@code attempts.log} ({@code <epochMillis> START|STOP <job> <attempt> <rank> <pid>}), builds each rank process's
 * running interval, and reports any overlap between intervals of different attempts of a job, across all agents.
 * A process with no STOP line runs until {@code endMs}.
 */
public final class AgentAttemptsChecker {
    public static final String NAME = "agent-attempts";

    record Interval(String agent, String job, long attempt, int rank, long startMs, long stopMs) {
    }

    private AgentAttemptsChecker() {
    }

    public static CheckResult check(Map<String, Path> logsByAgent, long endMs) throws IOException {
        return checkLines(read(logsByAgent), endMs);
    }

    /** Reads every agent's attempts.log (a missing file is an agent that never started a worker). */
    public static Map<String, List<String>> read(Map<String, Path> logsByAgent) throws IOException {
        Map<String, List<String>> lines = new TreeMap<>();
        for (Map.Entry<String, Path> e : logsByAgent.entrySet()) {
            lines.put(e.getKey(), Files.exists(e.getValue()) ? Files.readAllLines(e.getValue(), StandardCharsets.UTF_8) : List.of());
        }
        return lines;
    }

    /**
     * Per job, the attempts with a worker still running (a START with no STOP) on some agent. Torn or malformed lines
     * are skipped here; {@link #checkLines} reports them.
     */
    public static Map<String, java.util.Set<Long>> runningAttempts(Map<String, List<String>> linesByAgent) {
        Map<String, java.util.Set<Long>> out = new TreeMap<>();
        for (List<String> lines : linesByAgent.values()) {
            Map<String, String[]> open = new HashMap<>();
            for (String line : lines) {
                String[] f = line.trim().split("\\s+");
                if (f.length != 6) continue;
                String key = f[2] + " " + f[3] + " " + f[4] + " " + f[5];
                if (f[1].equals("START")) open.put(key, f);
                else if (f[1].equals("STOP")) open.remove(key);
            }
            for (String[] f : open.values()) {
                try {
                    out.computeIfAbsent(f[2], k -> new java.util.TreeSet<>()).add(Long.parseLong(f[3]));
                } catch (NumberFormatException e) {
                    // malformed: reported by checkLines
                }
            }
        }
        return out;
    }

    public static CheckResult checkLines(Map<String, List<String>> linesByAgent, long endMs) {
        CheckResult r = new CheckResult(NAME);
        Map<String, List<Interval>> byJob = new TreeMap<>();
        long parsed = 0;
        for (Map.Entry<String, List<String>> e : linesByAgent.entrySet()) {
            Map<String, long[]> open = new HashMap<>(); // job attempt rank pid -> start
            for (String line : e.getValue()) {
                String[] f = line.trim().split("\\s+");
                if (f.length < 6) {
                    if (!line.isBlank()) r.error(e.getKey() + ": malformed attempts.log line: " + line);
                    continue;
                }
                parsed++;
                long t;
                long attempt;
                int rank;
                try {
                    t = Long.parseLong(f[0]);
                    attempt = Long.parseLong(f[3]);
                    rank = Integer.parseInt(f[4]);
                } catch (NumberFormatException ex) {
                    r.error(e.getKey() + ": malformed attempts.log line: " + line);
                    continue;
                }
                String key = f[2] + " " + attempt + " " + rank + " " + f[5];
                if (f[1].equals("START")) {
                    open.put(key, new long[]{t});
                } else if (f[1].equals("STOP")) {
                    long[] s = open.remove(key);
                    if (s == null) continue; // a STOP for a process started before the log we have
                    byJob.computeIfAbsent(f[2], k -> new ArrayList<>()).add(new Interval(e.getKey(), f[2], attempt, rank, s[0], t));
                } else {
                    r.error(e.getKey() + ": unknown attempts.log verb: " + line);
                }
            }
            for (Map.Entry<String, long[]> o : open.entrySet()) {
                String[] k = o.getKey().split(" ");
                byJob.computeIfAbsent(k[0], x -> new ArrayList<>()).add(new Interval(e.getKey(), k[0], Long.parseLong(k[1]),
                        Integer.parseInt(k[2]), o.getValue()[0], endMs));
            }
        }
        long overlaps = 0;
        for (Map.Entry<String, List<Interval>> e : byJob.entrySet()) {
            List<Interval> iv = e.getValue();
            for (int i = 0; i < iv.size(); i++) {
                for (int j = i + 1; j < iv.size(); j++) {
                    Interval a = iv.get(i);
                    Interval b = iv.get(j);
                    if (a.attempt() == b.attempt()) continue;
                    if (a.startMs() < b.stopMs() && b.startMs() < a.stopMs()) {
                        overlaps++;
                        r.error("job " + e.getKey() + ": attempt " + a.attempt() + " rank " + a.rank() + " on " + a.agent() + " ["
                                + a.startMs() + ", " + a.stopMs() + ") overlaps attempt " + b.attempt() + " rank " + b.rank() + " on "
                                + b.agent() + " [" + b.startMs() + ", " + b.stopMs() + ")");
                    }
                }
            }
        }
        return r.put("lines", parsed).put("jobs", byJob.size()).put("overlaps", overlaps).put("agents", linesByAgent.size());
    }
}
