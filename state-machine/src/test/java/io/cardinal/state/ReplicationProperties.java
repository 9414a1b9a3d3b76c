package io.cardinal.state;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;

import java.util.List;

/**
 * Random command histories through a Controller, its batches applied on two fresh replicas: same state hash as
 * each other and as the controller's own view after every step, and DESIGN.md's invariants hold throughout (checked
 * independently by {@link InvariantChecker}). The seed of a failing run is printed by jqwik; pin it with
 * {@code @Property(seed = "...")} to replay it.
 */
class ReplicationProperties {

    @Provide
    static Arbitrary<List<int[]>> histories() {
        return Arbitraries.integers().between(0, Sim.GENE_MAX).array(int[].class).ofSize(Sim.GENES)
                .list().ofMinSize(1).ofMaxSize(90);
    }

    @Property(tries = 150, shrinking = ShrinkingMode.BOUNDED)
    void replicasAndControllerAgreeAndInvariantsHold(@ForAll("histories") List<int[]> ops) {
        Sim.run(ops);
    }

    /** The same with spare lending on: lent placements, their marks and evictions replicate and keep the invariants. */
    @Property(tries = 100, shrinking = ShrinkingMode.BOUNDED)
    void withSpareLendingReplicasAndControllerAgreeAndInvariantsHold(@ForAll("histories") List<int[]> ops) {
        Sim.run(ops, true);
    }
}
