package io.cardinal.chaos.checker;

import com.fasterxml.jackson.databind.JsonNode;
import io.cardinal.chaos.history.Op;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checker 2: every acknowledged write is in the final log (of every replica), and no definitely failed write is.
 * Submits are matched by idempotency key (and the job id the reply named), cancels by job, card health and node
 * changes by their target (when the reply said the command wrote events).
 */
public final class DurabilityChecker {
    public static final String NAME = "durability";

    private DurabilityChecker() {
    }

    public static CheckResult check(List<Op> ops, Map<String, List<JsonNode>> eventsByReplica) {
        CheckResult r = new CheckResult(NAME);
        long acked = 0;
        long failed = 0;
        // A submit retried with the same key may have taken effect through another attempt (ok or unknown):
        // only a key whose every attempt definitely failed must be absent from the log.
        java.util.Set<String> maybeApplied = new HashSet<>();
        for (Op op : ops) if (op.f().equals("submit") && !op.type().equals(Op.FAIL)) maybeApplied.add(op.args().path("key").asText());
        for (Map.Entry<String, List<JsonNode>> rep : eventsByReplica.entrySet()) {
            Map<String, String> jobByKey = new HashMap<>();
            Set<String> facts = new HashSet<>();
            for (JsonNode e : rep.getValue()) {
                String type = Events.type(e);
                switch (type) {
                    case "JobSubmitted" -> jobByKey.put(e.path("idempotencyKey").asText(), Events.jobId(e));
                    case "JobCancelled" -> facts.add("cancel:" + Events.jobId(e));
                    case "CardHealthChanged" -> facts.add((e.path("healthy").asBoolean(false) ? "heal-card:" : "fail-card:")
                            + e.path("card").path("nodeId").asText() + "/" + e.path("card").path("index").asInt(0));
                    case "NodeDrained", "NodeCordoned" -> facts.add("drain:" + e.path("nodeId").asText());
                    case "NodeUncordoned" -> facts.add("uncordon:" + e.path("nodeId").asText());
                    case "NodeRegistered" -> facts.add("register:" + e.path("nodeId").asText());
                    // the failover prober's writes: a quota of its own tenant, a new value each time
                    case "QuotaSet" -> facts.add("probe:" + e.path("tenant").asText() + "=" + e.path("cards").asLong());
                    default -> {
                    }
                }
            }
            for (Op op : ops) {
                if (!op.isWrite()) continue;
                if (op.f().equals("submit")) {
                    String key = op.args().path("key").asText();
                    if (op.ok()) {
                        acked++;
                        String job = jobByKey.get(key);
                        String want = op.result().path("jobId").asText();
                        if (job == null) r.error(rep.getKey() + ": acknowledged submit " + key + " (" + want + ", op " + op.index() + ") is not in the log");
                        else if (!job.equals(want)) r.error(rep.getKey() + ": submit " + key + " acknowledged as " + want + " but the log made " + job);
                    } else if (op.type().equals(Op.FAIL) && !maybeApplied.contains(key)) {
                        failed++;
                        if (jobByKey.containsKey(key)) r.error(rep.getKey() + ": failed submit " + key + " (op " + op.index() + ") is in the log as " + jobByKey.get(key));
                    }
                    continue;
                }
                if (!op.ok()) continue;
                if (op.f().equals("cancel") || op.result().path("events").asLong(0) > 0 || op.f().equals("register")
                        || op.f().equals("probe")) {
                    acked++;
                    String target = op.f().equals("probe") ? op.args().path("tenant").asText() + "=" + op.args().path("cards").asLong()
                            : op.args().has("jobId") ? op.args().path("jobId").asText()
                            : op.args().has("card") ? op.args().path("nodeId").asText() + "/" + op.args().path("card").asInt()
                            : op.args().path("nodeId").asText();
                    if (!facts.contains(op.f() + ":" + target)) {
                        r.error(rep.getKey() + ": acknowledged " + op.f() + " " + target + " (op " + op.index() + ") left no event in the log");
                    }
                }
            }
        }
        return r.put("acknowledgedChecked", acked).put("failedChecked", failed);
    }
}
