package io.cardinal.state.apply;

/**
 * An event that would break one of DESIGN.md's invariants. On a replica this stops the replica: applying it, or
 * skipping it, would let replicas or reality diverge silently.
 */
public final class InvariantViolation extends RuntimeException {
    private final int invariant;

    public InvariantViolation(int invariant, String message) {
        super("invariant " + invariant + " (" + describe(invariant) + ") violated: " + message);
        this.invariant = invariant;
    }

    public int invariant() {
        return invariant;
    }

    public static String describe(int invariant) {
        switch (invariant) {
            case 1: return "a card is held by at most one (job, attempt)";
            case 2: return "a card is allocated only while healthy, online and not cordoned";
            case 3: return "a job's allocation has exactly tasks x cardsPerTask cards and honours its topology rule";
            case 4: return "job transitions follow the life cycle; attempts only grow";
            case 5: return "per-tenant allocated cards never exceed quota plus allowed borrowing";
            default: return "well-formed events";
        }
    }
}
