package io.cardinal.allocator.sched;

import java.util.Objects;

/**
 * A tenant's nominal quota in cards. Tenants of the same {@code cohort} (null: none) may borrow each other's idle
 * quota, up to {@code borrowLimitCards} beyond their own, as Kueue cohorts do. A tenant with no quota entry is not
 * limited.
 */
public record TenantQuota(String tenant, int cards, String cohort, int borrowLimitCards) {
    public TenantQuota {
        Objects.requireNonNull(tenant, "tenant");
        if (cards < 0) throw new IllegalArgumentException("quota cards must be >= 0, got " + cards);
        if (borrowLimitCards < 0) throw new IllegalArgumentException("borrowLimitCards must be >= 0, got " + borrowLimitCards);
    }
}
