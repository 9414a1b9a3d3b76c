package io.cardinal.chaos.checker;

import io.cardinal.chaos.history.Op;

import java.util.List;

/**
 * The faults themselves: a step whose fault could not be applied or healed proves nothing about the system under
 * it (and an unhealed fault skews every later check), so such a run is not valid. Steps skipped for want of a
 * target (no leader that a majority agrees on) are counted, not errors.
 */
public final class NemesisChecker {
    public static final String NAME = "nemesis";

    private NemesisChecker() {
    }

    public static CheckResult check(List<Op> ops) {
        CheckResult r = new CheckResult(NAME);
        int applied = 0;
        int skipped = 0;
        for (Op op : ops) {
            if (!op.f().equals("nemesis")) continue;
            String outcome = op.result().path("outcome").asText("");
            if (outcome.startsWith("error")) r.error("op " + op.index() + " " + op.args().path("fault").asText() + ": " + outcome);
            else if (outcome.startsWith("skipped")) skipped++;
            else applied++;
            if (op.result().has("healError")) {
                r.error("op " + op.index() + " " + op.args().path("fault").asText() + ": heal failed: " + op.result().path("healError").asText());
            }
        }
        return r.put("applied", applied).put("skipped", skipped);
    }
}
