package io.cardinal.allocator.policy;

import io.cardinal.allocator.Clusters;
import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.SupernodeRule;
import io.cardinal.allocator.model.TaskCards;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static io.cardinal.allocator.Clusters.placed;
import static io.cardinal.allocator.Clusters.req;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PolicyExamplesTest {
    private final CardinalPolicy cardinal = new CardinalPolicy();

    /** Holds {@code cards} cards of a node under a filler job. */
    private static void fill(Inventory inv, String job, String node, int... idx) {
        List<Integer> list = java.util.Arrays.stream(idx).boxed().toList();
        inv.allocate(new Holder(job, 1), new Placement(List.of(new TaskCards(0, node, list))));
    }

    private static Set<String> nodes(Placement p) {
        Set<String> out = new HashSet<>();
        for (TaskCards t : p.tasks()) out.add(t.nodeId());
        return out;
    }

    private static Set<String> supernodes(Placement p) {
        Set<String> out = new HashSet<>();
        for (TaskCards t : p.tasks()) out.add(t.nodeId().substring(0, 5));
        return out;
    }

    @Test
    void cardinalPutsASmallJobOnTheNodeItFillsExactly() {
        Inventory inv = Clusters.uniform(2, 2, 8, "A", 0);
        fill(inv, "x", "sn001-n000", 0, 1, 2, 3);
        Placement p = placed(cardinal.place(inv, req("j", 2, 2, SupernodeRule.PREFERRED)));
        assertEquals(Set.of("sn001-n000"), nodes(p), "the half-used node is filled, whole nodes stay whole");
    }

    @Test
    void cardinalPrefersOneNodeOverSeveral() {
        Inventory inv = Clusters.uniform(1, 3, 8, "A", 0);
        fill(inv, "x", "sn000-n000", 0, 1, 2, 3, 4, 5);
        fill(inv, "y", "sn000-n001", 0, 1, 2, 3, 4, 5);
        fill(inv, "z", "sn000-n002", 0, 1, 2, 3);
        // Two nodes with 2 free would strand nothing, but the job fits on one node: smallest domain first.
        Placement p = placed(cardinal.place(inv, req("j", 2, 2, SupernodeRule.PREFERRED)));
        assertEquals(Set.of("sn000-n002"), nodes(p));
    }

    @Test
    void cardinalPicksTheTightestSupernodeThatFits() {
        Inventory inv = Clusters.uniform(3, 4, 8, "A", 0);
        fill(inv, "x", "sn001-n000", 0, 1, 2, 3, 4, 5, 6, 7);
        fill(inv, "y", "sn001-n001", 0, 1, 2, 3, 4, 5, 6, 7);
        Placement p = placed(cardinal.place(inv, req("j", 2, 8, SupernodeRule.PREFERRED)));
        assertEquals(Set.of("sn001"), supernodes(p), "sn001 has exactly 16 free cards");
    }

    @Test
    void cardinalSpansTheFewestSupernodesUnderTheNearestTier() {
        Inventory inv = Clusters.uniform(4, 2, 8, "A", 2); // pod00 = sn000, sn001; pod01 = sn002, sn003
        fill(inv, "x", "sn001-n000", 0, 1, 2, 3, 4, 5, 6, 7);
        Placement p = placed(cardinal.place(inv, req("j", 4, 8, SupernodeRule.PREFERRED)));
        assertEquals(Set.of("sn002", "sn003"), supernodes(p), "pod00 has only 3 free nodes, pod01 has 4");
        Placement q = placed(cardinal.place(inv, req("k", 3, 8, SupernodeRule.ANY)));
        assertEquals(2, supernodes(q).size());
    }

    @Test
    void requiredJobThatFitsNoSupernodeIsNotPlacedWithAReason() {
        Inventory inv = Clusters.uniform(2, 2, 8, "A", 0);
        for (String name : Policies.NAMES) {
            Decision d = Policies.byName(name).place(inv, req("j", 3, 8, SupernodeRule.REQUIRED));
            assertInstanceOf(Decision.NotPlaced.class, d, name);
            assertTrue(d.reason().contains("supernode"), name + ": " + d.reason());
        }
    }

    @Test
    void supernodeCapIsHonoured() {
        Inventory inv = Clusters.uniform(4, 1, 8, "A", 0);
        PlacementRequest r = new PlacementRequest("j", "t", 0, 3, 8, Set.of(), SupernodeRule.ANY, 2, 0);
        for (String name : Policies.NAMES) {
            assertInstanceOf(Decision.NotPlaced.class, Policies.byName(name).place(inv, r), name);
        }
    }

    @Test
    void sparesAreNeverUsedByNormalPlacementButServeReplacements() {
        Inventory inv = Clusters.uniform(1, 3, 8, "A", 0);
        inv.setSpareRule("sn000", new Inventory.SpareRule(8, 0));
        for (String name : Policies.NAMES) {
            assertInstanceOf(Decision.NotPlaced.class, Policies.byName(name).place(inv, req("j", 3, 8, SupernodeRule.ANY)), name);
        }
        Placement p = placed(cardinal.place(inv, req("j", 2, 8, SupernodeRule.REQUIRED)));
        inv.allocate(new Holder("j", 1), p);
        assertEquals(io.cardinal.allocator.model.CardStatus.SPARE, inv.status(new CardRef("sn000-n002", 7)));
        CardRef failed = new CardRef(p.tasks().get(0).nodeId(), 3);
        inv.setCardHealthy(failed, false);
        Decision d = cardinal.replace(inv, req("j", 2, 8, SupernodeRule.REQUIRED), p, Set.of(failed));
        Placement r = placed(d);
        assertEquals("sn000-n002", r.tasks().get(0).nodeId(), d.reason());
        assertEquals(p.tasks().get(1), r.tasks().get(1), "the unaffected task stays");
        assertTrue(d.reason().contains("1 in the same supernode"), d.reason());
    }

    @Test
    void replacementKeepsTheTaskOnItsNodeWhenTheNodeHasFreeCards() {
        Inventory inv = Clusters.uniform(1, 2, 8, "A", 0);
        PlacementRequest r = req("j", 1, 4, SupernodeRule.PREFERRED);
        Placement p = placed(cardinal.place(inv, r));
        inv.allocate(new Holder("j", 1), p);
        TaskCards t = p.tasks().get(0);
        CardRef failed = new CardRef(t.nodeId(), t.cardIndices().get(1));
        inv.setCardHealthy(failed, false);
        Decision d = cardinal.replace(inv, r, p, Set.of(failed));
        Placement q = placed(d);
        assertEquals(t.nodeId(), q.tasks().get(0).nodeId());
        assertTrue(!q.cards().contains(failed));
        assertTrue(q.tasks().get(0).cardIndices().containsAll(List.of(t.cardIndices().get(0), t.cardIndices().get(2))), "good cards kept");
        assertTrue(d.reason().contains("1 on the same node"), d.reason());
    }

    @Test
    void replacementGoesToTheNearestSupernodeThenFullReplacementThenWaits() {
        Inventory inv = Clusters.uniform(3, 1, 8, "A", 0);
        PlacementRequest r = new PlacementRequest("j", "t", 0, 2, 8, Set.of(), SupernodeRule.ANY, 3, 0);
        Placement p = placed(cardinal.place(inv, r));
        inv.allocate(new Holder("j", 1), p);
        CardRef failed = new CardRef(p.tasks().get(0).nodeId(), 0);
        inv.setCardHealthy(failed, false);
        Decision d = cardinal.replace(inv, r, p, Set.of(failed));
        assertTrue(d.reason().contains("1 in another supernode"), d.reason());
        // Now fill the last free node: no replacement anywhere, the job waits with a reason.
        Placement q = placed(d);
        String spareNode = null;
        for (String n : inv.nodeIds()) if (!nodes(p).contains(n)) spareNode = n;
        fill(inv, "x", spareNode, 0, 1, 2, 3, 4, 5, 6, 7);
        Decision none = cardinal.replace(inv, r, p, Set.of(failed));
        assertInstanceOf(Decision.NotPlaced.class, none);
        assertTrue(none.reason().contains("waits"), none.reason());
        assertEquals(2, q.tasks().size());
    }

    @Test
    void baselinesMoveTheWholeJobOnReplacement() {
        Inventory inv = Clusters.uniform(1, 3, 8, "A", 0);
        PlacementRequest r = req("j", 2, 8, SupernodeRule.PREFERRED);
        for (String name : List.of("first-fit", "best-fit-node", "slurm-block", "volcano-tier")) {
            Inventory copy = inv.copy();
            PlacementPolicy pol = Policies.byName(name);
            Placement p = placed(pol.place(copy, r));
            copy.allocate(new Holder("j", 1), p);
            CardRef failed = new CardRef(p.tasks().get(0).nodeId(), 0);
            copy.setCardHealthy(failed, false);
            Decision d = pol.replace(copy, r, p, Set.of(failed));
            assertTrue(d.reason().startsWith("full re-placement"), name + ": " + d.reason());
            assertTrue(!placed(d).cards().contains(failed), name);
        }
    }

    @Test
    void firstFitTakesTheFirstSupernodeInIdOrder() {
        Inventory inv = Clusters.uniform(3, 2, 8, "A", 0);
        fill(inv, "x", "sn001-n000", 0, 1, 2, 3, 4, 5, 6, 7);
        Placement p = placed(new FirstFitPolicy().place(inv, req("j", 1, 8, SupernodeRule.PREFERRED)));
        assertEquals(Set.of("sn000-n000"), nodes(p));
    }

    @Test
    void bestFitNodeTakesTheTightestNodeAnywhere() {
        Inventory inv = Clusters.uniform(2, 2, 8, "A", 0);
        fill(inv, "x", "sn001-n001", 0, 1, 2, 3, 4);
        fill(inv, "y", "sn000-n000", 0, 1);
        Placement p = placed(new BestFitNodePolicy().place(inv, req("j", 1, 2, SupernodeRule.ANY)));
        assertEquals(Set.of("sn001-n001"), nodes(p));
    }

    @Test
    void slurmBlockTakesTheSmallestLevelThenTheTightestBlock() {
        Inventory inv = Clusters.uniform(4, 2, 8, "A", 0);
        fill(inv, "x", "sn002-n000", 0, 1, 2, 3, 4, 5, 6, 7);
        Placement p = placed(new SlurmBlockPolicy().place(inv, req("j", 1, 8, SupernodeRule.PREFERRED)));
        assertEquals(Set.of("sn002"), supernodes(p), "level 0, block with 8 free");
        // 3 nodes: level 1 groups (sn000,sn001) 4 free, (sn002,sn003) 3 free -> the tighter group
        Placement q = placed(new SlurmBlockPolicy().place(inv, req("k", 3, 8, SupernodeRule.ANY)));
        assertEquals(Set.of("sn002", "sn003"), supernodes(q));
    }

    @Test
    void volcanoTierTakesTheMostAllocatedHypernodeOfTheLowestTier() {
        Inventory inv = Clusters.uniform(4, 2, 8, "A", 2);
        fill(inv, "x", "sn003-n000", 0, 1, 2, 3);
        Placement p = placed(new VolcanoTierPolicy().place(inv, req("j", 1, 4, SupernodeRule.PREFERRED)));
        assertEquals(Set.of("sn003-n000"), nodes(p), "tier 1, the most allocated supernode and node");
        Placement q = placed(new VolcanoTierPolicy().place(inv, req("k", 3, 8, SupernodeRule.ANY)));
        assertEquals(Set.of("sn002", "sn003"), supernodes(q), "tier 2: both pods hold 3 whole nodes, pod01 is more allocated");
    }

    @Test
    void impossibleRequestsSayWhy() {
        Inventory inv = Clusters.uniform(1, 2, 8, "A", 0);
        PlacementPolicy pol = new CardinalPolicy();
        assertTrue(pol.place(inv, req("j", 4, 8, SupernodeRule.ANY)).reason().contains("the cluster has 16"));
        assertTrue(pol.place(inv, req("j", 1, 16, SupernodeRule.ANY)).reason().contains("largest node has 8"));
        PlacementRequest h100 = new PlacementRequest("j", "t", 0, 1, 1, Set.of("H100"), SupernodeRule.ANY, 0, 0);
        assertTrue(pol.place(inv, h100).reason().contains("unknown card model H100"));
    }

    @Test
    void policiesByNameKnowsTheFiveAndRejectsOthers() {
        for (String n : Policies.NAMES) assertEquals(n, Policies.byName(n).name());
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Policies.byName("x"));
        assertTrue(e.getMessage().contains("cardinal"));
    }
}
