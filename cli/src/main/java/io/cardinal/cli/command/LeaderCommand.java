package io.cardinal.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "leader", description = "Raft leadership.", subcommands = LeaderCommand.Transfer.class)
public final class LeaderCommand {

  @Command(name = "transfer", description = "Move leadership to another replica (before maintenance).")
  static final class Transfer extends BaseCommand {
    @Option(names = "--to", required = true, paramLabel = "ID", description = "The replica to lead.")
    String to;

    @Override
    protected void run() {
      JsonNode doc = post("/v1/leader/transfer", object().put("to", to));
      output().print(doc, out -> out.println("leader is now " + doc.path("leaderId").asText(to)));
    }
  }
}
