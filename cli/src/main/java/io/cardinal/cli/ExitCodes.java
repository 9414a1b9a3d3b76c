package io.cardinal.cli;

/** The exit codes scripts can rely on (see cli/README.md). */
public final class ExitCodes {
  public static final int OK = 0;
  /** Refused or invalid: HTTP 4xx or 500, a bad spec, bad flags. */
  public static final int INVALID = 1;
  /** No server answered, or the cluster could not serve (503). */
  public static final int UNREACHABLE = 2;

  private ExitCodes() {}
}
