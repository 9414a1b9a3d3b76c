package io.cardinal.server.it;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.chaos.Bugs;
import io.cardinal.chaos.RunConfig;
import io.cardinal.chaos.Runner;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Proof that the chaos checkers bite: with a test-only bug injected into the servers (-Dcardinal.injectBug), a short
 * run on the local backend must end invalid, and the checker the catalogue names must be among the failing ones.
 * (assign-without-hold runs 4 real agents and crashes busy ones past the heartbeat TTL: agent-attempts must see two
 * attempts of a job at once.)
 */
class ChaosInjectedBugsTest {
    @ParameterizedTest
    @ValueSource(strings = {"skip-double-allocation-check", "reuse-attempt", "lose-event-seq", "assign-without-hold"})
    void injectedBugIsCaughtByItsChecker(String bug) throws Exception {
        long seed = Long.getLong("cardinal.seed", 42);
        Bugs.Bug b = Bugs.ALL.get(bug);
        Path out = Path.of("target", "chaos-bugs", bug).toAbsolutePath();
        // room for two faults when the bug needs long ones (a fault takes its hold plus a gap of up to 5 s)
        long seconds = Math.max(20, 2 * (b.minHoldMillis() + 2_000 + 5_000) / 1000 + 5);
        RunConfig cfg = new RunConfig("local", "ci", seconds, seed, out, bug, 3, b.nemeses(), b.clients(), b.agents());
        ObjectNode verdict = new Runner(cfg, System.out).run();
        assertFalse(verdict.path("valid").asBoolean(), bug + " was not caught (seed " + seed + "): " + verdict.toPrettyString());
        assertFalse(verdict.path("checkers").path(b.checker()).path("valid").asBoolean(true),
                bug + " must fail checker " + b.checker() + ": " + verdict.path("checkers").toPrettyString());
        assertTrue(verdict.path("reproduce").asText().contains("--inject-bug " + bug));
    }
}
