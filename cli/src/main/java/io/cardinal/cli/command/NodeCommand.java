package io.cardinal.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.cli.CliException;
import io.cardinal.cli.output.Formats;
import io.cardinal.cli.output.Table;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "node", description = "Nodes (one agent each) and their cards.",
    subcommands = {NodeCommand.ListNodes.class, NodeCommand.Show.class, NodeCommand.Register.class,
        NodeCommand.Cordon.class, NodeCommand.Uncordon.class, NodeCommand.Drain.class})
public final class NodeCommand {

  @Command(name = "list", description = "Every node with its card counts.")
  static final class ListNodes extends BaseCommand {
    @Override
    protected void run() {
      JsonNode doc = get("/v1/nodes");
      output().print(doc, out -> {
        Table t = new Table("NODE", "SUPERNODE", "EPOCH", "STATE", "CARDS", "FREE", "SPARE", "ALLOCATED",
            "UNHEALTHY", "MODELS");
        for (JsonNode n : doc.path("nodes")) {
          t.row(Formats.text(n.path("nodeId")), Formats.text(n.path("supernodeId")), Formats.text(n.path("epoch")),
              state(n), Formats.text(n.path("cards")), Formats.text(n.path("cardsFree")),
              Formats.text(n.path("cardsSpare")), Formats.text(n.path("cardsAllocated")),
              Formats.text(n.path("cardsUnhealthy")), Formats.text(n.path("models")));
        }
        t.print(out);
      });
    }
  }

  /** online|lost, plus cordoned/drained: the three flags an operator acts on, in one cell. */
  static String state(JsonNode node) {
    List<String> parts = new ArrayList<>();
    parts.add(node.path("online").asBoolean(false) ? "online" : "lost");
    if (node.path("cordoned").asBoolean(false)) {
      parts.add("cordoned");
    }
    if (node.path("drained").asBoolean(false)) {
      parts.add("drained");
    }
    return String.join(",", parts);
  }

  @Command(name = "show", description = "One node and each of its cards.")
  static final class Show extends BaseCommand {
    @Parameters(paramLabel = "ID", description = "Node id.")
    String id;

    @Override
    protected void run() {
      JsonNode n = get("/v1/nodes/" + seg(id));
      output().print(n, out -> {
        Table.keyValues(out,
            "Node", Formats.text(n.path("nodeId")),
            "Supernode", Formats.text(n.path("supernodeId")),
            "Epoch", Formats.text(n.path("epoch")),
            "State", state(n),
            "Cards", Formats.text(n.path("cards")) + " (" + Formats.text(n.path("cardsFree")) + " free, "
                + Formats.text(n.path("cardsSpare")) + " spare, " + Formats.text(n.path("cardsAllocated"))
                + " allocated, " + Formats.text(n.path("cardsUnhealthy")) + " unhealthy)",
            "Models", Formats.text(n.path("models")));
        out.println();
        Table t = new Table("CARD", "MODEL", "MEMORY", "HEALTHY", "STATUS", "JOB", "ATTEMPT");
        for (JsonNode c : n.path("cardList")) {
          boolean held = c.hasNonNull("jobId") && !c.path("jobId").asText().isEmpty();
          t.row(Formats.text(c.path("index")), Formats.text(c.path("model")),
              Formats.mebibytes(c.path("memoryMib").asLong(0)), Formats.yesNo(c.path("healthy")),
              Formats.text(c.path("status")), held ? c.path("jobId").asText() : "-",
              held ? Formats.text(c.path("attempt")) : "-");
        }
        t.print(out);
      });
    }
  }

  @Command(name = "register", description = "Register a node by hand (agents register themselves).")
  static final class Register extends BaseCommand {
    @Option(names = "--id", required = true, description = "Node id, e.g. sn1-n1.")
    String id;

    @Option(names = "--supernode", required = true, paramLabel = "SN", description = "Its supernode id.")
    String supernode;

    @Option(names = "--cards", required = true, paramLabel = "N", description = "Number of cards (1..384).")
    int cards;

    @Option(names = "--model", required = true, paramLabel = "M", description = "Card model, e.g. H100.")
    String model;

    @Option(names = "--memory-mib", paramLabel = "MIB", description = "Memory per card in MiB.")
    Long memoryMib;

    @Option(names = "--tier", paramLabel = "T", description = "A locality tier above the supernode (repeatable, "
        + "outermost first), e.g. --tier pod-1.")
    List<String> tiers = new ArrayList<>();

    @Override
    protected void run() {
      if (cards < 1 || cards > 384) {
        throw CliException.invalid("--cards must be 1..384, got " + cards);
      }
      if (memoryMib != null && memoryMib < 1) {
        throw CliException.invalid("--memory-mib must be positive, got " + memoryMib);
      }
      ObjectNode body = object().put("nodeId", id).put("supernodeId", supernode).put("cardCount", cards)
          .put("cardModel", model);
      if (memoryMib != null) {
        body.put("cardMemoryMib", memoryMib);
      }
      ArrayNode t = body.putArray("tiers");
      tiers.forEach(t::add);
      JsonNode doc = post("/v1/nodes", body);
      output().print(doc, out -> out.println("registered node " + doc.path("nodeId").asText(id) + " (epoch "
          + Formats.text(doc.path("epoch")) + ")"));
    }
  }

  @Command(name = "cordon", description = "Stop placing new work on a node (running jobs stay).")
  static final class Cordon extends BaseCommand {
    @Parameters(paramLabel = "ID", description = "Node id.")
    String id;

    @Option(names = "--reason", paramLabel = "R", description = "Why (kept in the event log).")
    String reason;

    @Override
    protected void run() {
      JsonNode doc = post("/v1/nodes/" + seg(id) + "/cordon", reason == null ? object() : object().put("reason",
          reason));
      output().print(doc, out -> out.println("node " + id + " cordoned" + logIndex(doc)));
    }
  }

  @Command(name = "uncordon", description = "Allow placing work on a node again.")
  static final class Uncordon extends BaseCommand {
    @Parameters(paramLabel = "ID", description = "Node id.")
    String id;

    @Override
    protected void run() {
      JsonNode doc = post("/v1/nodes/" + seg(id) + "/uncordon", object());
      output().print(doc, out -> out.println("node " + id + " uncordoned" + logIndex(doc)));
    }
  }

  @Command(name = "drain", description = "Cordon a node and move its jobs elsewhere (they restart from "
      + "their last checkpoint).")
  static final class Drain extends BaseCommand {
    @Parameters(paramLabel = "ID", description = "Node id.")
    String id;

    @Option(names = "--reason", paramLabel = "R", description = "Why (kept in the event log).")
    String reason;

    @Override
    protected void run() {
      JsonNode doc = post("/v1/nodes/" + seg(id) + "/drain", reason == null ? object() : object().put("reason",
          reason));
      output().print(doc, out -> out.println("node " + id + " draining" + logIndex(doc)));
    }
  }

  static String logIndex(JsonNode doc) {
    return doc.hasNonNull("logIndex") ? " (log index " + doc.path("logIndex").asText() + ")" : "";
  }
}
