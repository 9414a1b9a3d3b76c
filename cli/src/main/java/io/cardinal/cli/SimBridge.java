package io.cardinal.cli;

import io.cardinal.allocator.sim.SimCommand;
import io.cardinal.cli.output.OutputFormat;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

/**
 * {@code cardinal sim}: runs the allocator's {@link SimCommand} as its own command line. It cannot be mounted as a
 * picocli subcommand: the root's inherited {@code -o/--output} would clash with sim's own {@code -o} (its
 * table|json report option), and picocli refuses the tree. {@code cardinal sim ...} is dispatched before the tree
 * is parsed; this placeholder lists it in the help and forwards other spellings (e.g. {@code cardinal --debug sim}).
 */
@Command(name = "sim", description = "The placement simulator (allocator/README.md); 'cardinal sim --help' "
    + "shows its commands.")
final class SimBridge implements Callable<Integer> {
  @Spec
  CommandLine.Model.CommandSpec spec;

  @Unmatched
  List<String> rest = new ArrayList<>();

  @Override
  public Integer call() {
    CardinalCli root = (CardinalCli) spec.root().userObject();
    List<String> args = new ArrayList<>(rest);
    if (root.output == OutputFormat.JSON) {
      args.add("-o");
      args.add("json");
    }
    return run(root.context(), args);
  }

  static int run(CliContext context, List<String> args) {
    CommandLine sim = SimCommand.commandLine();
    sim.setOut(new PrintWriter(context.out(), true));
    sim.setErr(new PrintWriter(context.err(), true));
    return sim.execute(args.toArray(new String[0]));
  }
}
