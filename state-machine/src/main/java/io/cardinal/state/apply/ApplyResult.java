package io.cardinal.state.apply;

import io.cardinal.protocol.v1.Event;

import java.util.List;
import java.util.Map;
import java.util.Set;

/** What one batch changed: the events with their sequence numbers and the keys of every record it touched. */
public record ApplyResult(List<Event> events, Set<String> nodes, Set<String> jobs, Set<String> quotas,
                          Set<String> spareRules, boolean members, Map<String, String> newKeys, boolean skipped,
                          String skipReason) {
    /** A batch with no events: a read barrier (see {@code ReadBarrier} in consensus). Only the applied index moves. */
    public static ApplyResult barrier() {
        return new ApplyResult(List.of(), Set.of(), Set.of(), Set.of(), Set.of(), false, Map.of(), false, "");
    }

    public static ApplyResult skipped(String reason) {
        return new ApplyResult(List.of(), Set.of(), Set.of(), Set.of(), Set.of(), false, Map.of(), true, reason);
    }
}
