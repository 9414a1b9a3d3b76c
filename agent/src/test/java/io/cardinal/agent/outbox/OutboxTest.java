package io.cardinal.agent.outbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.cardinal.protocol.v1.CardHealth;
import io.cardinal.protocol.v1.Report;
import io.cardinal.protocol.v1.ReportType;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutboxTest {
  private static Report.Builder report(String reason) {
    return Report.newBuilder().setType(ReportType.CARD_HEALTH)
        .setCardHealth(CardHealth.newBuilder().setReason(reason));
  }

  @Test
  void pendingReportsSurviveReopenWithTheSameIdsAndAcksRetireThem(@TempDir Path dir) {
    String a;
    String b;
    String c;
    try (Outbox o = new Outbox(dir, "n1")) {
      a = o.append(report("a")).getId();
      b = o.append(report("b")).getId();
      c = o.append(report("c")).getId();
      assertNotEquals(a, b);
      assertEquals(1, o.retire(List.of(b))); // out of order
      assertEquals(0, o.retire(List.of(b, "n1:other:1")));
    }
    String d;
    try (Outbox o = new Outbox(dir, "n1")) {
      assertEquals(List.of(a, c), o.pendingReports().stream().map(Report::getId).toList());
      assertEquals("c", o.pendingReports().get(1).getCardHealth().getReason());
      o.retire(List.of(a));
      d = o.append(report("d")).getId();
      assertNotEquals(c, d);
    }
    try (Outbox o = new Outbox(dir, "n1")) {
      assertEquals(List.of(c, d), o.pendingReports().stream().map(Report::getId).toList());
      o.retire(List.of(c, d));
    }
    try (Outbox o = new Outbox(dir, "n1")) {
      assertEquals(0, o.pendingCount());
      String e = o.append(report("e")).getId();
      // Sequences keep growing across reopens: ids are never reused.
      assertEquals(Long.parseLong(d.substring(d.lastIndexOf(':') + 1)) + 1,
          Long.parseLong(e.substring(e.lastIndexOf(':') + 1)));
    }
  }
}
