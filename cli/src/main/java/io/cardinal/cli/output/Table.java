package io.cardinal.cli.output;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Rows under a header, columns padded to their widest cell, two spaces apart. */
public final class Table {
  private static final int MAX_CELL_CHARS = 80;

  private final List<String> headers;
  private final List<List<String>> rows = new ArrayList<>();

  public Table(String... headers) {
    this.headers = List.of(headers);
  }

  public Table row(Object... cells) {
    if (cells.length != headers.size()) {
      throw new IllegalArgumentException("expected " + headers.size() + " cells, got " + cells.length);
    }
    List<String> row = new ArrayList<>(cells.length);
    for (Object c : cells) {
      row.add(cell(c));
    }
    rows.add(row);
    return this;
  }

  public int size() {
    return rows.size();
  }

  public void print(PrintStream out) {
    int[] widths = new int[headers.size()];
    for (int i = 0; i < widths.length; i++) {
      widths[i] = headers.get(i).length();
    }
    for (List<String> row : rows) {
      for (int i = 0; i < widths.length; i++) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    out.println(line(headers, widths));
    for (List<String> row : rows) {
      out.println(line(row, widths));
    }
  }

  private static String line(List<String> cells, int[] widths) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < cells.size(); i++) {
      String c = cells.get(i);
      sb.append(c);
      if (i < cells.size() - 1) {
        sb.append(" ".repeat(widths[i] - c.length() + 2));
      }
    }
    return sb.toString().stripTrailing();
  }

  /** Cells are single-line and bounded so one odd value cannot wreck the layout. */
  static String cell(Object value) {
    String s = value == null ? "-" : value.toString();
    if (s.isEmpty()) {
      s = "-";
    }
    s = s.replaceAll("[\\r\\n\\t]+", " ");
    return s.length() > MAX_CELL_CHARS ? s.substring(0, MAX_CELL_CHARS - 3) + "..." : s;
  }

  /** Label/value lines ("Name:  value") for the show commands. */
  public static void keyValues(PrintStream out, Object... labelValuePairs) {
    if (labelValuePairs.length % 2 != 0) {
      throw new IllegalArgumentException("pairs expected: " + Arrays.toString(labelValuePairs));
    }
    int width = 0;
    for (int i = 0; i < labelValuePairs.length; i += 2) {
      width = Math.max(width, labelValuePairs[i].toString().length() + 1);
    }
    for (int i = 0; i < labelValuePairs.length; i += 2) {
      String label = labelValuePairs[i] + ":";
      out.println(label + " ".repeat(width - label.length() + 2) + cellLong(labelValuePairs[i + 1]));
    }
  }

  private static String cellLong(Object value) {
    String s = value == null || value.toString().isEmpty() ? "-" : value.toString();
    return s.replaceAll("[\\r\\n]+", " ");
  }
}
