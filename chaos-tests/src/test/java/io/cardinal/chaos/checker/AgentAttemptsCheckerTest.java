package io.cardinal.chaos.checker;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checker 6 on synthetic attempts.log files (format: {@code <epochMillis> START|STOP <job> <attempt> <rank> <pid>}). */
class AgentAttemptsCheckerTest {
    @Test
    void handOverAcrossAgentsIsFine() {
        Map<String, List<String>> logs = Map.of(
                "a1", List.of("1000 START j-1 1 0 100", "1000 START j-1 1 1 101", "2000 STOP j-1 1 0 100", "2001 STOP j-1 1 1 101"),
                "a2", List.of("2500 START j-1 2 0 200", "2600 START j-1 2 1 201"));
        CheckResult r = AgentAttemptsChecker.checkLines(logs, 10_000);
        assertTrue(r.valid(), r.toString());
        assertEquals(6, r.json().path("lines").asInt());
    }

    @Test
    void newAttemptStartingBeforeTheOldStoppedIsCaught() {
        Map<String, List<String>> logs = Map.of(
                "a1", List.of("1000 START j-1 1 0 100", "3000 STOP j-1 1 0 100"),
                "a2", List.of("2500 START j-1 2 0 200"));
        CheckResult r = AgentAttemptsChecker.checkLines(logs, 10_000);
        assertFalse(r.valid());
        assertTrue(r.json().path("errors").get(0).asText().contains("j-1"), r.toString());
    }

    @Test
    void processWithoutStopRunsToTheEnd() {
        Map<String, List<String>> logs = Map.of(
                "a1", List.of("1000 START j-1 1 0 100"),
                "a2", List.of("5000 START j-1 2 0 200", "6000 STOP j-1 2 0 200"));
        assertFalse(AgentAttemptsChecker.checkLines(logs, 10_000).valid());
    }

    @Test
    void sameAttemptOnManyRanksAndOtherJobsAreFine() {
        Map<String, List<String>> logs = Map.of(
                "a1", List.of("1000 START j-1 1 0 100", "1000 START j-2 1 0 101"),
                "a2", List.of("1000 START j-1 1 1 200", "1000 START j-2 1 1 201"));
        assertTrue(AgentAttemptsChecker.checkLines(logs, 10_000).valid());
    }

    @Test
    void readsFilesAndRejectsGarbage() throws Exception {
        Path dir = Files.createTempDirectory("attempts");
        Files.writeString(dir.resolve("a1.log"), "1000 START j-1 1 0 100\nnot a line\n");
        CheckResult r = AgentAttemptsChecker.check(Map.of("a1", dir.resolve("a1.log")), 2000);
        assertFalse(r.valid());
    }

    @Test
    void runningAttemptsAreStartsWithoutStops() {
        Map<String, List<String>> logs = Map.of(
                "a1", List.of("1000 START j-1 1 0 100", "2000 STOP j-1 1 0 100", "2100 START j-2 3 0 300", "torn"),
                "a2", List.of("2500 START j-1 2 0 200"));
        Map<String, java.util.Set<Long>> running = AgentAttemptsChecker.runningAttempts(logs);
        assertEquals(Map.of("j-1", java.util.Set.of(2L), "j-2", java.util.Set.of(3L)), running);
    }

    @Test
    void jobHoldingCardsWithoutAWorkerOnAnyAgentFailsLiveness() {
        Map<String, java.util.Set<Long>> running = Map.of("j-1", java.util.Set.of(2L));
        CheckResult ok = LivenessChecker.checkAgents(new CheckResult(LivenessChecker.NAME), Map.of("j-1", 2L), running, 1000);
        assertTrue(ok.valid(), ok.toString());
        // The servers say attempt 3 runs (e.g. a restart whose Assign the agent refused); the agents still run 2.
        CheckResult stale = LivenessChecker.checkAgents(new CheckResult(LivenessChecker.NAME), Map.of("j-1", 3L), running, 1000);
        assertFalse(stale.valid());
        CheckResult none = LivenessChecker.checkAgents(new CheckResult(LivenessChecker.NAME), Map.of("j-9", 1L), running, 1000);
        assertFalse(none.valid());
        assertTrue(none.json().path("errors").get(0).asText().contains("j-9"), none.toString());
    }
}
