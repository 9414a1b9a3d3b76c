package io.cardinal.chaos.checker;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checker 1: no card is ever held by two (job, attempt) at once. Replays each replica's committed events: a
 * placement (JobPlaced, JobRestarting) takes its cards, which must be free; a release (interrupted, preempted,
 * finished) gives back every card of the job.
 */
public final class CardExclusivityChecker {
    public static final String NAME = "card-exclusive";

    private CardExclusivityChecker() {
    }

    public static CheckResult check(Map<String, List<JsonNode>> eventsByReplica) {
        CheckResult r = new CheckResult(NAME);
        long placements = 0;
        for (Map.Entry<String, List<JsonNode>> rep : eventsByReplica.entrySet()) {
            Map<String, String> holder = new HashMap<>();
            Map<String, List<String>> byJob = new HashMap<>();
            for (JsonNode e : rep.getValue()) {
                String type = Events.type(e);
                String job = Events.jobId(e);
                if (type.equals("JobPlaced") || type.equals("JobRestarting")) {
                    placements++;
                    String h = job + "#" + Events.attempt(e);
                    if (byJob.containsKey(job)) {
                        r.error(rep.getKey() + " seq " + e.path("seq").asLong() + ": " + h + " placed while the job still holds "
                                + byJob.get(job));
                    }
                    List<String> cards = Events.cards(e.path("placement"));
                    for (String c : cards) {
                        String old = holder.get(c);
                        if (old != null && !old.startsWith(job + "#")) {
                            r.error(rep.getKey() + " seq " + e.path("seq").asLong() + ": card " + c + " given to " + h
                                    + " while held by " + old);
                        }
                        holder.put(c, h);
                    }
                    byJob.put(job, cards);
                } else if (Events.releases(type)) {
                    List<String> cards = byJob.remove(job);
                    if (cards != null) {
                        for (String c : cards) {
                            String h = holder.get(c);
                            if (h != null && h.startsWith(job + "#")) holder.remove(c);
                        }
                    }
                }
            }
        }
        return r.put("placements", placements).put("replicas", eventsByReplica.size());
    }
}
