package io.cardinal.chaos.checker;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Attempts are fencing tokens: per job, every placement (JobPlaced, JobRestarting) carries a strictly greater
 * attempt than the one before, and events about a running attempt name the current one.
 */
public final class AttemptFencingChecker {
    public static final String NAME = "attempt-fencing";

    private AttemptFencingChecker() {
    }

    public static CheckResult check(Map<String, List<JsonNode>> eventsByReplica) {
        CheckResult r = new CheckResult(NAME);
        for (Map.Entry<String, List<JsonNode>> rep : eventsByReplica.entrySet()) {
            Map<String, Long> current = new HashMap<>();
            for (JsonNode e : rep.getValue()) {
                String type = Events.type(e);
                String job = Events.jobId(e);
                long a = Events.attempt(e);
                if (type.equals("JobPlaced") || type.equals("JobRestarting")) {
                    long prev = current.getOrDefault(job, 0L);
                    if (a <= prev) {
                        r.error(rep.getKey() + " seq " + e.path("seq").asLong() + ": " + type + " of " + job + " with attempt " + a
                                + " after attempt " + prev + " (attempts must grow)");
                    }
                    current.put(job, Math.max(prev, a));
                } else if ((type.equals("JobInterrupted") || type.equals("JobStarted") || type.equals("JobSucceeded"))
                        && a != current.getOrDefault(job, 0L)) {
                    r.error(rep.getKey() + " seq " + e.path("seq").asLong() + ": " + type + " of " + job + " names attempt " + a
                            + ", current is " + current.getOrDefault(job, 0L));
                }
            }
        }
        return r;
    }
}
