package io.cardinal.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.cli.CliException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "spare", description = "Cards held back per supernode for fast restarts.",
    subcommands = SpareCommand.Set.class)
public final class SpareCommand {

  @Command(name = "set", description = "Keep N cards (or P percent) of a supernode spare.")
  static final class Set extends BaseCommand {
    @Option(names = "--supernode", required = true, paramLabel = "SN")
    String supernode;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Amount amount;

    static final class Amount {
      @Option(names = "--cards", required = true, paramLabel = "N")
      Integer cards;

      @Option(names = "--percent", required = true, paramLabel = "P")
      Integer percent;
    }

    @Override
    protected void run() {
      ObjectNode body = object().put("supernodeId", supernode);
      String what;
      if (amount.cards != null) {
        if (amount.cards < 0 || amount.cards > 384) {
          throw CliException.invalid("--cards must be 0..384, got " + amount.cards);
        }
        body.put("cards", amount.cards);
        what = amount.cards + " cards";
      } else {
        if (amount.percent < 0 || amount.percent > 100) {
          throw CliException.invalid("--percent must be 0..100, got " + amount.percent);
        }
        body.put("percent", amount.percent);
        what = amount.percent + "% of its cards";
      }
      JsonNode doc = post("/v1/spares", body);
      output().print(doc, out -> out.println("supernode " + supernode + " keeps " + what + " spare"
          + NodeCommand.logIndex(doc)));
    }
  }
}
