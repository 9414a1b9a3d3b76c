package io.cardinal.allocator.sim;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * PLACEHOLDER written on the cli branch so that `cardinal sim` compiles; the allocator branch owns the real
 * simulator command at this exact path and its version replaces this file at merge.
 */
@Command(name = "sim", description = "Placement simulator (see allocator/README.md)")
public class SimCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().getErr().println("cardinal: the placement simulator is not built yet on this branch "
        + "(placeholder io.cardinal.allocator.sim.SimCommand); see allocator/README.md");
    return 1;
  }
}
