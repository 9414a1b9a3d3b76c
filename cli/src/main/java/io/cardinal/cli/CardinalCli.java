package io.cardinal.cli;

import io.cardinal.allocator.sim.SimCommand;
import io.cardinal.cli.command.ClusterCommand;
import io.cardinal.cli.command.DebugCommand;
import io.cardinal.cli.command.DemoCommand;
import io.cardinal.cli.command.DevCommand;
import io.cardinal.cli.command.EventsCommand;
import io.cardinal.cli.command.IncidentsCommand;
import io.cardinal.cli.command.JobCommand;
import io.cardinal.cli.command.LeaderCommand;
import io.cardinal.cli.command.NodeCommand;
import io.cardinal.cli.command.QuotaCommand;
import io.cardinal.cli.command.SnapshotCommand;
import io.cardinal.cli.command.SpareCommand;
import io.cardinal.cli.http.ApiClient;
import io.cardinal.cli.http.ServerList;
import io.cardinal.cli.output.Output;
import io.cardinal.cli.output.OutputFormat;
import java.io.PrintWriter;
import java.net.URI;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** {@code cardinal}: the admin CLI. Talks to any replica over the HTTP API (docs/http-api.md). */
@Command(name = "cardinal",
    // INHERIT: every subcommand, the mounted `sim` too, gets --help/--version.
    scope = ScopeType.INHERIT,
    mixinStandardHelpOptions = true,
    versionProvider = CardinalCli.Version.class,
    description = "Admin CLI of the Cardinal control plane.",
    footer = {"", "Exit codes: 0 ok, 1 refused or invalid (HTTP 4xx, bad spec, bad flags), 2 unreachable "
        + "(no server answered, or 503).",
        "Servers: --servers or $CARDINAL_SERVERS, as host:port,host:port,..."},
    subcommands = {
        ClusterCommand.class,
        LeaderCommand.class,
        SnapshotCommand.class,
        NodeCommand.class,
        JobCommand.class,
        EventsCommand.class,
        IncidentsCommand.class,
        QuotaCommand.class,
        SpareCommand.class,
        DevCommand.class,
        DemoCommand.class,
        DebugCommand.class,
        SimBridge.class,
        CommandLine.HelpCommand.class})
public final class CardinalCli implements Callable<Integer> {
  public static final String SERVERS_ENV = "CARDINAL_SERVERS";

  @Option(names = "--servers", scope = ScopeType.INHERIT, paramLabel = "HOST:PORT[,...]",
      description = "Servers to try in order (default: $CARDINAL_SERVERS).")
  String servers;

  @Option(names = {"-o", "--output"}, scope = ScopeType.INHERIT, paramLabel = "FORMAT",
      description = "table (default), json or yaml.")
  OutputFormat output = OutputFormat.TABLE;

  @Option(names = "--debug", scope = ScopeType.INHERIT, description = "Print stack traces of errors.")
  boolean debug;

  private final CliContext context;

  public CardinalCli(CliContext context) {
    this.context = context;
  }

  public static void main(String[] args) {
    System.exit(run(CliContext.system(), args));
  }

  /** Runs one command line and returns its exit code; never throws, never exits. */
  public static int run(CliContext context, String... args) {
    try {
      return execute(context, args);
    } catch (RuntimeException | LinkageError e) {
      // Only a broken installation gets here (e.g. a missing class while picocli builds the command tree).
      context.err().println("cardinal: cannot start: " + e + ". Is the distribution complete? Rebuild it with "
          + "'mvn -DskipTests install'.");
      return ExitCodes.INVALID;
    }
  }

  private static int execute(CliContext context, String... args) {
    if (args.length > 0 && args[0].equals("sim")) {
      return SimBridge.run(context, java.util.Arrays.asList(args).subList(1, args.length));
    }
    CardinalCli root = new CardinalCli(context);
    CommandLine cmd = new CommandLine(root);
    cmd.setCaseInsensitiveEnumValuesAllowed(true);
    cmd.setOut(new PrintWriter(context.out(), true));
    cmd.setErr(new PrintWriter(context.err(), true));
    cmd.setExecutionExceptionHandler((ex, commandLine, parseResult) -> root.report(ex));
    cmd.setParameterExceptionHandler((ex, args1) -> {
      PrintWriter err = ex.getCommandLine().getErr();
      err.println("cardinal: " + firstLine(ex.getMessage()));
      CommandLine.UnmatchedArgumentException.printSuggestions(ex, err);
      err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
      err.flush();
      return ExitCodes.INVALID;
    });
    return cmd.execute(args);
  }

  private int report(Exception ex) {
    if (debug) {
      ex.printStackTrace(context.err());
    }
    if (ex instanceof CliException ce) {
      context.err().println("cardinal: " + ce.getMessage());
      context.err().flush();
      return ce.exitCode();
    }
    // A bug of ours: say so on one line; --debug shows where.
    context.err().println("cardinal: unexpected error: " + ex + (debug ? "" : " (run with --debug for details)"));
    context.err().flush();
    return ExitCodes.INVALID;
  }

  @Override
  public Integer call() {
    new CommandLine(this).usage(context.err());
    return ExitCodes.INVALID;
  }

  public CliContext context() {
    return context;
  }

  public Output output() {
    return new Output(output, context.out(), context.clock(), context.zone());
  }

  /** The servers from --servers, else CARDINAL_SERVERS, else an exit-2 error that says how to set them. */
  public List<URI> serverList() {
    if (servers != null && !servers.isBlank()) {
      return ServerList.parse(servers, "--servers");
    }
    String fromEnv = context.env().get(SERVERS_ENV);
    if (fromEnv != null && !fromEnv.isBlank()) {
      return ServerList.parse(fromEnv, SERVERS_ENV);
    }
    throw CliException.unreachable("no servers given: set " + SERVERS_ENV + "=host:port[,host:port...] or pass "
        + "--servers (a local cluster: 'cardinal dev up --dir DIR' prints the line to use)");
  }

  public ApiClient client() {
    return new ApiClient(serverList(), context.connectTimeout(), context.requestTimeout());
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "invalid arguments";
    }
    int nl = s.indexOf('\n');
    return (nl < 0 ? s : s.substring(0, nl)).strip();
  }

  /** The version from the jar manifest when packaged; "dev" when run from classes. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = CardinalCli.class.getPackage().getImplementationVersion();
      return new String[] {"cardinal " + (v == null ? "dev" : v)};
    }
  }
}
