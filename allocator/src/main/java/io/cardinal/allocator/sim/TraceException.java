package io.cardinal.allocator.sim;

/** Bad input: a trace file or option the simulator cannot use. The message is one line for the user. */
public final class TraceException extends Exception {
    public TraceException(String message) {
        super(message);
    }
}
