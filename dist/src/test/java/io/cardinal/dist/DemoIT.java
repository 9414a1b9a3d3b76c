package io.cardinal.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's main job, end to end: {@code bin/cardinal demo -o json} starts 3 servers and 4 agents as real
 * processes, fails a card, kills a node, and must report both restarts (one from local shards, one from the buddy).
 */
class DemoIT {
  static final long TIMEOUT_SECONDS = 300;

  @TempDir
  Path tmp;

  @Test
  void demoRestartsTheJobTwice() throws Exception {
    Path repo = Path.of(System.getProperty("cardinal.repo", "..")).toAbsolutePath().normalize();
    Path launcher = repo.resolve("bin").resolve("cardinal");
    assertTrue(Files.isExecutable(launcher), launcher + " is not executable");
    assertTrue(Files.isDirectory(repo.resolve("dist/target/cardinal/lib")),
        "dist/target/cardinal/lib is missing: the dist module's package phase builds it");
    Path out = tmp.resolve("demo.json");
    Path err = tmp.resolve("demo.err");
    ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "demo", "-o", "json")
        .directory(repo.toFile())
        .redirectOutput(out.toFile())
        .redirectError(err.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    pb.environment().remove("CARDINAL_JAVA_OPTS");
    pb.environment().remove("CARDINAL_SERVERS");
    long start = System.nanoTime();
    Process p = pb.start();
    boolean finished = p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    if (!finished) {
      p.destroy(); // SIGTERM: the demo's shutdown hook stops its servers, agents and workers
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
    String stdout = Files.readString(out, StandardCharsets.UTF_8);
    String stderr = Files.readString(err, StandardCharsets.UTF_8);
    System.out.println("---- bin/cardinal demo -o json (" + seconds + " s) stderr:\n" + stderr);
    System.out.println("---- stdout:\n" + stdout);
    if (!finished) {
      fail("bin/cardinal demo did not finish within " + TIMEOUT_SECONDS + " s");
    }
    assertEquals(0, p.exitValue(), "bin/cardinal demo failed:\n" + stderr);

    JsonNode doc = new ObjectMapper().readTree(stdout);
    assertTrue(doc.path("ok").asBoolean(false), stdout);
    assertTrue(doc.path("job").asText().startsWith("j-"), stdout);
    JsonNode incidents = doc.path("incidents");
    assertEquals(2, incidents.size(), stdout);
    Set<String> sources = new HashSet<>();
    for (JsonNode i : incidents) {
      sources.add(i.path("shardSource").asText());
      assertTrue(i.path("restoreStep").asLong() > 0, "restoreStep > 0: " + i);
      assertTrue(i.path("detectedToRunningMs").asLong() > 0, "detectedToRunningMs > 0: " + i);
      assertTrue(i.path("stepsLost").isNumber() && i.path("stepsLost").asLong() >= 0, "stepsLost >= 0: " + i);
      assertTrue(!i.path("reason").asText().isEmpty(), "a reason: " + i);
    }
    assertEquals(Set.of("local", "buddy"), sources, stdout);
    assertEquals("local", incidents.path(0).path("shardSource").asText(), "the card failure restarts from local shards");
    assertEquals("buddy", incidents.path(1).path("shardSource").asText(), "the node loss restarts from the buddy");
    assertTrue(doc.path("timeline").size() > 0, stdout);
    assertTrue(!Files.exists(Path.of(doc.path("dir").asText())), "the demo's temporary directory is deleted");
  }
}
