package io.cardinal.chaos.checker;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;

/**
 * Checker 5: each replica's event log is 1, 2, 3, ... with no gap and no duplicate, and all replicas agree on the
 * event at every sequence number they share (same type, job and time).
 */
public final class EventSequenceChecker {
    public static final String NAME = "event-sequence";

    private EventSequenceChecker() {
    }

    public static CheckResult check(Map<String, List<JsonNode>> eventsByReplica) {
        CheckResult r = new CheckResult(NAME);
        List<JsonNode> reference = null;
        String refId = null;
        for (Map.Entry<String, List<JsonNode>> rep : eventsByReplica.entrySet()) {
            List<JsonNode> ev = rep.getValue();
            long expect = 1;
            for (JsonNode e : ev) {
                long seq = e.path("seq").asLong();
                if (seq < expect) r.error(rep.getKey() + ": duplicate or out-of-order seq " + seq + " after " + (expect - 1));
                else if (seq > expect) r.error(rep.getKey() + ": gap: seq " + expect + ".." + (seq - 1) + " missing (next is " + seq + ")");
                expect = Math.max(expect, seq + 1);
            }
            r.put("events_" + rep.getKey(), ev.size());
            if (reference == null) {
                reference = ev;
                refId = rep.getKey();
                continue;
            }
            int n = Math.min(reference.size(), ev.size());
            for (int i = 0; i < n; i++) {
                JsonNode a = reference.get(i);
                JsonNode b = ev.get(i);
                if (!key(a).equals(key(b))) {
                    r.error(refId + " and " + rep.getKey() + " differ at position " + i + ": " + key(a) + " vs " + key(b));
                    break;
                }
            }
        }
        return r;
    }

    private static String key(JsonNode e) {
        return e.path("seq").asLong() + ":" + Events.type(e) + ":" + Events.jobId(e) + ":" + e.path("timeMs").asLong();
    }
}
