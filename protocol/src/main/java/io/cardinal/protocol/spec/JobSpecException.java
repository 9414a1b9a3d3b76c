package io.cardinal.protocol.spec;

/**
 * A job spec document that cannot become a {@link io.cardinal.protocol.v1.JobSpec}. The message is meant for the
 * person who wrote the spec: it names the field path and says what is expected, so the server can return it as
 * the body of a 400 and the CLI can print it as is.
 */
public final class JobSpecException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String path;
  private final String reason;

  public JobSpecException(String path, String reason) {
    super(path.isEmpty() ? reason : path + ": " + reason);
    this.path = path;
    this.reason = reason;
  }

  /** The dotted field path, e.g. {@code topology.supernode} or {@code command[2]}; empty for the whole document. */
  public String path() {
    return path;
  }

  /** What was wrong, without the path. */
  public String reason() {
    return reason;
  }
}
