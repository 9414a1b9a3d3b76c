package io.cardinal.protocol.spec;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.cardinal.protocol.v1.EnvVar;
import io.cardinal.protocol.v1.JobSpec;
import io.cardinal.protocol.v1.SupernodeRule;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The one parser of job spec documents (YAML or JSON, the same shape). The CLI validates with it before sending
 * and the server re-validates what it receives with it, so both always agree on what a valid job is.
 *
 * <pre>
 * name: llama-70b-pretrain
 * tenant: research
 * priority: 100
 * tasks: 8
 * cardsPerTask: 8
 * cardModel: H100                       # or [H100, H200]
 * topology: {supernode: required, maxSupernodes: 1}
 * command: ["python", "train.py"]       # or a string, run as ["sh", "-c", string]
 * env: {LR: "0.001"}
 * checkpoint: {everySteps: 100}
 * restart: {maxRestarts: 3, backoffSeconds: 10}
 * </pre>
 *
 * Parsing is strict: unknown fields, wrong types (a YAML number where a string is expected too), missing required
 * fields and out-of-range values all raise a {@link JobSpecException} that names the field path.
 */
public final class JobSpecParser {
  public static final int MAX_INPUT_BYTES = 1 << 20;

  public static final int MAX_NAME_CHARS = 128;
  public static final int MIN_PRIORITY = -1000;
  public static final int MAX_PRIORITY = 1000;
  public static final int MAX_TASKS = 65536;
  public static final int MAX_CARDS_PER_TASK = 384;
  /** The largest supernode Cardinal models; {@code supernode: required} cannot ask for more. */
  public static final int MAX_CARDS_PER_SUPERNODE = 384;
  public static final int MAX_CARD_MODELS = 64;
  public static final int MAX_CARD_MODEL_CHARS = 64;
  public static final int MAX_COMMAND_ARGS = 4096;
  public static final int MAX_ENV_VARS = 1024;
  public static final int MAX_ENV_NAME_CHARS = 256;
  public static final int MAX_RESTARTS = 1000;
  public static final int MAX_BACKOFF_SECONDS = 3600;
  public static final int DEFAULT_MAX_RESTARTS = 3;
  public static final int DEFAULT_BACKOFF_SECONDS = 5;

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1," + MAX_NAME_CHARS + "}");
  private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  // Printable ASCII without leading/trailing blanks: model names such as "Ascend 910B" keep their space.
  private static final Pattern CARD_MODEL = Pattern.compile("[\\x21-\\x7E]([\\x20-\\x7E]*[\\x21-\\x7E])?");

  private static final List<String> TOP_FIELDS = List.of("name", "tenant", "priority", "tasks", "cardsPerTask",
      "cardModel", "topology", "command", "env", "checkpoint", "restart");
  private static final List<String> TOPOLOGY_FIELDS = List.of("supernode", "maxSupernodes");
  private static final List<String> CHECKPOINT_FIELDS = List.of("everySteps");
  private static final List<String> RESTART_FIELDS = List.of("maxRestarts", "backoffSeconds");

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(SerializationFeature.INDENT_OUTPUT);
  private static final ObjectMapper YAML = new YAMLMapper(new YAMLFactory()
      .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
      // Every string quoted: minimal quoting leaves "1e3" or "0x10" bare, and they would read back as numbers.
      .disable(YAMLGenerator.Feature.MINIMIZE_QUOTES))
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      // A second "---" document would otherwise be ignored silently.
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private JobSpecParser() {}

  /** Parses a YAML or JSON job spec. This is the entry point the server and the CLI use. */
  public static JobSpec parse(String text) {
    if (text == null) {
      throw new JobSpecException("", "empty job spec");
    }
    // A UTF-16 char is at most 3 UTF-8 bytes; count exactly only when it could matter.
    if (text.length() * 3L > MAX_INPUT_BYTES) {
      long bytes = utf8Length(text);
      if (bytes > MAX_INPUT_BYTES) {
        throw tooLarge(bytes);
      }
    }
    return fromTree(readTree(text));
  }

  /** Parses UTF-8 bytes (a request body, a file). */
  public static JobSpec parse(byte[] utf8) {
    if (utf8.length > MAX_INPUT_BYTES) {
      throw tooLarge(utf8.length);
    }
    return parse(new String(utf8, StandardCharsets.UTF_8));
  }

  /** Parses a spec file; the size limit is checked before reading it. */
  public static JobSpec parse(Path file) throws IOException {
    long size = Files.size(file);
    if (size > MAX_INPUT_BYTES) {
      throw tooLarge(size);
    }
    return parse(Files.readAllBytes(file));
  }

  /** Validates an already-parsed document tree (for callers that parsed JSON themselves). */
  public static JobSpec fromTree(JsonNode root) {
    if (root == null || root.isMissingNode() || root.isNull()) {
      throw new JobSpecException("", "empty job spec: expected a mapping with at least name, tenant, tasks, "
          + "cardsPerTask and command");
    }
    ObjectNode doc = object(root, "");
    checkFields(doc, "", TOP_FIELDS);

    JobSpec.Builder b = JobSpec.newBuilder();
    b.setName(name(doc, "name"));
    b.setTenant(name(doc, "tenant"));
    b.setPriority(intField(doc, "", "priority", true, 0, MIN_PRIORITY, MAX_PRIORITY));
    int tasks = intField(doc, "", "tasks", false, 0, 1, MAX_TASKS);
    int cardsPerTask = intField(doc, "", "cardsPerTask", false, 0, 1, MAX_CARDS_PER_TASK);
    b.setTasks(tasks).setCardsPerTask(cardsPerTask);
    b.addAllCardModels(cardModels(doc.get("cardModel")));
    topology(doc.get("topology"), tasks, cardsPerTask, b);
    b.addAllCommand(command(doc.get("command")));
    b.addAllEnv(env(doc.get("env")));

    JsonNode checkpoint = doc.get("checkpoint");
    if (present(checkpoint)) {
      ObjectNode cp = object(checkpoint, "checkpoint");
      checkFields(cp, "checkpoint", CHECKPOINT_FIELDS);
      b.setCheckpointEverySteps(intField(cp, "checkpoint", "everySteps", false, 0, 1, Integer.MAX_VALUE));
    }

    JsonNode restart = doc.get("restart");
    int maxRestarts = DEFAULT_MAX_RESTARTS;
    int backoffSeconds = DEFAULT_BACKOFF_SECONDS;
    if (present(restart)) {
      ObjectNode r = object(restart, "restart");
      checkFields(r, "restart", RESTART_FIELDS);
      maxRestarts = intField(r, "restart", "maxRestarts", true, DEFAULT_MAX_RESTARTS, 0, MAX_RESTARTS);
      backoffSeconds = intField(r, "restart", "backoffSeconds", true, DEFAULT_BACKOFF_SECONDS, 0, MAX_BACKOFF_SECONDS);
    }
    b.setMaxRestarts(maxRestarts).setBackoffSeconds(backoffSeconds);
    return b.build();
  }

  /**
   * Checks a spec built in code (not parsed) against the same rules, by going through the document form.
   * Returns it with defaults filled in.
   */
  public static JobSpec validate(JobSpec spec) {
    return fromTree(JSON.valueToTree(toMap(spec)));
  }

  /** The document form (camelCase, the shape {@link #parse} reads), pretty JSON. {@code parse(toJson(s))} equals s. */
  public static String toJson(JobSpec spec) {
    try {
      return JSON.writeValueAsString(toMap(spec));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a map of strings, numbers and lists always serializes", e);
    }
  }

  /** The document form as YAML, for display. */
  public static String toYaml(JobSpec spec) {
    try {
      return YAML.writeValueAsString(toMap(spec));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a map of strings, numbers and lists always serializes", e);
    }
  }

  /** The document form as ordered maps, lists, strings and integers (for display and for JSON/YAML writers). */
  public static Map<String, Object> toMap(JobSpec spec) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", spec.getName());
    m.put("tenant", spec.getTenant());
    m.put("priority", spec.getPriority());
    m.put("tasks", spec.getTasks());
    m.put("cardsPerTask", spec.getCardsPerTask());
    if (spec.getCardModelsCount() == 1) {
      m.put("cardModel", spec.getCardModels(0));
    } else if (spec.getCardModelsCount() > 1) {
      m.put("cardModel", List.copyOf(spec.getCardModelsList()));
    }
    Map<String, Object> topology = new LinkedHashMap<>();
    topology.put("supernode", ruleName(spec.getSupernode()));
    topology.put("maxSupernodes", spec.getMaxSupernodes());
    m.put("topology", topology);
    m.put("command", List.copyOf(spec.getCommandList()));
    if (spec.getEnvCount() > 0) {
      Map<String, Object> env = new LinkedHashMap<>();
      for (EnvVar e : spec.getEnvList()) {
        env.put(e.getName(), e.getValue());
      }
      m.put("env", env);
    }
    if (spec.getCheckpointEverySteps() != 0) {
      m.put("checkpoint", Map.of("everySteps", spec.getCheckpointEverySteps()));
    }
    Map<String, Object> restart = new LinkedHashMap<>();
    restart.put("maxRestarts", spec.getMaxRestarts());
    restart.put("backoffSeconds", spec.getBackoffSeconds());
    m.put("restart", restart);
    return m;
  }

  /** The spelling of a rule in the document: {@code required}, {@code preferred} or {@code any}. */
  public static String ruleName(SupernodeRule rule) {
    switch (rule) {
      case SUPERNODE_REQUIRED:
        return "required";
      case SUPERNODE_ANY:
        return "any";
      default:
        // UNSPECIFIED is what a hand-built proto has; the parser's default is preferred.
        return "preferred";
    }
  }

  // ---- reading ----

  private static JsonNode readTree(String text) {
    String trimmed = text.strip();
    if (trimmed.startsWith("\uFEFF")) {
      trimmed = trimmed.substring(1).strip();
    }
    if (trimmed.isEmpty()) {
      throw new JobSpecException("", "empty job spec");
    }
    boolean json = trimmed.charAt(0) == '{' || trimmed.charAt(0) == '[';
    try {
      return (json ? JSON : YAML).readTree(trimmed);
    } catch (JsonProcessingException e) {
      throw syntaxError(json ? "JSON" : "YAML", e);
    }
  }

  private static JobSpecException syntaxError(String format, JsonProcessingException e) {
    String message = firstLine(e.getOriginalMessage());
    if (message.startsWith("Duplicate field '")) {
      String field = message.substring("Duplicate field '".length(), message.lastIndexOf('\''));
      message = "duplicate field " + quote(field);
    }
    JsonLocation loc = e.getLocation();
    String where = loc != null && loc.getLineNr() > 0
        ? " at line " + loc.getLineNr() + ", column " + loc.getColumnNr() : "";
    return new JobSpecException("", "not valid " + format + where + ": " + message);
  }

  private static ObjectNode object(JsonNode node, String path) {
    if (!node.isObject()) {
      throw new JobSpecException(path, "must be a mapping of fields, got " + describe(node));
    }
    return (ObjectNode) node;
  }

  private static void checkFields(ObjectNode obj, String path, List<String> allowed) {
    Iterator<String> names = obj.fieldNames();
    while (names.hasNext()) {
      String field = names.next();
      if (!allowed.contains(field)) {
        String suggestion = suggest(field, allowed);
        String hint = suggestion != null ? " (did you mean " + quote(suggestion) + "?)"
            : " (expected one of: " + String.join(", ", allowed) + ")";
        throw new JobSpecException(path, "unknown field " + quote(field) + hint);
      }
    }
  }

  private static boolean present(JsonNode node) {
    return node != null && !node.isNull() && !node.isMissingNode();
  }

  private static String name(ObjectNode doc, String field) {
    JsonNode node = doc.get(field);
    if (!present(node)) {
      throw new JobSpecException(field, "is required");
    }
    String value = string(node, field);
    if (!NAME.matcher(value).matches()) {
      throw new JobSpecException(field, "must be 1.." + MAX_NAME_CHARS + " characters of A-Z a-z 0-9 . _ -, got "
          + quote(value));
    }
    return value;
  }

  private static String string(JsonNode node, String path) {
    if (!node.isTextual()) {
      String hint = node.isValueNode() ? " (quote it: " + quote(node.asText()) + ")" : "";
      throw new JobSpecException(path, "must be a string, got " + describe(node) + hint);
    }
    return node.textValue();
  }

  private static int intField(ObjectNode obj, String parent, String field, boolean optional, int dflt, int min,
      int max) {
    String path = parent.isEmpty() ? field : parent + "." + field;
    JsonNode node = obj.get(field);
    if (!present(node)) {
      if (optional) {
        return dflt;
      }
      throw new JobSpecException(path, "is required");
    }
    if (!node.isIntegralNumber()) {
      throw new JobSpecException(path, "must be an integer, got " + describe(node));
    }
    if (!node.canConvertToLong() || node.longValue() < min || node.longValue() > max) {
      String range = max == Integer.MAX_VALUE ? "at least " + min : "between " + min + " and " + max;
      throw new JobSpecException(path, "must be " + range + ", got " + node.asText());
    }
    return (int) node.longValue();
  }

  private static List<String> cardModels(JsonNode node) {
    if (!present(node)) {
      return List.of();
    }
    if (node.isArray()) {
      if (node.size() > MAX_CARD_MODELS) {
        throw new JobSpecException("cardModel", "at most " + MAX_CARD_MODELS + " models, got " + node.size());
      }
      Set<String> models = new LinkedHashSet<>();
      for (int i = 0; i < node.size(); i++) {
        String path = "cardModel[" + i + "]";
        String model = cardModel(node.get(i), path);
        if (!models.add(model)) {
          throw new JobSpecException(path, "duplicate model " + quote(model));
        }
      }
      return List.copyOf(models);
    }
    if (!node.isTextual()) {
      throw new JobSpecException("cardModel", "must be a string or a list of strings, got " + describe(node));
    }
    return List.of(cardModel(node, "cardModel"));
  }

  private static String cardModel(JsonNode node, String path) {
    String model = string(node, path);
    if (model.length() > MAX_CARD_MODEL_CHARS || !CARD_MODEL.matcher(model).matches()) {
      throw new JobSpecException(path, "must be 1.." + MAX_CARD_MODEL_CHARS
          + " printable ASCII characters without leading or trailing spaces, got " + quote(model));
    }
    return model;
  }

  private static void topology(JsonNode node, int tasks, int cardsPerTask, JobSpec.Builder b) {
    SupernodeRule rule = SupernodeRule.SUPERNODE_PREFERRED;
    int maxSupernodes = 0;
    if (present(node)) {
      ObjectNode topo = object(node, "topology");
      checkFields(topo, "topology", TOPOLOGY_FIELDS);
      JsonNode sn = topo.get("supernode");
      if (present(sn)) {
        String value = string(sn, "topology.supernode");
        switch (value) {
          case "required":
            rule = SupernodeRule.SUPERNODE_REQUIRED;
            break;
          case "preferred":
            rule = SupernodeRule.SUPERNODE_PREFERRED;
            break;
          case "any":
            rule = SupernodeRule.SUPERNODE_ANY;
            break;
          default:
            throw new JobSpecException("topology.supernode", "must be one of required|preferred|any, got "
                + quote(value));
        }
      }
      maxSupernodes = intField(topo, "topology", "maxSupernodes", true, 0, 0, MAX_TASKS);
    }
    if (rule == SupernodeRule.SUPERNODE_REQUIRED) {
      if (maxSupernodes > 1) {
        throw new JobSpecException("topology.maxSupernodes",
            "must be 0 or 1 when topology.supernode is required, got " + maxSupernodes);
      }
      long cards = (long) tasks * cardsPerTask;
      if (cards > MAX_CARDS_PER_SUPERNODE) {
        throw new JobSpecException("topology.supernode", "required puts all " + cards + " cards (tasks " + tasks
            + " x cardsPerTask " + cardsPerTask + ") in one supernode, but a supernode has at most "
            + MAX_CARDS_PER_SUPERNODE + " cards; use preferred or any, or ask for fewer cards");
      }
    }
    b.setSupernode(rule).setMaxSupernodes(maxSupernodes);
  }

  private static List<String> command(JsonNode node) {
    if (!present(node)) {
      throw new JobSpecException("command", "is required (a list of strings, or one string run with sh -c)");
    }
    if (node.isTextual()) {
      String script = node.textValue();
      if (script.isBlank()) {
        throw new JobSpecException("command", "must not be empty");
      }
      noNul(script, "command");
      // Splitting on whitespace would break quoting; the shell does it right.
      return List.of("sh", "-c", script);
    }
    if (!node.isArray()) {
      throw new JobSpecException("command", "must be a list of strings or a string, got " + describe(node));
    }
    if (node.isEmpty()) {
      throw new JobSpecException("command", "must not be empty");
    }
    if (node.size() > MAX_COMMAND_ARGS) {
      throw new JobSpecException("command", "at most " + MAX_COMMAND_ARGS + " arguments, got " + node.size());
    }
    List<String> args = new ArrayList<>(node.size());
    for (int i = 0; i < node.size(); i++) {
      String path = "command[" + i + "]";
      String arg = string(node.get(i), path);
      noNul(arg, path);
      args.add(arg);
    }
    if (args.get(0).isBlank()) {
      throw new JobSpecException("command[0]", "the program to run must not be empty");
    }
    return args;
  }

  private static List<EnvVar> env(JsonNode node) {
    if (!present(node)) {
      return List.of();
    }
    ObjectNode obj = object(node, "env");
    if (obj.size() > MAX_ENV_VARS) {
      throw new JobSpecException("env", "at most " + MAX_ENV_VARS + " variables, got " + obj.size());
    }
    // Sorted so that equal specs give byte-identical protos whatever the document order.
    Map<String, String> sorted = new TreeMap<>();
    Iterator<Map.Entry<String, JsonNode>> fields = obj.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> f = fields.next();
      String key = f.getKey();
      String path = "env." + key;
      if (key.length() > MAX_ENV_NAME_CHARS || !ENV_NAME.matcher(key).matches()) {
        throw new JobSpecException("env", "variable name must match [A-Za-z_][A-Za-z0-9_]* (at most "
            + MAX_ENV_NAME_CHARS + " characters), got " + quote(key));
      }
      if (!present(f.getValue())) {
        throw new JobSpecException(path, "must be a string, got null (use \"\" for an empty value)");
      }
      String value = string(f.getValue(), path);
      noNul(value, path);
      sorted.put(key, value);
    }
    List<EnvVar> env = new ArrayList<>(sorted.size());
    sorted.forEach((k, v) -> env.add(EnvVar.newBuilder().setName(k).setValue(v).build()));
    return env;
  }

  private static void noNul(String value, String path) {
    if (value.indexOf('\0') >= 0) {
      throw new JobSpecException(path, "must not contain a NUL character");
    }
  }

  // ---- messages ----

  private static JobSpecException tooLarge(long bytes) {
    return new JobSpecException("", "job spec is " + bytes + " bytes; the limit is " + MAX_INPUT_BYTES + " (1 MiB)");
  }

  static String describe(JsonNode node) {
    if (node.isTextual()) {
      return "string " + quote(node.textValue());
    }
    if (node.isNumber()) {
      return "number " + node.asText();
    }
    if (node.isBoolean()) {
      return "boolean " + node.asText();
    }
    if (node.isArray()) {
      return "a list";
    }
    if (node.isObject()) {
      return "a mapping";
    }
    if (node.isNull()) {
      return "null";
    }
    return node.getNodeType().name().toLowerCase(Locale.ROOT);
  }

  /** Quotes a value for a message: JSON-style escapes, cut at 64 characters so a message stays one line. */
  static String quote(String value) {
    String cut = value.length() > 64 ? value.substring(0, 64) + "..." : value;
    StringBuilder sb = new StringBuilder(cut.length() + 2).append('"');
    for (int i = 0; i < cut.length(); i++) {
      char c = cut.charAt(i);
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c == '\n') {
        sb.append("\\n");
      } else if (c == '\t') {
        sb.append("\\t");
      } else if (c < 0x20 || c == 0x7F) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.append('"').toString();
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "unreadable input";
    }
    int nl = s.indexOf('\n');
    return (nl < 0 ? s : s.substring(0, nl)).strip();
  }

  /** The closest allowed name, if it is plausibly a typo (or another spelling such as snake_case). */
  static String suggest(String field, List<String> allowed) {
    String norm = normalize(field);
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String candidate : allowed) {
      String c = normalize(candidate);
      if (c.equals(norm)) {
        return candidate;
      }
      int d = distance(norm, c);
      if (d < bestDistance) {
        bestDistance = d;
        best = candidate;
      }
    }
    int tolerance = Math.max(1, Math.min(3, norm.length() / 4));
    return bestDistance <= tolerance ? best : null;
  }

  private static String normalize(String s) {
    return s.replace("_", "").replace("-", "").toLowerCase(Locale.ROOT);
  }

  private static int distance(String a, String b) {
    if (a.length() > 256 || b.length() > 256) {
      return Integer.MAX_VALUE;
    }
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  private static long utf8Length(String s) {
    long bytes = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }
}
