package io.cardinal.cli.output;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/** Human-friendly times, ages and sizes for table output. */
public final class Formats {
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
  private static final DateTimeFormatter TIME_MILLIS = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS");

  private Formats() {}

  /** Epoch millis as local date-time; "-" for 0 (never). */
  public static String time(long epochMillis, ZoneId zone) {
    return epochMillis <= 0 ? "-" : TIME.format(Instant.ofEpochMilli(epochMillis).atZone(zone));
  }

  /** With milliseconds: event times are compared at that scale (detected vs decided vs running). */
  public static String timeMillis(long epochMillis, ZoneId zone) {
    return epochMillis <= 0 ? "-" : TIME_MILLIS.format(Instant.ofEpochMilli(epochMillis).atZone(zone));
  }

  /** How long ago, in the two largest units: 45s, 12m3s, 5h2m, 3d4h. */
  public static String age(long epochMillis, long nowMillis) {
    if (epochMillis <= 0) {
      return "-";
    }
    return duration(Duration.ofMillis(Math.max(0, nowMillis - epochMillis)));
  }

  public static String duration(Duration d) {
    long s = d.toSeconds();
    if (s < 60) {
      return s + "s";
    }
    if (s < 3600) {
      return (s / 60) + "m" + (s % 60 == 0 ? "" : (s % 60) + "s");
    }
    if (s < 86400) {
      return (s / 3600) + "h" + ((s % 3600) / 60 == 0 ? "" : ((s % 3600) / 60) + "m");
    }
    return (s / 86400) + "d" + ((s % 86400) / 3600 == 0 ? "" : ((s % 86400) / 3600) + "h");
  }

  /** MiB as the largest whole-ish unit: 512 MiB, 80 GiB, 1.5 TiB. */
  public static String mebibytes(long mib) {
    if (mib <= 0) {
      return "-";
    }
    if (mib < 1024) {
      return mib + " MiB";
    }
    double gib = mib / 1024.0;
    if (gib < 1024) {
      return trim(gib) + " GiB";
    }
    return trim(gib / 1024.0) + " TiB";
  }

  private static String trim(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : String.format(java.util.Locale.ROOT, "%.1f", v);
  }

  /** A JSON value as a short cell: text as is, arrays joined by commas, null/missing as "-". */
  public static String text(JsonNode n) {
    if (n == null || n.isMissingNode() || n.isNull()) {
      return "-";
    }
    if (n.isArray()) {
      List<String> parts = new ArrayList<>();
      n.forEach(e -> parts.add(text(e)));
      return parts.isEmpty() ? "-" : String.join(",", parts);
    }
    if (n.isValueNode()) {
      String s = n.asText();
      return s.isEmpty() ? "-" : s;
    }
    return n.toString();
  }

  public static String yesNo(JsonNode n) {
    return n.asBoolean(false) ? "yes" : "no";
  }
}
