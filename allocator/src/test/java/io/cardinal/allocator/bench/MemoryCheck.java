package io.cardinal.allocator.bench;

import io.cardinal.allocator.model.Inventory;

import java.lang.management.ManagementFactory;

/**
 * Heap held by an Inventory of 1,000,000 cards (2,604 supernodes of 48 x 8 cards, plus one partial), 70% allocated.
 * Run with -Xmx1g: it must fit. Prints the retained heap after a full GC.
 */
public final class MemoryCheck {
    public static void main(String[] args) {
        long before = usedAfterGc();
        Inventory inv = BenchCluster.build(2605, 0.70, 7);
        long after = usedAfterGc();
        System.out.printf("cards=%d allocated=%d retained heap=%.1f MiB (max heap %.0f MiB)%n", inv.totalCards(), inv.allocatedCards(),
                (after - before) / 1048576.0, Runtime.getRuntime().maxMemory() / 1048576.0);
        if (inv.totalCards() < 1_000_000) throw new IllegalStateException("built only " + inv.totalCards() + " cards");
    }

    private static long usedAfterGc() {
        for (int i = 0; i < 3; i++) System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
