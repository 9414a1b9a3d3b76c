package io.cardinal.chaos.checker;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checker 7: after heal, every interrupted job runs again within the bound. A job whose last lifecycle event is an
 * interruption (or a wait after one) when the bound has passed is a violation if some node had room for it
 * ({@code freeCardsByNode}: free healthy cards of each online, uncordoned node; a task never spans nodes).
 * The time from the end of the heal phase to each job's restart is reported.
 */
public final class LivenessChecker {
    public static final String NAME = "liveness";

    private LivenessChecker() {
    }

    public static CheckResult check(List<JsonNode> events, long healedAtMs, long boundMillis, Map<String, Integer> freeCardsByNode) {
        CheckResult r = new CheckResult(NAME);
        Map<String, JsonNode> last = new HashMap<>();
        Map<String, Integer> need = new HashMap<>();
        Map<String, Boolean> interrupted = new HashMap<>();
        long maxRestartMs = 0;
        for (JsonNode e : events) {
            String type = Events.type(e);
            String job = Events.jobId(e);
            if (type.equals("JobSubmitted")) {
                JsonNode spec = e.path("spec");
                need.put(job, Math.max(1, spec.path("cardsPerTask").asInt(1)));
            }
            if (type.equals("JobInterrupted")) interrupted.put(job, true);
            if (type.equals("JobRestarting") && e.path("timeMs").asLong() >= healedAtMs) {
                maxRestartMs = Math.max(maxRestartMs, e.path("timeMs").asLong() - healedAtMs);
            }
            if (type.startsWith("Job") && !type.equals("JobWaiting")) last.put(job, e);
        }
        int maxFree = 0;
        for (int f : freeCardsByNode.values()) maxFree = Math.max(maxFree, f);
        long waiting = 0;
        for (Map.Entry<String, JsonNode> e : last.entrySet()) {
            if (!Events.type(e.getValue()).equals("JobInterrupted")) continue;
            waiting++;
            int n = need.getOrDefault(e.getKey(), 1);
            if (n <= maxFree) {
                r.error("job " + e.getKey() + " was interrupted (seq " + e.getValue().path("seq").asLong() + ") and did not run again within "
                        + boundMillis + " ms of heal although a node has " + maxFree + " free cards (it needs " + n + ")");
            }
        }
        return r.put("interruptedJobs", interrupted.size()).put("stillWaiting", waiting).put("maxRestartAfterHealMs", maxRestartMs)
                .put("boundMillis", boundMillis);
    }

    /**
     * With real agents, a job the servers say holds cards must also run there: every job of {@code holdingAttempts}
     * (job -> current attempt, for jobs PLACED, RUNNING or RESTARTING once the bound has passed) needs a worker of that
     * attempt still running on some agent ({@code runningOnAgents}, from the agents' attempts.log). A job that the
     * servers think runs but no agent runs (an Assign that was never re-sent or was refused, a crashed agent's
     * workers reported as stopped on purpose) is a liveness violation the event log alone cannot show.
     */
    public static CheckResult checkAgents(CheckResult r, Map<String, Long> holdingAttempts, Map<String, Set<Long>> runningOnAgents,
                                          long boundMillis) {
        long missing = 0;
        for (Map.Entry<String, Long> e : holdingAttempts.entrySet()) {
            Set<Long> running = runningOnAgents.getOrDefault(e.getKey(), Set.of());
            if (!running.contains(e.getValue())) {
                missing++;
                r.error("job " + e.getKey() + " holds cards at attempt " + e.getValue() + " but no agent runs a worker of that attempt "
                        + boundMillis + " ms after heal (running attempts on agents: " + running + ")");
            }
        }
        return r.put("jobsHoldingCards", holdingAttempts.size()).put("holdingButNotOnAgents", missing);
    }
}
