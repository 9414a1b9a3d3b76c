package io.cardinal.state;

/**
 * The wall clock every time-stamping and time-out decision of the server reads (event times the leader stamps into
 * commands, restart backoffs, the agents' heartbeat TTLs). Apply never reads it: times travel inside the commands.
 *
 * <p>TEST ONLY: with {@code -Dcardinal.testHooks=true} (the chaos suite sets it) the clock can be offset at run
 * time ({@code POST /v1/debug/clock-offset}), to skew one replica's clock like a bad NTP server would. Without the
 * property the offset is always 0 and cannot be changed. Raft's own timers (Ratis) use the monotonic clock and are
 * deliberately not affected.
 */
public final class WallClock {
    public static final String TEST_HOOKS_PROPERTY = "cardinal.testHooks";
    /** An offset beyond a day is a typo, not a skew. */
    public static final long MAX_OFFSET_MILLIS = 86_400_000L;
    private static final boolean TEST_HOOKS = Boolean.getBoolean(TEST_HOOKS_PROPERTY);
    private static volatile long offsetMillis;

    private WallClock() {
    }

    public static long nowMillis() {
        return System.currentTimeMillis() + offsetMillis;
    }

    public static boolean testHooks() {
        return TEST_HOOKS;
    }

    public static long offsetMillis() {
        return offsetMillis;
    }

    /** Sets the offset; refused unless the test hooks are on. */
    public static void setOffsetMillis(long millis) {
        if (!TEST_HOOKS) throw new IllegalStateException("the clock offset is a test hook: start the server with -D" + TEST_HOOKS_PROPERTY + "=true");
        if (Math.abs(millis) > MAX_OFFSET_MILLIS) throw new IllegalArgumentException("offsetMillis: at most +/-" + MAX_OFFSET_MILLIS + ", got " + millis);
        offsetMillis = millis;
    }
}
