package io.cardinal.server.it;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.chaos.ChaosMain;
import io.cardinal.chaos.RunConfig;
import io.cardinal.chaos.Runner;
import io.cardinal.chaos.nemesis.Nemesis;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The chaos suite's ci profile on backend A (Docker containers via Testcontainers, one IP per replica): every
 * nemesis it supports here, a seeded schedule, and every checker must pass. Skipped with a message when no Docker engine answers
 * (.ci/run installs and starts one). Seed: -Dcardinal.seed; duration: -Dcardinal.chaos.seconds (default 150); node
 * agents (each its own container; their crash and partition nemeses join the schedule): -Dcardinal.chaos.agents (4).
 */
class ChaosCiProfileTest {
    @Test
    void ciProfileOnContainersIsValid() throws Exception {
        Assumptions.assumeTrue(ChaosMain.dockerAvailable(),
                "no Docker engine: skipping the chaos ci profile on backend A (.ci/run installs docker.io and starts dockerd)");
        // A fixed default keeps the build's gate reproducible; chaos-tests/run-schedules.sh explores other seeds.
        long seed = Long.getLong("cardinal.seed", 42);
        long seconds = Long.getLong("cardinal.chaos.seconds", 150);
        Path out = Path.of("target", "chaos-ci", Long.toString(seed)).toAbsolutePath();
        // every nemesis backend A can run here (the disk ones need root and loop mounts: see LoopDisks)
        int agents = Integer.getInteger("cardinal.chaos.agents", 4);
        RunConfig cfg = new RunConfig("containers", "ci", seconds, seed, out, null, 3,
                Nemesis.supported(ChaosMain.capabilities("containers", agents)), 4, agents);
        System.out.println("ChaosCiProfileTest seed=" + seed + "; reproduce: " + cfg.reproduceCommand());
        ObjectNode verdict = new Runner(cfg, System.out).run();
        assertTrue(verdict.path("valid").asBoolean(), "chaos ci profile INVALID (seed " + seed + "), see " + out
                + "/verdict.json; reproduce: " + cfg.reproduceCommand() + "\n" + verdict.toPrettyString());
    }
}
