package io.cardinal.chaos.checker;

import io.cardinal.chaos.history.Op;

/**
 * The sequential specification of one job as clients see it: ABSENT, then LIVE after a submit, then ENDED after a
 * cancel. Nothing else ends a job during a run (restart budgets are far beyond what a run uses), so a read must
 * return exactly the model's state. Ops with an unknown outcome (info) may take effect or not.
 */
public final class JobStateModel implements Wgl.Model<String, Op> {
    public static final String ABSENT = "ABSENT";
    public static final String LIVE = "LIVE";
    public static final String ENDED = "ENDED";

    /** The abstraction of a job state the API returned. */
    public static String abstractState(String apiState) {
        return switch (apiState) {
            case "ABSENT" -> ABSENT;
            case "SUCCEEDED", "FAILED", "CANCELLED" -> ENDED;
            default -> LIVE;
        };
    }

    @Override
    public String init() {
        return ABSENT;
    }

    @Override
    public String step(String s, Op op) {
        boolean info = op.type().equals(Op.INFO);
        switch (op.f()) {
            case "submit":
                if (info) return s.equals(ABSENT) ? LIVE : s;
                if (!op.ok()) return s;
                boolean duplicate = op.result().path("duplicate").asBoolean(false);
                if (duplicate) return s.equals(ABSENT) ? null : s;
                return s.equals(ABSENT) ? LIVE : null;
            case "cancel":
                if (info) return s.equals(LIVE) ? ENDED : s;
                if (op.ok()) return s.equals(LIVE) ? ENDED : null;
                int status = op.result().path("status").asInt();
                if (status == 409) return s.equals(ENDED) ? s : null;
                if (status == 404) return s.equals(ABSENT) ? s : null;
                return s;
            case "read":
                if (!op.ok()) return s;
                return abstractState(op.result().path("state").asText()).equals(s) ? s : null;
            default:
                return s;
        }
    }
}
