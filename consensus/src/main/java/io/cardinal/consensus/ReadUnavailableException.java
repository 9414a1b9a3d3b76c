package io.cardinal.consensus;

/**
 * A linearizable read could not be confirmed (no committed read barrier in time, or too many reads waiting): nothing
 * was read, and the caller may retry or read stale.
 */
public final class ReadUnavailableException extends RuntimeException {
    public ReadUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
