package io.cardinal.agent.outbox;

import com.google.protobuf.InvalidProtocolBufferException;
import io.cardinal.protocol.v1.Report;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.UUID;
import net.openhft.chronicle.bytes.SyncMode;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable outbox: every report the agent must deliver is appended to a local Chronicle Queue
 * before it is sent, and retired only when the server acks it. After a restart the queue is replayed
 * and every report not yet retired is pending again, with the same id.
 *
 * <p>Retirement is recorded in {@code retired.marker}: a low-water mark (every sequence below it is
 * retired) plus the retired sequences above it (acks may come out of order). The marker is replaced
 * atomically (write + rename), so a crash leaves either the old or the new one; with the old one a
 * few acked reports are sent again, which the server drops by id.
 *
 * <p>Not thread-safe: one thread (the agent's state thread) owns it, as Chronicle appenders are
 * thread-confined.
 */
public final class Outbox implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Outbox.class);
  /** Beyond this many unacked reports the agent refuses to queue more (the server is gone for long). */
  public static final int MAX_PENDING = 100_000;
  private static final int MAX_RETIRED_ABOVE_MARK = 10_000;

  private final Path dir;
  private final String nodeId;
  private final String incarnation;
  private final ChronicleQueue queue;
  private final ExcerptAppender appender;
  private final Map<String, Pending> pending = new LinkedHashMap<>();
  private final TreeSet<Long> retiredAboveMark = new TreeSet<>();
  private long lowWaterMark; // every seq < lowWaterMark is retired
  private long nextSeq;

  /** A report not yet acked; lastSentMillis is 0 when it has not been sent on the current session. */
  public static final class Pending {
    public final long seq;
    public final Report report;
    public long lastSentMillis;

    Pending(long seq, Report report) {
      this.seq = seq;
      this.report = report;
    }
  }

  public Outbox(Path dir, String nodeId) {
    this.dir = dir;
    this.nodeId = nodeId;
    try {
      Files.createDirectories(dir);
      this.incarnation = loadIncarnation(dir.resolve("incarnation"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open outbox " + dir, e);
    }
    SingleChronicleQueueBuilder builder = ChronicleQueue.singleBuilder(dir.resolve("queue"))
        .rollCycle(RollCycles.FAST_DAILY)
        // Reports are few; msync each append so a machine crash, not just a process crash, keeps them.
        .syncMode(SyncMode.SYNC);
    this.queue = builder.build();
    this.appender = queue.createAppender();
    loadMarker();
    replay();
  }

  private static String loadIncarnation(Path file) throws IOException {
    // Ids must be unique forever; if the data dir is wiped, sequences restart at 1, so a fresh
    // incarnation keeps new ids from colliding with ids the server already saw.
    if (Files.exists(file)) {
      String s = Files.readString(file, StandardCharsets.UTF_8).trim();
      if (!s.isEmpty()) {
        return s;
      }
    }
    String s = Long.toString(System.currentTimeMillis(), 36) + UUID.randomUUID().toString().substring(0, 4);
    Path tmp = file.resolveSibling("incarnation.tmp");
    Files.writeString(tmp, s + "\n", StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return s;
  }

  private void loadMarker() {
    Path marker = dir.resolve("retired.marker");
    if (!Files.exists(marker)) {
      lowWaterMark = 1;
      return;
    }
    try {
      List<String> lines = Files.readAllLines(marker, StandardCharsets.UTF_8);
      lowWaterMark = Long.parseLong(lines.get(0).trim());
      for (int i = 1; i < lines.size(); i++) {
        if (!lines.get(i).isBlank()) {
          retiredAboveMark.add(Long.parseLong(lines.get(i).trim()));
        }
      }
    } catch (IOException | RuntimeException e) {
      // A torn marker cannot happen (rename), but a hand-edited one can: resend everything, safely.
      log.warn("outbox marker {} unreadable ({}); resending every report in the queue", marker, e.toString());
      lowWaterMark = 1;
      retiredAboveMark.clear();
    }
  }

  private void replay() {
    long maxSeq = 0;
    int total = 0;
    ExcerptTailer tailer = queue.createTailer();
    while (true) {
      long[] seqOut = new long[1];
      byte[][] bodyOut = new byte[1][];
      boolean read = tailer.readBytes(b -> {
        seqOut[0] = b.readLong();
        int len = b.readInt();
        byte[] body = new byte[len];
        b.read(body);
        bodyOut[0] = body;
      });
      if (!read) {
        break;
      }
      total++;
      long seq = seqOut[0];
      maxSeq = Math.max(maxSeq, seq);
      if (seq < lowWaterMark || retiredAboveMark.contains(seq)) {
        continue;
      }
      try {
        Report r = Report.parseFrom(bodyOut[0]);
        pending.put(r.getId(), new Pending(seq, r));
      } catch (InvalidProtocolBufferException e) {
        log.error("outbox entry seq {} is unreadable and is skipped: {}", seq, e.getMessage());
      }
    }
    nextSeq = Math.max(maxSeq + 1, lowWaterMark);
    if (total > 0) {
      log.info("outbox {}: replayed {} reports, {} pending (not acked), next sequence {}", dir, total,
          pending.size(), nextSeq);
    }
  }

  /**
   * Makes a report durable and pending. The builder's id is set here: node id, incarnation and
   * sequence. Returns the stored report.
   */
  public Report append(Report.Builder builder) {
    if (pending.size() >= MAX_PENDING) {
      throw new IllegalStateException("outbox full: " + pending.size() + " reports not acked by the server");
    }
    long seq = nextSeq++;
    Report report = builder.setId(nodeId + ":" + incarnation + ":" + seq).setNodeId(nodeId).build();
    byte[] body = report.toByteArray();
    appender.writeBytes(b -> {
      b.writeLong(seq);
      b.writeInt(body.length);
      b.write(body);
    });
    pending.put(report.getId(), new Pending(seq, report));
    return report;
  }

  /** Retires acked reports. Unknown ids (already retired, or another incarnation's) are ignored. */
  public int retire(Collection<String> ids) {
    int retired = 0;
    for (String id : ids) {
      Pending p = pending.remove(id);
      if (p != null) {
        retiredAboveMark.add(p.seq);
        retired++;
      }
    }
    if (retired == 0) {
      return 0;
    }
    // Advance the low-water mark over every retired sequence with no pending one below it.
    long minPending = pending.values().stream().mapToLong(x -> x.seq).min().orElse(nextSeq);
    lowWaterMark = Math.max(lowWaterMark, minPending);
    retiredAboveMark.headSet(lowWaterMark).clear();
    while (retiredAboveMark.size() > MAX_RETIRED_ABOVE_MARK) {
      // Bounded marker: forgetting the oldest retired seq only means it may be sent once more.
      retiredAboveMark.pollFirst();
    }
    writeMarker();
    return retired;
  }

  private void writeMarker() {
    StringBuilder sb = new StringBuilder().append(lowWaterMark).append('\n');
    for (long s : retiredAboveMark) {
      sb.append(s).append('\n');
    }
    Path marker = dir.resolve("retired.marker");
    Path tmp = dir.resolve("retired.marker.tmp");
    try {
      Files.writeString(tmp, sb, StandardCharsets.UTF_8);
      try {
        Files.move(tmp, marker, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, marker, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      // Not fatal: the in-memory state is right; after a restart a few acked reports are resent.
      log.warn("cannot write outbox marker {}: {}", marker, e.toString());
    }
  }

  /** Pending reports in append order (live view: callers update lastSentMillis). */
  public Collection<Pending> pending() {
    return pending.values();
  }

  public int pendingCount() {
    return pending.size();
  }

  public List<Report> pendingReports() {
    List<Report> out = new ArrayList<>(pending.size());
    pending.values().forEach(p -> out.add(p.report));
    return out;
  }

  public long lowWaterMark() {
    return lowWaterMark;
  }

  @Override
  public void close() {
    appender.close();
    queue.close();
  }
}
