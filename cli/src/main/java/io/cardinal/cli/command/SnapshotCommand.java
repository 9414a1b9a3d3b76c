package io.cardinal.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;

@Command(name = "snapshot", description = "State machine snapshots.", subcommands = SnapshotCommand.Take.class)
public final class SnapshotCommand {

  @Command(name = "take", description = "Take a snapshot on the replica that serves the request.")
  static final class Take extends BaseCommand {
    @Override
    protected void run() {
      JsonNode doc = post("/v1/snapshot", null);
      output().print(doc, out -> out.println("snapshot taken on " + doc.path("id").asText("?") + " at log index "
          + doc.path("index").asText("?")));
    }
  }
}
