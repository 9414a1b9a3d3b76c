package io.cardinal.allocator.policy;

import io.cardinal.allocator.Clusters;
import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.CardStatus;
import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.SupernodeRule;
import io.cardinal.allocator.model.TaskCards;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The lending rules of {@link SpareLending}, one example each. */
class SpareLendingTest {
    private final PlacementPolicy cardinal = new CardinalPolicy();

    /** One supernode of {@code nodes} 8-card nodes with 8 spare cards. */
    private static Inventory oneSupernode(int nodes) {
        Inventory inv = Clusters.uniform(1, nodes, 8, "A", 0);
        inv.setSpareRule("sn000", new Inventory.SpareRule(8, 0));
        return inv;
    }

    private static Placement place(Inventory inv, PlacementPolicy policy, PlacementRequest req) {
        Placement p = Clusters.placed(policy.place(inv, req));
        inv.allocate(new Holder(req.jobId(), 1), p);
        return p;
    }

    @Test
    void aJobThatFitsOnlyWithTheSparesIsLentThemAndMarked() {
        Inventory inv = oneSupernode(3);
        place(inv, cardinal, Clusters.req("A", 2, 8, SupernodeRule.PREFERRED)); // n000, n001: only the spare node is free
        PlacementRequest b = Clusters.req("B", 1, 8, SupernodeRule.PREFERRED);
        assertInstanceOf(Decision.NotPlaced.class, cardinal.place(inv, b), "normal placement leaves the spares free");
        Decision d = SpareLending.placeLent(cardinal, inv, b);
        Placement p = Clusters.placed(d);
        assertEquals(List.of(new TaskCards(0, "sn000-n002", List.of(0, 1, 2, 3, 4, 5, 6, 7))), p.tasks());
        assertEquals(Map.of("sn000", 8), SpareLending.spareCardsTaken(inv, p));
        assertTrue(d.reason().startsWith("lent 8 spare card(s) of sn000"), d.reason());
        inv.allocate(new Holder("B", 1), p, true);
        assertTrue(inv.isLent("B"));
        assertEquals(List.of("B"), inv.lentJobs());
        assertEquals(8, inv.lentCardCount("sn000"));
        assertEquals(0, inv.freeSpareCount("sn000"), "B's cards stand in for the spares");
        inv.release("B");
        assertFalse(inv.isLent("B"));
        assertEquals(8, inv.freeSpareCount("sn000"));
        assertEquals(CardStatus.SPARE, inv.status(new CardRef("sn000-n002", 0)));
    }

    @Test
    void noLentPlacementWhenTheJobFitsOutsideSparesOrNotEvenWithThem() {
        Inventory inv = oneSupernode(3);
        assertInstanceOf(Decision.NotPlaced.class, SpareLending.placeLent(cardinal, inv, Clusters.req("A", 2, 8, SupernodeRule.PREFERRED)),
                "16 cards fit outside the 8 spares: a normal placement");
        assertInstanceOf(Decision.NotPlaced.class, SpareLending.placeLent(cardinal, inv, Clusters.req("A", 4, 8, SupernodeRule.ANY)),
                "32 cards do not fit 24 even with spares");
    }

    @Test
    void aPreferredJobIsLentOneSupernodeOnlyAnAnyJobMaySpread() {
        // Two supernodes of two nodes, 8 spares each; one node of each is taken: 8 + 8 usable, all of it spares.
        Inventory inv = Clusters.uniform(2, 2, 8, "A", 0);
        inv.setSpareRule("sn000", new Inventory.SpareRule(8, 0));
        inv.setSpareRule("sn001", new Inventory.SpareRule(8, 0));
        place(inv, cardinal, Clusters.req("X", 1, 8, SupernodeRule.REQUIRED));
        place(inv, cardinal, Clusters.req("Y", 1, 8, SupernodeRule.REQUIRED));
        assertInstanceOf(Decision.NotPlaced.class, SpareLending.placeLent(cardinal, inv, Clusters.req("P", 2, 8, SupernodeRule.PREFERRED)));
        Placement any = Clusters.placed(SpareLending.placeLent(cardinal, inv, Clusters.req("Q", 2, 8, SupernodeRule.ANY)));
        assertEquals(Map.of("sn000", 8, "sn001", 8), SpareLending.spareCardsTaken(inv, any));
    }

    @Test
    void aLentJobIsEvictedWhenAReplacementNeedsItsCards() {
        Inventory inv = oneSupernode(3);
        PlacementRequest a = Clusters.req("A", 2, 8, SupernodeRule.PREFERRED);
        Placement pa = place(inv, cardinal, a); // n000, n001
        PlacementRequest b = Clusters.req("B", 1, 8, SupernodeRule.PREFERRED);
        inv.allocate(new Holder("B", 1), Clusters.placed(SpareLending.placeLent(cardinal, inv, b)), true); // n002
        CardRef lost = new CardRef("sn000-n000", 3);
        inv.setCardHealthy(lost, false);
        // Without lending's eviction the replacement finds no card in the supernode, and no other supernode.
        assertInstanceOf(Decision.NotPlaced.class, cardinal.replace(inv, a, pa, Set.of(lost)));
        SpareLending.Outcome o = SpareLending.replace(cardinal, inv, a, pa, Set.of(lost));
        assertEquals(List.of("B"), o.evicted());
        Placement after = Clusters.placed(o.decision());
        assertEquals(pa.tasks().get(1), after.tasks().get(1), "the unaffected task stays");
        assertEquals("sn000-n002", after.tasks().get(0).nodeId(), "the affected task takes the lent node");
        assertEquals(SpareLending.SAME_SUPERNODE, SpareLending.outcome(inv, a, pa, Set.of(lost), o.decision()));
        assertTrue(o.decision().reason().startsWith("evicted lent job(s) [B]"), o.decision().reason());
        // Applying it: the evicted job goes first, then the replacement takes its cards.
        inv.release("B");
        inv.release("A");
        inv.allocate(new Holder("A", 2), after);
    }

    @Test
    void aReplacementThatKeepsItsSupernodeEvictsNobody() {
        // 2 nodes, 8 spares. A holds 4 cards of n000; B (8 cards) gets n001 as a lent placement (4 of its cards are
        // spares). A loses a card: n000 still has 4 usable cards, so A stays on its node and B keeps running.
        Inventory inv = oneSupernode(2);
        PlacementRequest a = Clusters.req("A", 1, 4, SupernodeRule.PREFERRED);
        Placement pa = place(inv, cardinal, a);
        assertEquals("sn000-n000", pa.tasks().get(0).nodeId());
        PlacementRequest b = Clusters.req("B", 1, 8, SupernodeRule.PREFERRED);
        Placement pb = Clusters.placed(SpareLending.placeLent(cardinal, inv, b));
        assertEquals(Map.of("sn000", 4), SpareLending.spareCardsTaken(inv, pb));
        inv.allocate(new Holder("B", 1), pb, true);
        CardRef lost = new CardRef("sn000-n000", pa.tasks().get(0).cardIndices().get(0));
        inv.setCardHealthy(lost, false);
        SpareLending.Outcome o = SpareLending.replace(cardinal, inv, a, pa, Set.of(lost));
        assertEquals(List.of(), o.evicted());
        assertEquals(cardinal.replace(inv, a, pa, Set.of(lost)), o.decision());
        assertEquals(SpareLending.SAME_NODE, SpareLending.outcome(inv, a, pa, Set.of(lost), o.decision()));
    }

    @Test
    void theFewestLentJobsAreEvictedTheSmallestFirst() {
        // 4 nodes, 8 spares. A takes n000 and n001 (normal, 16 of the 24 cards outside spares). Then C (12 cards,
        // 3 x 4) and D (4 cards) are lent the rest: whatever their layout, a replacement for A's 8-card task needs
        // a whole node, and D alone (4 cards) cannot give one, C alone may, both do.
        Inventory inv = oneSupernode(4);
        PlacementRequest a = Clusters.req("A", 2, 8, SupernodeRule.PREFERRED);
        Placement pa = place(inv, cardinal, a);
        inv.allocate(new Holder("C", 1), new Placement(List.of(new TaskCards(0, "sn000-n002", List.of(0, 1, 2, 3)),
                new TaskCards(1, "sn000-n002", List.of(4, 5, 6, 7)), new TaskCards(2, "sn000-n003", List.of(0, 1, 2, 3)))), true);
        inv.allocate(new Holder("D", 1), new Placement(List.of(new TaskCards(0, "sn000-n003", List.of(4, 5, 6, 7)))), true);
        CardRef lost = new CardRef("sn000-n001", 0);
        inv.setCardHealthy(lost, false);
        SpareLending.Outcome o = SpareLending.replace(cardinal, inv, a, pa, Set.of(lost));
        // D is tried first (fewest cards) and does not suffice; C is added and gives n002; D is then given back.
        assertEquals(List.of("C"), o.evicted());
        assertEquals("sn000-n002", Clusters.placed(o.decision()).tasks().get(1).nodeId());
    }

    @Test
    void withoutLentJobsTheReplacementIsThePolicysOwn() {
        Inventory inv = Clusters.uniform(2, 2, 8, "A", 0);
        PlacementRequest a = Clusters.req("A", 2, 8, SupernodeRule.ANY);
        Placement pa = place(inv, cardinal, a);
        CardRef lost = pa.cards().get(0);
        inv.setCardHealthy(lost, false);
        SpareLending.Outcome o = SpareLending.replace(cardinal, inv, a, pa, Set.of(lost));
        assertEquals(List.of(), o.evicted());
        assertEquals(cardinal.replace(inv, a, pa, Set.of(lost)), o.decision());
    }
}
