package io.cardinal.protocol.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cardinal.protocol.v1.EnvVar;
import io.cardinal.protocol.v1.JobSpec;
import io.cardinal.protocol.v1.SupernodeRule;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JobSpecParserTest {
  static final String FULL = String.join("\n",
      "name: llama-70b-pretrain",
      "tenant: research",
      "priority: 100",
      "tasks: 8",
      "cardsPerTask: 8",
      "cardModel: H100",
      "topology: {supernode: required, maxSupernodes: 1}",
      "command: [\"python\", \"train.py\"]",
      "env: {LR: \"0.001\", BATCH: \"32\"}",
      "checkpoint: {everySteps: 100}",
      "restart: {maxRestarts: 3, backoffSeconds: 10}",
      "");

  static final String MINIMAL = "name: a\ntenant: t\ntasks: 1\ncardsPerTask: 1\ncommand: [run]\n";

  @Test
  void parsesTheFullExample() {
    JobSpec spec = JobSpecParser.parse(FULL);
    assertEquals("llama-70b-pretrain", spec.getName());
    assertEquals("research", spec.getTenant());
    assertEquals(100, spec.getPriority());
    assertEquals(8, spec.getTasks());
    assertEquals(8, spec.getCardsPerTask());
    assertEquals(List.of("H100"), spec.getCardModelsList());
    assertEquals(SupernodeRule.SUPERNODE_REQUIRED, spec.getSupernode());
    assertEquals(1, spec.getMaxSupernodes());
    assertEquals(List.of("python", "train.py"), spec.getCommandList());
    // Sorted by name, whatever the document order.
    assertEquals(List.of(env("BATCH", "32"), env("LR", "0.001")), spec.getEnvList());
    assertEquals(100, spec.getCheckpointEverySteps());
    assertEquals(3, spec.getMaxRestarts());
    assertEquals(10, spec.getBackoffSeconds());
  }

  @Test
  void fillsDefaults() {
    JobSpec spec = JobSpecParser.parse(MINIMAL);
    assertEquals(0, spec.getPriority());
    assertEquals(List.of(), spec.getCardModelsList());
    assertEquals(SupernodeRule.SUPERNODE_PREFERRED, spec.getSupernode());
    assertEquals(0, spec.getMaxSupernodes());
    assertEquals(0, spec.getCheckpointEverySteps());
    assertEquals(3, spec.getMaxRestarts());
    assertEquals(5, spec.getBackoffSeconds());
    assertEquals(List.of(), spec.getEnvList());
  }

  @Test
  void acceptsJsonWithTheSameShape() {
    String json = "{\"name\":\"a\",\"tenant\":\"t\",\"tasks\":2,\"cardsPerTask\":4,\"command\":[\"x\"],"
        + "\"cardModel\":[\"H100\",\"H200\"],\"topology\":{\"supernode\":\"any\"}}";
    JobSpec spec = JobSpecParser.parse(json);
    assertEquals(List.of("H100", "H200"), spec.getCardModelsList());
    assertEquals(SupernodeRule.SUPERNODE_ANY, spec.getSupernode());
    assertEquals(8, spec.getTasks() * spec.getCardsPerTask());
  }

  @Test
  void aSingleStringCommandRunsUnderSh() {
    JobSpec spec = JobSpecParser.parse(MINIMAL.replace("command: [run]", "command: \"python train.py --lr 'a b'\""));
    assertEquals(List.of("sh", "-c", "python train.py --lr 'a b'"), spec.getCommandList());
  }

  @Test
  void nullOptionalFieldsMeanDefaults() {
    JobSpec spec = JobSpecParser.parse(MINIMAL + "cardModel: ~\ntopology: null\nenv:\nrestart: {}\n");
    assertEquals(JobSpecParser.parse(MINIMAL), spec);
  }

  @Test
  void toJsonRoundTrips() {
    for (String doc : List.of(FULL, MINIMAL, MINIMAL.replace("command: [run]", "command: 'a && b'"),
        MINIMAL + "cardModel: [A, \"Ascend 910B\"]\ntopology: {supernode: any, maxSupernodes: 4}\n",
        MINIMAL.replace("command: [run]", "command: [run, '1000', 'yes', '~', 'null', '#x', 'a: b', '']")
            + "env: {A: 'yes', B: 'null', C: '010', D: '', E: 'true', F: '1e3', G: \"multi\\nline\"}\n")) {
      JobSpec spec = JobSpecParser.parse(doc);
      String json = JobSpecParser.toJson(spec);
      assertEquals(spec, JobSpecParser.parse(json), json);
      assertEquals(spec, JobSpecParser.parse(JobSpecParser.toYaml(spec)));
    }
  }

  @Test
  void toMapHasTheDocumentShape() {
    Map<String, Object> m = JobSpecParser.toMap(JobSpecParser.parse(FULL));
    assertEquals(List.of("name", "tenant", "priority", "tasks", "cardsPerTask", "cardModel", "topology", "command",
        "env", "checkpoint", "restart"), List.copyOf(m.keySet()));
    assertEquals("H100", m.get("cardModel"));
    assertEquals(Map.of("supernode", "required", "maxSupernodes", 1), m.get("topology"));
    assertEquals(Map.of("BATCH", "32", "LR", "0.001"), m.get("env"));
    assertEquals(Map.of("everySteps", 100), m.get("checkpoint"));
    Map<String, Object> minimal = JobSpecParser.toMap(JobSpecParser.parse(MINIMAL));
    assertTrue(!minimal.containsKey("cardModel") && !minimal.containsKey("env") && !minimal.containsKey("checkpoint"),
        minimal.toString());
  }

  @Test
  void validateFillsDefaultsOfAHandBuiltSpec() {
    JobSpec hand = JobSpec.newBuilder().setName("x").setTenant("t").setTasks(1).setCardsPerTask(2)
        .addCommand("run").setMaxRestarts(1).build();
    JobSpec valid = JobSpecParser.validate(hand);
    assertEquals(SupernodeRule.SUPERNODE_PREFERRED, valid.getSupernode());
    JobSpecException e = assertThrows(JobSpecException.class,
        () -> JobSpecParser.validate(hand.toBuilder().setTasks(0).build()));
    assertEquals("tasks", e.path());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiterString = " # ", textBlock = """
      unknown top field      # cardsPerTsk: 8                          # unknown field "cardsPerTsk" (did you mean "cardsPerTask"?)
      snake case field       # cards_per_task: 8                       # unknown field "cards_per_task" (did you mean "cardsPerTask"?)
      unrelated field        # gpus: 8                                 # unknown field "gpus" (expected one of: name, tenant, priority, tasks, cardsPerTask, cardModel, topology, command, env, checkpoint, restart)
      unknown nested field   # topology: {maxSupernode: 2}             # topology: unknown field "maxSupernode" (did you mean "maxSupernodes"?)
      bad rule               # topology: {supernode: sometimes}        # topology.supernode: must be one of required|preferred|any, got "sometimes"
      topology not a map     # topology: required                      # topology: must be a mapping of fields, got string "required"
      priority too high      # priority: 1001                          # priority: must be between -1000 and 1000, got 1001
      priority not int       # priority: high                          # priority: must be an integer, got string "high"
      priority fractional    # priority: 1.5                           # priority: must be an integer, got number 1.5
      huge number            # priority: 99999999999999999999999       # priority: must be between -1000 and 1000, got 99999999999999999999999
      checkpoint zero        # checkpoint: {everySteps: 0}             # checkpoint.everySteps: must be at least 1, got 0
      checkpoint empty       # checkpoint: {}                          # checkpoint.everySteps: is required
      restarts too many      # restart: {maxRestarts: 1001}            # restart.maxRestarts: must be between 0 and 1000, got 1001
      backoff negative       # restart: {backoffSeconds: -1}           # restart.backoffSeconds: must be between 0 and 3600, got -1
      restart typo           # restart: {maxRestart: 1}                # restart: unknown field "maxRestart" (did you mean "maxRestarts"?)
      env number             # env: {LR: 0.001}                        # env.LR: must be a string, got number 0.001 (quote it: "0.001")
      env bad name           # env: {1X: a}                            # env: variable name must match [A-Za-z_][A-Za-z0-9_]* (at most 256 characters), got "1X"
      env not a map          # env: [A=1]                              # env: must be a mapping of fields, got a list
      env null value         # env: {A: ~}                             # env.A: must be a string, got null (use "" for an empty value)
      model number           # cardModel: 910                          # cardModel: must be a string or a list of strings, got number 910
      model list item        # cardModel: [H100, 7]                    # cardModel[1]: must be a string, got number 7 (quote it: "7")
      model duplicate        # cardModel: [H100, H100]                 # cardModel[1]: duplicate model "H100"
      model blank            # cardModel: " H100"                      # cardModel: must be 1..64 printable ASCII characters without leading or trailing spaces, got " H100"
      maxSupernodes negative # topology: {maxSupernodes: -1}           # topology.maxSupernodes: must be between 0 and 65536, got -1
      required cap           # topology: {supernode: required, maxSupernodes: 2} # topology.maxSupernodes: must be 0 or 1 when topology.supernode is required, got 2
      """)
  void reportsTheFieldPath(String caseName, String extra, String expected) {
    JobSpecException e = assertThrows(JobSpecException.class, () -> JobSpecParser.parse(MINIMAL + extra + "\n"));
    assertEquals(expected, e.getMessage());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiterString = " # ", textBlock = """
      missing name          # name:      # name: is required
      bad name              # name: 'my job' # name: must be 1..128 characters of A-Z a-z 0-9 . _ -, got "my job"
      tenant number         # tenant: 42 # tenant: must be a string, got number 42 (quote it: "42")
      missing tasks         # tasks:     # tasks: is required
      zero tasks            # tasks: 0   # tasks: must be between 1 and 65536, got 0
      too many cards        # cardsPerTask: 385 # cardsPerTask: must be between 1 and 384, got 385
      tasks as string       # tasks: '8' # tasks: must be an integer, got string "8"
      empty command         # command: [] # command: must not be empty
      blank command string  # command: '  ' # command: must not be empty
      command number arg    # command: [python, train.py, --steps, 100] # command[3]: must be a string, got number 100 (quote it: "100")
      empty program         # command: ['', x] # command[0]: the program to run must not be empty
      command map           # command: {a: b} # command: must be a list of strings or a string, got a mapping
      missing command       # command: # command: is required (a list of strings, or one string run with sh -c)
      """)
  void reportsRequiredFieldsAndTypes(String caseName, String replacement, String expected) {
    String key = replacement.substring(0, replacement.indexOf(':'));
    StringBuilder doc = new StringBuilder();
    for (String line : MINIMAL.split("\n")) {
      doc.append(line.startsWith(key + ":") ? replacement : line).append('\n');
    }
    JobSpecException e = assertThrows(JobSpecException.class, () -> JobSpecParser.parse(doc.toString()));
    assertEquals(expected, e.getMessage());
  }

  @Test
  void requiredSupernodeMustFitOneSupernode() {
    String doc = MINIMAL.replace("tasks: 1", "tasks: 64").replace("cardsPerTask: 1", "cardsPerTask: 8")
        + "topology: {supernode: required}\n";
    JobSpecException e = assertThrows(JobSpecException.class, () -> JobSpecParser.parse(doc));
    assertEquals("topology.supernode", e.path());
    assertTrue(e.getMessage().contains("512 cards"), e.getMessage());
    // The same job may span supernodes when it only prefers one.
    assertEquals(512, cards(JobSpecParser.parse(doc.replace("required", "preferred"))));
  }

  @Test
  void rejectsDocumentsThatAreNotASpec() {
    assertMessage("", "empty job spec");
    assertMessage("   \n# only a comment\n", "empty job spec: expected a mapping with at least name, tenant, tasks, "
        + "cardsPerTask and command");
    assertMessage("- a\n- b\n", "must be a mapping of fields, got a list");
    assertMessage("[1, 2]", "must be a mapping of fields, got a list");
    assertMessage("just words", "must be a mapping of fields, got string \"just words\"");
  }

  @Test
  void duplicateFieldsAreAnError() {
    JobSpecException yaml = assertThrows(JobSpecException.class, () -> JobSpecParser.parse(MINIMAL + "tasks: 2\n"));
    assertTrue(yaml.getMessage().contains("duplicate field \"tasks\""), yaml.getMessage());
    JobSpecException json = assertThrows(JobSpecException.class,
        () -> JobSpecParser.parse("{\"name\":\"a\",\"name\":\"b\"}"));
    assertTrue(json.getMessage().contains("duplicate field \"name\""), json.getMessage());
  }

  @Test
  void syntaxErrorsSayWhere() {
    JobSpecException e = assertThrows(JobSpecException.class, () -> JobSpecParser.parse("name: a\ntasks: [1,\n"));
    assertTrue(e.getMessage().startsWith("not valid YAML at line "), e.getMessage());
    JobSpecException j = assertThrows(JobSpecException.class, () -> JobSpecParser.parse("{\"name\": }"));
    assertTrue(j.getMessage().startsWith("not valid JSON at line 1, column "), j.getMessage());
    assertTrue(!j.getMessage().contains("\n"));
  }

  @Test
  void aSecondYamlDocumentIsRejected() {
    JobSpecException e = assertThrows(JobSpecException.class, () -> JobSpecParser.parse(MINIMAL + "---\nname: b\n"));
    assertTrue(e.getMessage().startsWith("not valid YAML"), e.getMessage());
  }

  @Test
  void enforcesTheSizeLimit(@TempDir Path dir) throws Exception {
    String padding = "#" + "x".repeat(JobSpecParser.MAX_INPUT_BYTES) + "\n";
    JobSpecException e = assertThrows(JobSpecException.class, () -> JobSpecParser.parse(MINIMAL + padding));
    assertTrue(e.getMessage().endsWith("the limit is 1048576 (1 MiB)"), e.getMessage());
    // Multi-byte characters count as bytes, not chars.
    String wide = "# " + "\u00e9".repeat(JobSpecParser.MAX_INPUT_BYTES / 2) + "\n";
    assertThrows(JobSpecException.class, () -> JobSpecParser.parse(MINIMAL + wide));
    Path file = dir.resolve("big.yaml");
    Files.writeString(file, MINIMAL + padding, StandardCharsets.UTF_8);
    assertThrows(JobSpecException.class, () -> JobSpecParser.parse(file));
    Files.writeString(file, MINIMAL);
    assertEquals(JobSpecParser.parse(MINIMAL), JobSpecParser.parse(file));
  }

  @Test
  void messagesStayOnOneLine() {
    JobSpecException e = assertThrows(JobSpecException.class,
        () -> JobSpecParser.parse(MINIMAL.replace("name: a", "name: \"a\\nb\"")));
    assertEquals("name: must be 1..128 characters of A-Z a-z 0-9 . _ -, got \"a\\nb\"", e.getMessage());
  }

  private static void assertMessage(String doc, String expected) {
    JobSpecException e = assertThrows(JobSpecException.class, () -> JobSpecParser.parse(doc));
    assertEquals(expected, e.getMessage());
  }

  private static int cards(JobSpec spec) {
    return spec.getTasks() * spec.getCardsPerTask();
  }

  private static EnvVar env(String name, String value) {
    return EnvVar.newBuilder().setName(name).setValue(value).build();
  }
}
