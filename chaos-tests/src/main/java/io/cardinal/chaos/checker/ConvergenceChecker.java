package io.cardinal.chaos.checker;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Map;
import java.util.TreeSet;

/**
 * Checker 4: after every fault healed, all replicas reach the same applied state: same last event seq and the same
 * state hash (given the status each replica reported once the harness's bounded wait for convergence ended).
 */
public final class ConvergenceChecker {
    public static final String NAME = "convergence";

    private ConvergenceChecker() {
    }

    public static CheckResult check(Map<String, JsonNode> statusByReplica, long waitedMillis) {
        CheckResult r = new CheckResult(NAME);
        TreeSet<String> hashes = new TreeSet<>();
        TreeSet<Long> seqs = new TreeSet<>();
        for (Map.Entry<String, JsonNode> e : statusByReplica.entrySet()) {
            JsonNode s = e.getValue();
            if (s == null || !s.has("stateHash")) {
                r.error("replica " + e.getKey() + " did not answer /v1/status after heal");
                continue;
            }
            hashes.add(s.path("stateHash").asText());
            seqs.add(s.path("lastEventSeq").asLong());
            r.put("hash_" + e.getKey(), s.path("stateHash").asText().substring(0, Math.min(16, s.path("stateHash").asText().length())));
        }
        if (hashes.size() > 1 || seqs.size() > 1) {
            r.error("replicas did not converge within " + waitedMillis + " ms: hashes " + hashes.size() + " distinct, last seqs " + seqs);
        }
        return r.put("waitedMillis", waitedMillis);
    }
}
