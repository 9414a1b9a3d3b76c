package io.cardinal.consensus;

/** What a replica does when it must stop rather than diverge (a broken invariant at apply). */
@FunctionalInterface
public interface FatalHandler {
    void fatal(String message, Throwable cause);
}
