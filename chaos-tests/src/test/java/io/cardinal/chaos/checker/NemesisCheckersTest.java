package io.cardinal.chaos.checker;

import com.fasterxml.jackson.databind.JsonNode;
import io.cardinal.chaos.history.Op;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The disk-full refusal, nemesis and probe-durability checks, on hand-written histories. */
class NemesisCheckersTest {
    static Op nemesis(long index, String fault, String targets, String result) {
        JsonNode args = EventCheckersTest.ev("{\"fault\":\"" + fault + "\",\"holdMs\":3000,\"targets\":" + targets + "}");
        return new Op(index, "nemesis", "nemesis", Op.INFO, "", 0, 1, 0, 1, args, EventCheckersTest.ev(result));
    }

    static final String REFUSED = "{\"outcome\":\"healed\",\"writeToFullLeader\":\"503 {\\\"error\\\":{\\\"code\\\":\\\"unavailable\\\","
            + "\\\"message\\\":\\\"the leader's data dir /d has 16 MiB free, below the 64 MiB minimum\\\"}}\"}";

    @Test
    void aFullLeaderThatRefusesPasses() {
        CheckResult r = DiskFullChecker.check(List.of(nemesis(1, "disk-full", "[\"n1 16MiB free\"]", REFUSED)));
        assertTrue(r.valid(), r.toString());
        assertEquals(1, r.json().path("steps").asInt());
    }

    @Test
    void aFullLeaderThatAcceptsOrSaysNothingIsCaught() {
        CheckResult accepted = DiskFullChecker.check(List.of(nemesis(1, "disk-full", "[\"n1 16MiB free\"]",
                "{\"outcome\":\"healed\",\"writeToFullLeader\":\"200 {\\\"logIndex\\\":7}\"}")));
        assertFalse(accepted.valid());
        CheckResult silent = DiskFullChecker.check(List.of(nemesis(1, "disk-full", "[\"n1 16MiB free\"]", "{\"outcome\":\"healed\"}")));
        assertFalse(silent.valid());
        // the target lost the leadership before or during the write: no claim about a full leader
        assertTrue(DiskFullChecker.check(List.of(nemesis(1, "disk-full", "[\"n1 16MiB free\"]",
                "{\"outcome\":\"healed\",\"writeToFullLeader\":\"skipped: n1 no longer leads\"}"))).valid());
        // a step with no target (no leader) made no claim
        assertTrue(DiskFullChecker.check(List.of(nemesis(1, "disk-full", "[]", "{\"outcome\":\"skipped: no target\"}"))).valid());
    }

    @Test
    void aFaultThatFailedToApplyOrHealInvalidatesTheRun() {
        assertTrue(NemesisChecker.check(List.of(nemesis(1, "slow-link", "[\"n1 256kbit\"]", "{\"outcome\":\"healed\"}"),
                nemesis(2, "kill-leader", "[]", "{\"outcome\":\"skipped: no target\"}"))).valid());
        assertFalse(NemesisChecker.check(List.of(nemesis(1, "slow-link", "[]", "{\"outcome\":\"error: tc: not found\"}"))).valid());
        assertFalse(NemesisChecker.check(List.of(nemesis(1, "disk-stall", "[\"n2\"]",
                "{\"outcome\":\"healed\",\"healError\":\"java.io.IOException: x\"}"))).valid());
    }

    @Test
    void anAcknowledgedProbeMustBeInTheLog() {
        Op probe = new Op(1, "prober", "probe", Op.OK, "n1", 0, 1, 0, 1,
                EventCheckersTest.ev("{\"tenant\":\"chaos-probe\",\"cards\":3}"), EventCheckersTest.ev("{\"events\":1}"));
        JsonNode set = EventCheckersTest.ev("{\"seq\":1,\"type\":\"QuotaSet\",\"tenant\":\"chaos-probe\",\"cards\":\"3\"}");
        JsonNode other = EventCheckersTest.ev("{\"seq\":1,\"type\":\"QuotaSet\",\"tenant\":\"chaos-probe\",\"cards\":\"2\"}");
        assertTrue(DurabilityChecker.check(List.of(probe), java.util.Map.of("n1", List.of(set))).valid());
        assertFalse(DurabilityChecker.check(List.of(probe), java.util.Map.of("n1", List.of(other))).valid());
    }
}
