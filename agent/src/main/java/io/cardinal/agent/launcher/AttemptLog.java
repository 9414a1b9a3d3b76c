package io.cardinal.agent.launcher;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code DATA/attempts.log}: one line per worker process start and stop,
 * {@code <epochMillis> START|STOP <job> <attempt> <rank> <pid>}. A STOP line is written only once the
 * process (and its descendants) are gone, and a START line after the previous attempt's STOP lines,
 * so checkers can prove two attempts of a job never ran at once. Lines reach the OS with each write,
 * so they survive a kill -9 of the agent.
 */
public final class AttemptLog implements AutoCloseable {
  public enum Kind { START, STOP }

  public record Entry(long atMillis, Kind kind, String jobId, long attempt, int rank, long pid) {}

  private final Path file;
  private final OutputStream out;

  public AttemptLog(Path file) {
    this.file = file;
    try {
      Files.createDirectories(file.getParent());
      this.out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
          StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open attempt log " + file, e);
    }
  }

  public Path file() {
    return file;
  }

  public void write(Kind kind, String jobId, long attempt, int rank, long pid) {
    write(kind, jobId, attempt, rank, pid, System.currentTimeMillis());
  }

  /** A line stamped {@code atMillis}: when the start or stop happened, which may be before the line is written. */
  public synchronized void write(Kind kind, String jobId, long attempt, int rank, long pid, long atMillis) {
    String line = atMillis + " " + kind + " " + jobId + " " + attempt + " " + rank + " " + pid + "\n";
    try {
      out.write(line.getBytes(StandardCharsets.UTF_8));
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write attempt log " + file, e);
    }
  }

  public static List<Entry> read(Path file) throws IOException {
    List<Entry> entries = new ArrayList<>();
    if (!Files.exists(file)) {
      return entries;
    }
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      String[] f = line.trim().split(" ");
      if (f.length != 6) {
        continue; // a torn last line after a crash
      }
      try {
        entries.add(new Entry(Long.parseLong(f[0]), Kind.valueOf(f[1]), f[2], Long.parseLong(f[3]),
            Integer.parseInt(f[4]), Long.parseLong(f[5])));
      } catch (IllegalArgumentException e) {
        // skip a malformed line
      }
    }
    return entries;
  }

  /** START entries with no later STOP for the same (job, attempt, rank, pid). */
  public static List<Entry> unstopped(List<Entry> entries) {
    Map<String, Entry> open = new LinkedHashMap<>();
    for (Entry e : entries) {
      String key = e.jobId() + " " + e.attempt() + " " + e.rank() + " " + e.pid();
      if (e.kind() == Kind.START) {
        open.put(key, e);
      } else {
        open.remove(key);
      }
    }
    return new ArrayList<>(open.values());
  }

  /** The highest attempt ever started per job. */
  public static Map<String, Long> maxAttempts(List<Entry> entries) {
    Map<String, Long> max = new LinkedHashMap<>();
    for (Entry e : entries) {
      max.merge(e.jobId(), e.attempt(), Math::max);
    }
    return max;
  }

  @Override
  public synchronized void close() {
    try {
      out.close();
    } catch (IOException e) {
      // closing at shutdown; nothing to do
    }
  }
}
