package io.cardinal.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.cli.CliException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "quota", description = "Per-tenant card quotas.", subcommands = QuotaCommand.Set.class)
public final class QuotaCommand {

  @Command(name = "set", description = "Set a tenant's quota (cards it may hold, and what it may borrow from "
      + "its cohort).")
  static final class Set extends BaseCommand {
    @Option(names = "--tenant", required = true, paramLabel = "T")
    String tenant;

    @Option(names = "--cards", required = true, paramLabel = "N", description = "Cards the tenant is entitled to.")
    long cards;

    @Option(names = "--cohort", paramLabel = "C", description = "Tenants of a cohort lend each other idle quota.")
    String cohort;

    @Option(names = "--borrow-limit", paramLabel = "N", description = "At most this many cards borrowed.")
    Long borrowLimit;

    @Override
    protected void run() {
      if (cards < 0) {
        throw CliException.invalid("--cards must be 0 or more, got " + cards);
      }
      if (borrowLimit != null && borrowLimit < 0) {
        throw CliException.invalid("--borrow-limit must be 0 or more, got " + borrowLimit);
      }
      ObjectNode body = object().put("tenant", tenant).put("cards", cards);
      if (cohort != null) {
        body.put("cohort", cohort);
      }
      if (borrowLimit != null) {
        body.put("borrowLimitCards", borrowLimit);
      }
      JsonNode doc = post("/v1/quotas", body);
      output().print(doc, out -> out.println("quota of tenant " + tenant + ": " + cards + " cards"
          + (cohort != null ? ", cohort " + cohort : "")
          + (borrowLimit != null ? ", may borrow up to " + borrowLimit : "") + NodeCommand.logIndex(doc)));
    }
  }
}
