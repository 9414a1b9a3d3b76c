package io.cardinal.state;

import java.util.List;

/**
 * TEST ONLY. Deliberate bugs that the chaos suite (chaos-tests, {@code bin/cardinal-chaos --inject-bug NAME}) must
 * catch, to prove its checkers can fail. A bug is switched on only by the JVM system property
 * {@code -Dcardinal.injectBug=NAME}, which the chaos harness passes to the server processes it starts; production
 * never sets it, and with it unset every {@link #on(String)} is false and no code path changes.
 */
public final class InjectedBugs {
    public static final String PROPERTY = "cardinal.injectBug";
    /** Every name a main-code hook checks (chaos-tests keeps the catalogue of which checker must catch which). */
    public static final List<String> NAMES = List.of("ack-before-commit", "skip-double-allocation-check", "reuse-attempt",
            "lose-event-seq", "nondeterministic-apply", "stale-read", "never-restart",
            "assign-without-hold");

    private static final String ACTIVE = System.getProperty(PROPERTY, "");

    private InjectedBugs() {
    }

    /** True only when the test-only property names this bug. */
    public static boolean on(String name) {
        return !ACTIVE.isEmpty() && ACTIVE.equals(name);
    }
}
