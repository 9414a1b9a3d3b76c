package io.cardinal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cardinal.cli.dev.DevLayout;
import io.cardinal.cli.dev.Replica;
import io.cardinal.cli.dev.ReplicaProcesses;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `dev` against a fake bin/cardinal-server (a shell loop that records its arguments): the real server is not on
 * this branch, so readiness never comes and `dev up` ends with exit 2; the process handling is real.
 */
class DevCommandTest {
  @TempDir
  Path tmp;

  Path home;
  Path dir;
  Cli cli;

  @BeforeEach
  void fakeHome() throws Exception {
    assumeTrue(Files.isDirectory(Path.of("/proc/self")), "needs Linux /proc");
    home = tmp.resolve("home");
    dir = tmp.resolve("cluster");
    fakeServer(home, "trap 'exit 0' TERM\nwhile true; do sleep 0.1; done\n");
    cli = new Cli().home(home).readyTimeout(Duration.ofMillis(500));
  }

  @AfterEach
  void killLeftovers() {
    // Only the processes this test started, found through their pid files.
    DevLayout.read(dir).ifPresent(rs -> rs.forEach(r -> ReplicaProcesses.live(r).ifPresent(ProcessHandle::destroyForcibly)));
  }

  @Test
  void upStartsDetachedReplicasAndDownStopsThem() throws Exception {
    Cli.Result up = cli.run("dev", "up", "--dir", dir.toString());
    assertEquals(2, up.exit(), up.toString());
    assertTrue(up.err().contains("the dev cluster did not come up within 0s (leader: none, healthy: 0/3)"), up.err());
    List<Replica> replicas = DevLayout.read(dir).orElseThrow();
    assertEquals(3, replicas.size());
    assertEquals(DevLayout.servers(replicas) + "\n", Files.readString(dir.resolve("servers")));
    for (Replica r : replicas) {
      ProcessHandle h = ReplicaProcesses.live(r).orElseThrow(() -> new AssertionError(r.id() + " not running"));
      assertTrue(up.err().contains("started " + r.id() + " (pid " + h.pid() + ", http " + r.httpAddress()), up.err());
      assertEquals("--config " + r.configFile(), waitForFile(r.dir().resolve("args")));
      assertFalse(session(h.pid()).equals(session(ProcessHandle.current().pid())),
          "a replica runs in its own session so it outlives the CLI");
    }

    Cli.Result again = cli.run("dev", "up", "--dir", dir.toString());
    assertEquals(1, again.exit());
    assertTrue(again.err().startsWith("cardinal: the dev cluster in " + dir + " is already running: n1 (pid "),
        again.err());

    Cli.Result status = cli.run("-o", "json", "dev", "status", "--dir", dir.toString());
    JsonNode doc = new ObjectMapper().readTree(status.out());
    assertEquals(3, doc.path("replicas").size());
    doc.path("replicas").forEach(r -> assertTrue(r.path("running").asBoolean(), r.toString()));

    Cli.Result down = cli.run("dev", "down", "--dir", dir.toString());
    assertEquals(0, down.exit(), down.toString());
    assertEquals("stopped 3 replica(s); data is kept in " + dir + "\n", down.out());
    for (Replica r : replicas) {
      assertFalse(Files.exists(r.pidFile()));
      assertTrue(ReplicaProcesses.live(r).isEmpty());
    }
    assertEquals("nothing was running in " + dir + "\n", cli.run("dev", "down", "--dir", dir.toString()).out());
  }

  @Test
  void killAndStartOneReplicaAndUpRestartsOnlyTheDeadOnes() throws Exception {
    assertEquals(2, cli.run("dev", "up", "--dir", dir.toString(), "--replicas", "3").exit());
    Replica n2 = DevLayout.find(DevLayout.read(dir).orElseThrow(), "n2");
    long oldPid = ReplicaProcesses.live(n2).orElseThrow().pid();

    Cli.Result kill = cli.run("dev", "kill", "--dir", dir.toString(), "--id", "n2", "--signal", "KILL");
    assertEquals(0, kill.exit(), kill.toString());
    assertEquals("sent KILL to n2 (pid " + oldPid + ")\n", kill.out());
    awaitDead(n2);
    assertEquals(1, cli.run("dev", "kill", "--dir", dir.toString(), "--id", "n2").exit(), "not running any more");

    Cli.Result up = cli.run("dev", "up", "--dir", dir.toString(), "--replicas", "5");
    assertTrue(up.err().contains("already holds a 3-replica cluster; ignoring --replicas 5"), up.err());
    assertTrue(up.err().contains("started n2 ") && !up.err().contains("started n1 "), up.err());
    OptionalLong newPid = ReplicaProcesses.recordedPid(n2);
    assertTrue(newPid.isPresent() && newPid.getAsLong() != oldPid);

    assertEquals(1, cli.run("dev", "start", "--dir", dir.toString(), "--id", "n1").exit(), "n1 is running");
    cli.run("dev", "kill", "--dir", dir.toString(), "--id", "n1");
    Replica n1 = DevLayout.find(DevLayout.read(dir).orElseThrow(), "n1");
    awaitDead(n1);
    Cli.Result start = cli.run("dev", "start", "--dir", dir.toString(), "--id", "n1");
    assertEquals(0, start.exit(), start.toString());
    assertTrue(ReplicaProcesses.live(n1).isPresent());
    assertEquals(1, cli.run("dev", "kill", "--dir", dir.toString(), "--id", "n1", "--signal", "USR9").exit());
  }

  @Test
  void upReportsReplicasThatDieAtOnce() throws Exception {
    fakeServer(home, "echo 'bad config: no such key' >&2\nexit 3\n");
    Cli.Result up = cli.readyTimeout(Duration.ofSeconds(20)).run("dev", "up", "--dir", dir.toString(), "--replicas",
        "1");
    assertEquals(2, up.exit(), up.toString());
    assertTrue(up.err().contains("n1 exited (" + dir.toAbsolutePath().resolve("n1/server.log")
        + ": bad config: no such key)"), up.err());
  }

  @Test
  void devNeedsCardinalHomeAndAnExistingDir() {
    Cli.Result noHome = new Cli().run("dev", "up", "--dir", dir.toString());
    assertEquals(1, noHome.exit());
    assertTrue(noHome.err().startsWith("cardinal: cardinal.home is not set"), noHome.err());
    Cli.Result noDir = cli.run("dev", "down", "--dir", tmp.resolve("none").toString());
    assertEquals(1, noDir.exit());
    assertTrue(noDir.err().contains("no dev cluster in"), noDir.err());
  }

  private static void fakeServer(Path home, String body) throws Exception {
    Path bin = Files.createDirectories(home.resolve("bin"));
    Path script = bin.resolve("cardinal-server");
    Files.writeString(script, "#!/usr/bin/env bash\n"
        + "echo \"$@\" > \"$(dirname \"$2\")/args\"\n" + body);
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private static String waitForFile(Path file) throws Exception {
    for (int i = 0; i < 100 && !Files.exists(file); i++) {
      Thread.sleep(50);
    }
    return Files.readString(file).strip();
  }

  private static void awaitDead(Replica r) throws InterruptedException {
    for (int i = 0; i < 100 && ReplicaProcesses.live(r).isPresent(); i++) {
      Thread.sleep(50);
    }
    assertTrue(ReplicaProcesses.live(r).isEmpty(), r.id() + " still running");
  }

  /** Field 6 of /proc/PID/stat: the session id. */
  private static String session(long pid) throws Exception {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String afterName = stat.substring(stat.lastIndexOf(')') + 2);
    return afterName.split(" ")[3];
  }
}
