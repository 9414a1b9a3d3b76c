package io.cardinal.allocator.model;

import io.cardinal.allocator.Clusters;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The summaries Inventory keeps incrementally (per-supernode histograms of nodes by usable cards, per model class;
 * usable totals; tier domains) equal what a read of every node gives, after random sequences of every kind of
 * mutation and copies. jqwik prints the failing seed.
 */
class InventorySummaryProperties {
    private static final List<Set<String>> MODEL_SETS = List.of(Set.of(), Set.of("A"), Set.of("B"), Set.of("A", "C"), Set.of("D"));

    @Property(tries = 300, seed = "20261123")
    void histogramsMatchANodeRead(@ForAll long seed) {
        Inventory inv = Clusters.randomState(new Random(seed));
        checkSummaries(inv, "seed " + seed);
        checkSummaries(inv.copy(), "seed " + seed + " copy");
    }

    static void checkSummaries(Inventory inv, String tag) {
        int width = inv.nodeCardsMax() + 1;
        int cardsMax = 0;
        for (int s = 0; s < inv.supernodeCount(); s++) {
            int usable = 0;
            boolean mixed = false;
            for (int k = 0; k < inv.nodeCountAt(s); k++) {
                usable += inv.nodeUsableAt(s, k, Set.of());
                mixed |= inv.nodeModelAt(s, k) == null;
                cardsMax = Math.max(cardsMax, inv.nodeCardsAt(s, k));
            }
            assertEquals(usable, inv.usableCardsAt(s), tag + ": usable cards of " + inv.supernodeIdAt(s));
            for (Set<String> models : MODEL_SETS) {
                int[] expected = new int[width];
                for (int k = 0; k < inv.nodeCountAt(s); k++) expected[inv.nodeUsableAt(s, k, models)]++;
                int[] got = new int[width + 3];
                java.util.Arrays.fill(got, -7);
                boolean answered = inv.usableHistogramAt(s, models, got, 2);
                String what = tag + ": histogram of " + inv.supernodeIdAt(s) + " for " + models;
                assertEquals(!(mixed && !models.isEmpty()), answered, what + " answered");
                if (answered) {
                    assertArrayEquals(expected, java.util.Arrays.copyOfRange(got, 2, 2 + width), what);
                    assertEquals(-7, got[0], what + " wrote before its offset");
                    assertEquals(-7, got[width + 2], what + " wrote past its width");
                }
            }
        }
        assertEquals(cardsMax, inv.nodeCardsMax(), tag + ": nodeCardsMax");
        // Tier domains: the distinct joined prefixes, with (supernode, depth) entries in supernode order.
        TreeMap<String, List<String>> expected = new TreeMap<>();
        for (int s = 0; s < inv.supernodeCount(); s++) {
            List<String> tiers = inv.tiersAt(s);
            for (int d = tiers.size(); d >= 0; d--) {
                expected.computeIfAbsent(String.join("/", tiers.subList(0, d)), x -> new ArrayList<>()).add(s + "@" + d);
            }
        }
        TreeMap<String, List<String>> got = new TreeMap<>();
        for (int d = 0; d < inv.tierDomainCount(); d++) {
            List<String> entries = new ArrayList<>();
            for (int i = 0; i < inv.tierDomainSizeAt(d); i++) entries.add(inv.tierDomainSupernodeAt(d, i) + "@" + inv.tierDomainDepthAt(d, i));
            got.put(inv.tierDomainPathAt(d), entries);
            if (d > 0) assertEquals(true, inv.tierDomainPathAt(d - 1).compareTo(inv.tierDomainPathAt(d)) < 0, tag + ": domains out of order");
        }
        assertEquals(expected, got, tag + ": tier domains");
    }
}
