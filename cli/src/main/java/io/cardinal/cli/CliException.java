package io.cardinal.cli;

/**
 * An error the CLI reports as one line on stderr with an exit code, never as a stack trace (unless --debug).
 * The message says what was wrong and, where it can, what to do.
 */
public final class CliException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int exitCode;

  public CliException(int exitCode, String message) {
    this(exitCode, message, null);
  }

  public CliException(int exitCode, String message, Throwable cause) {
    super(message, cause);
    this.exitCode = exitCode;
  }

  /** Refused or invalid: HTTP 4xx/500, a bad spec, bad flags. */
  public static CliException invalid(String message) {
    return new CliException(ExitCodes.INVALID, message);
  }

  /** No server answered, or every server said 503. */
  public static CliException unreachable(String message) {
    return new CliException(ExitCodes.UNREACHABLE, message);
  }

  public int exitCode() {
    return exitCode;
  }
}
