package io.cardinal.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.cli.CliException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "debug", description = "Fault injection for trying things out and for tests.",
    subcommands = DebugCommand.FailCard.class)
public final class DebugCommand {

  @Command(name = "fail-card", description = "Mark a card failed (or healthy again with --healthy). When the "
      + "node's agent is connected it is told to fail the card and reports it itself (the real path); otherwise "
      + "the card is marked directly.")
  static final class FailCard extends BaseCommand {
    @Option(names = "--node", required = true, paramLabel = "N", description = "Node id.")
    String node;

    @Option(names = "--card", required = true, paramLabel = "C", description = "Card index on the node (0-based).")
    Integer card;

    @Option(names = "--healthy", description = "Mark the card healthy again instead.")
    boolean healthy;

    @Option(names = "--reason", paramLabel = "R", description = "Why (kept in the event log).")
    String reason;

    @Override
    protected void run() {
      if (card < 0 || card > 1023) {
        throw CliException.invalid("--card must be 0..1023, got " + card);
      }
      ObjectNode body = object().put("nodeId", node).put("card", card);
      if (healthy) {
        body.put("healthy", true);
      }
      if (reason != null) {
        body.put("reason", reason);
      }
      JsonNode doc = post("/v1/debug/fail-card", body);
      String what = healthy ? "healthy again" : "failed";
      output().print(doc, out -> out.println("card " + card + " of " + node + " marked " + what
          + (doc.path("via").asText().equals("agent") ? " (through its agent, which reports it)"
              : NodeCommand.logIndex(doc))));
    }
  }
}
