package io.cardinal.cli.output;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class FormatsTest {
  @Test
  void agesUseTheTwoLargestUnits() {
    long now = 10_000_000_000L;
    assertEquals("45s", Formats.age(now - 45_000, now));
    assertEquals("12m", Formats.age(now - 720_000, now));
    assertEquals("12m3s", Formats.age(now - 723_000, now));
    assertEquals("5h2m", Formats.age(now - (5 * 3600 + 125) * 1000L, now));
    assertEquals("3d4h", Formats.age(now - (3 * 86400 + 4 * 3600 + 59) * 1000L, now));
    assertEquals("0s", Formats.age(now + 5000, now), "clock skew never shows a negative age");
    assertEquals("-", Formats.age(0, now));
  }

  @Test
  void sizesAndTimes() {
    assertEquals("512 MiB", Formats.mebibytes(512));
    assertEquals("80 GiB", Formats.mebibytes(81920));
    assertEquals("95.5 GiB", Formats.mebibytes(97792));
    assertEquals("1.5 TiB", Formats.mebibytes(1572864));
    assertEquals("-", Formats.mebibytes(0));
    assertEquals("2025-01-02 03:04:05", Formats.time(1735787045123L, ZoneOffset.UTC));
    assertEquals("2025-01-02 03:04:05.123", Formats.timeMillis(1735787045123L, ZoneOffset.UTC));
    assertEquals("-", Formats.time(0, ZoneOffset.UTC));
  }

  @Test
  void tableAlignsAndKeepsCellsOnOneLine() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    new Table("A", "LONGER", "C").row("xxxx", null, "multi\nline").row("y", "", 3)
        .print(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    assertEquals("A     LONGER  C\nxxxx  -       multi line\ny     -       3\n", bytes.toString(StandardCharsets.UTF_8));
  }
}
