package io.cardinal.agent;

import static io.cardinal.agent.TestSupport.WAIT_MILLIS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cardinal.agent.launcher.AttemptLog;
import io.cardinal.protocol.v1.Ack;
import io.cardinal.protocol.v1.AgentFrame;
import io.cardinal.protocol.v1.RankAssignment;
import io.cardinal.protocol.v1.Report;
import io.cardinal.protocol.v1.ReportType;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent as a real OS process (AgentMain, YAML config), killed with kill -9: reports appended to
 * the outbox but not acked are resent with the same ids after the restart; acked ones are not; workers
 * of the killed agent are stopped by the next run.
 */
class AgentProcessTest {
  private static final String OPENS = "--add-opens=java.base/java.lang=ALL-UNNAMED "
      + "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED "
      + "--add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED "
      + "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED "
      + "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED --add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED "
      + "--add-opens=jdk.unsupported/sun.misc=ALL-UNNAMED -Dchronicle.analytics.disable=true";

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static Process startAgent(Path config, Path log) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(TestSupport.javaBin());
    cmd.add("-Xmx128m");
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.addAll(List.of(OPENS.split(" ")));
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), AgentMain.class.getName(), "--config",
        config.toString()));
    return new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
  }

  private static void kill9(Process p) throws InterruptedException {
    p.destroyForcibly(); // SIGKILL: no shutdown hook runs
    assertTrue(p.waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS), "agent process did not die");
  }

  private static boolean isReport(FakeGateway.Received r, String id) {
    return r.frame().hasReport() && r.frame().getReport().getId().equals(id);
  }

  @Test
  void unackedReportsSurviveKillMinus9AndAreResentWithTheSameIds(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("agent.out");
    try (FakeGateway gw = new FakeGateway()) {
      gw.ackReports.set(false);
      int adminPort = freePort();
      Path config = dir.resolve("agent.yaml");
      Files.writeString(config, """
          nodeId: p1
          supernodeId: sn1
          servers: [%s]
          dataDir: %s
          adminAddress: 127.0.0.1:%d
          cards: {count: 2, model: 910B, memoryMib: 65536}
          heartbeatIntervalMillis: 200
          killGraceMillis: 1000
          """.formatted(gw.address(), dir.resolve("data"), adminPort));
      Process agent = startAgent(config, log);
      try {
        gw.await(r -> r.connection() == 1 && r.frame().hasInventory(), WAIT_MILLIS);
        // a worker that will be orphaned by the kill -9
        gw.send("p1", AgentFrame.newBuilder().setAssign(AgentLaunchTest.assign("j1", 1,
            List.of("/bin/sh", "-c", "exec sleep 600")).addRanks(RankAssignment.newBuilder().setRank(0)
            .addCardIndices(0))).build());
        Report started = gw.await(r -> AgentLaunchTest.report(r, ReportType.TASK_STARTED, "j1", 1), WAIT_MILLIS)
            .frame().getReport();
        HttpResponse<String> resp = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + adminPort + "/v1/fail-card?card=1"))
            .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, resp.statusCode(), resp.body());
        Report card = gw.await(r -> r.frame().hasReport() && r.frame().getReport().getType() == ReportType.CARD_HEALTH,
            WAIT_MILLIS).frame().getReport();

        // appended and sent, never acked: kill -9
        kill9(agent);
        long orphan = started.getTaskStarted().getPid();
        assertTrue(ProcessHandle.of(orphan).map(ProcessHandle::isAlive).orElse(false), "worker should outlive kill -9");
        int mark = gw.size();
        agent = startAgent(config, log);
        gw.await(mark, r -> r.frame().hasHello(), WAIT_MILLIS);
        FakeGateway.Received again = gw.await(mark, r -> isReport(r, card.getId()), WAIT_MILLIS);
        gw.await(mark, r -> isReport(r, started.getId()), WAIT_MILLIS);
        assertEquals(card, again.frame().getReport(), "a resent report is the same report");
        // the restarted agent stopped the orphaned worker and reported it as a lost rank (not as obeying a stop, which
        // the server ignores), so that the attempt is restarted
        gw.await(mark, r -> AgentLaunchTest.report(r, ReportType.TASK_EXITED, "j1", 1)
            && !r.frame().getReport().getTaskExited().getKilledByAgent()
            && r.frame().getReport().getTaskExited().getExitCode() == -1, WAIT_MILLIS);
        assertFalse(ProcessHandle.of(orphan).map(ProcessHandle::isAlive).orElse(false)
            && !io.cardinal.agent.launcher.Launcher.isZombie(orphan), "orphaned worker still running");
        assertTrue(AttemptLog.unstopped(AttemptLog.read(dir.resolve("data/attempts.log"))).isEmpty());
        // the failed card stays failed across the restart
        gw.await(mark, r -> r.frame().hasHeartbeat() && !r.frame().getHeartbeat().getCards(1).getHealthy(),
            WAIT_MILLIS);

        // ack everything the new session got; then nothing is pending
        List<String> ids = gw.received().stream().skip(mark).filter(r -> r.frame().hasReport())
            .map(r -> r.frame().getReport().getId()).distinct().toList();
        gw.send("p1", AgentFrame.newBuilder().setAck(Ack.newBuilder().addAllReportIds(ids)).build());
        gw.await(mark, r -> r.frame().hasHeartbeat() && r.frame().getHeartbeat().getPendingReports() == 0,
            WAIT_MILLIS);

        // kill -9 again: acked reports are not resent
        kill9(agent);
        int mark2 = gw.size();
        agent = startAgent(config, log);
        // pending reports go out before the first heartbeat of a session, so by then any resend is here
        gw.await(mark2, r -> r.frame().hasHeartbeat(), WAIT_MILLIS);
        List<String> resent = gw.received().stream().skip(mark2).filter(r -> r.frame().hasReport())
            .map(r -> r.frame().getReport().getId()).filter(ids::contains).toList();
        assertEquals(List.of(), resent, "acked reports were sent again");
        assertEquals(0, gw.await(mark2, r -> r.frame().hasHeartbeat(), WAIT_MILLIS).frame().getHeartbeat()
            .getPendingReports());
      } finally {
        agent.destroy();
        if (!agent.waitFor(WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
          agent.destroyForcibly();
        }
      }
    } catch (AssertionError | RuntimeException e) {
      throw new AssertionError(e.getMessage() + "\n--- agent output ---\n" + TestSupport.read(log), e);
    }
  }
}
