package io.cardinal.cli.output;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.cardinal.cli.CliException;
import java.io.PrintStream;
import java.time.Clock;
import java.time.ZoneId;
import java.util.function.Consumer;

/**
 * Prints a command's result in the chosen format. json and yaml show the server's JSON as is (pretty), so
 * scripts see every field; table is for people and shows the useful ones.
 */
public final class Output {
  public static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  // Strings stay quoted: with minimal quoting a value such as "1e3" or "0x10" would read back as a number.
  private static final ObjectMapper YAML = new YAMLMapper().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
      .disable(YAMLGenerator.Feature.MINIMIZE_QUOTES);

  private final OutputFormat format;
  private final PrintStream out;
  private final Clock clock;
  private final ZoneId zone;

  public Output(OutputFormat format, PrintStream out, Clock clock, ZoneId zone) {
    this.format = format;
    this.out = out;
    this.clock = clock;
    this.zone = zone;
  }

  public OutputFormat format() {
    return format;
  }

  public PrintStream out() {
    return out;
  }

  public ZoneId zone() {
    return zone;
  }

  public long nowMillis() {
    return clock.millis();
  }

  /** The document in json/yaml, or whatever {@code table} prints. */
  public void print(JsonNode document, Consumer<PrintStream> table) {
    switch (format) {
      case JSON -> out.println(pretty(document));
      case YAML -> out.print(yaml(document));
      default -> table.accept(out);
    }
    out.flush();
  }

  public static JsonNode parse(String body) {
    if (body == null || body.isBlank()) {
      return JSON.createObjectNode();
    }
    try {
      return JSON.readTree(body);
    } catch (JsonProcessingException e) {
      String start = body.length() > 80 ? body.substring(0, 80) + "..." : body;
      throw CliException.invalid("the server answered something that is not JSON: "
          + start.replaceAll("\\s+", " ") + " (is this a Cardinal server?)");
    }
  }

  public static String pretty(JsonNode node) {
    try {
      return PRETTY.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a parsed tree always serializes", e);
    }
  }

  public static String compact(JsonNode node) {
    try {
      return JSON.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a parsed tree always serializes", e);
    }
  }

  public static String yaml(JsonNode node) {
    try {
      return YAML.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a parsed tree always serializes", e);
    }
  }
}
