package io.cardinal.chaos.checker;

import io.cardinal.chaos.history.Op;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Checker 3: the submits, cancels and linearizable reads of each job form a linearizable history of
 * {@link JobStateModel}. Linearizability is local (compositional), so each job is checked on its own.
 */
public final class LinearizabilityChecker {
    public static final String NAME = "linearizable";
    static final long MAX_STEPS_PER_JOB = 2_000_000;

    private LinearizabilityChecker() {
    }

    public static CheckResult check(List<Op> ops) {
        CheckResult r = new CheckResult(NAME);
        // Submits name a key; the job id is known once any submit of the key was acknowledged.
        Map<String, String> jobOfKey = new HashMap<>();
        for (Op op : ops) {
            if (op.f().equals("submit") && op.ok()) jobOfKey.put(op.args().path("key").asText(), op.result().path("jobId").asText());
        }
        Map<String, List<Op>> byJob = new TreeMap<>();
        for (Op op : ops) {
            String job = switch (op.f()) {
                case "submit" -> jobOfKey.get(op.args().path("key").asText());
                case "cancel", "read" -> op.args().path("jobId").asText();
                default -> null;
            };
            if (job == null || job.isEmpty()) continue;
            if (op.f().equals("read") && !op.ok()) continue; // a read with no answer constrains nothing
            byJob.computeIfAbsent(job, k -> new ArrayList<>()).add(op);
        }
        long unknown = 0;
        long checkedOps = 0;
        for (Map.Entry<String, List<Op>> e : byJob.entrySet()) {
            List<Wgl.Call<Op>> calls = new ArrayList<>();
            int id = 0;
            for (Op op : e.getValue()) {
                long ret = op.type().equals(Op.INFO) ? Long.MAX_VALUE : op.completeNs();
                calls.add(new Wgl.Call<>(id++, op.invokeNs(), ret, op));
            }
            checkedOps += calls.size();
            Wgl.Result res = Wgl.check(new JobStateModel(), calls, MAX_STEPS_PER_JOB);
            if (res == Wgl.Result.NOT_LINEARIZABLE) {
                r.error("job " + e.getKey() + " is not linearizable: " + describe(e.getValue()));
            } else if (res == Wgl.Result.UNKNOWN) {
                unknown++;
            }
        }
        if (unknown > 0) r.unknown(unknown + " job histories exceeded the search budget of " + MAX_STEPS_PER_JOB + " steps");
        return r.put("jobs", byJob.size()).put("ops", checkedOps);
    }

    private static String describe(List<Op> ops) {
        StringBuilder sb = new StringBuilder();
        int n = 0;
        for (Op op : ops) {
            if (n++ >= 12) {
                sb.append(" ...");
                break;
            }
            sb.append(" [").append(op.index()).append(' ').append(op.f()).append(' ').append(op.type()).append(" via ").append(op.replica())
                    .append(" ").append(op.invokeNs() / 1_000_000).append("-").append(op.completeNs() / 1_000_000).append("ms");
            if (op.f().equals("read")) sb.append(" -> ").append(op.result().path("state").asText());
            if (!op.ok()) sb.append(" status ").append(op.result().path("status").asInt());
            sb.append(']');
        }
        return sb.toString();
    }
}
