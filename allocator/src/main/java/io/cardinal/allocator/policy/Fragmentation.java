package io.cardinal.allocator.policy;

import io.cardinal.allocator.model.Inventory;

import java.util.Set;

/**
 * Stranded cards: usable, non-spare cards that cannot serve a given request. Per supernode, the request
 * {@code tasks x cardsPerTask} can be served {@code copies} times, where copies is the number of whole requests
 * that fit its nodes (each task on one node) within its budget; stranded = budget - copies x request cards.
 * This is the measure Cardinal's scoring lowers, and the simulator's fragmentation figure (with the median
 * request of the workload). Idea from "Beware of Fragmentation" (Weng et al., USENIX ATC'23).
 */
public final class Fragmentation {
    private Fragmentation() {
    }

    /** Stranded cards of one supernode from its nodes' task slots ({@code sum(usable / cardsPerTask)}) and budget. */
    static int stranded(long nodeSlots, int budgetCards, int tasks, int cardsPerTask) {
        if (budgetCards <= 0) return 0;
        long slots = Math.min(nodeSlots, budgetCards / cardsPerTask);
        long copies = slots / tasks;
        return (int) Math.max(0, budgetCards - copies * tasks * cardsPerTask);
    }

    /** Stranded cards over the whole cluster for a request of {@code tasks x cardsPerTask} cards of any model. */
    public static long strandedCards(Inventory inv, int tasks, int cardsPerTask) {
        long total = 0;
        Set<String> any = Set.of();
        int width = inv.nodeCardsMax() + 1;
        int[] hist = new int[width];
        for (int s = 0; s < inv.supernodeCount(); s++) {
            inv.usableHistogramAt(s, any, hist, 0); // always answers for any model
            long slots = 0;
            for (int x = cardsPerTask; x < width; x++) slots += (long) hist[x] * (x / cardsPerTask);
            total += stranded(slots, inv.usableCardsAt(s) - inv.freeSpareCountAt(s), tasks, cardsPerTask);
        }
        return total;
    }
}
