package io.cardinal.chaos.checker;

import io.cardinal.chaos.history.Op;

import java.util.List;

/**
 * The disk-full nemesis fills the leader's data dir filesystem below the servers' {@code minFreeDiskMiB}; a write
 * sent straight to that leader must then be refused with a clear 503 that names the disk. (That writes are taken
 * again once the ballast is gone shows in the rest of the history and in the liveness checker.)
 */
public final class DiskFullChecker {
    public static final String NAME = "disk-full-refusal";

    private DiskFullChecker() {
    }

    public static CheckResult check(List<Op> ops) {
        CheckResult r = new CheckResult(NAME);
        int steps = 0;
        int skipped = 0;
        for (Op op : ops) {
            if (!op.f().equals("nemesis") || !op.args().path("fault").asText().equals("disk-full")) continue;
            if (op.args().path("targets").isEmpty()) continue;
            String reply = op.result().path("writeToFullLeader").asText("");
            if (reply.startsWith("skipped")) {
                skipped++; // the target lost the leadership: no claim about the full leader
                continue;
            }
            steps++;
            if (!reply.startsWith("503 ") || !reply.contains("MiB free")) {
                r.error("disk-full step (op " + op.index() + ", " + op.args().path("targets") + "): a write to the full leader got "
                        + (reply.isEmpty() ? "no recorded reply (" + op.result() + ")" : reply) + ", not a 503 naming the free space");
            }
        }
        return r.put("steps", steps).put("skipped", skipped);
    }
}
