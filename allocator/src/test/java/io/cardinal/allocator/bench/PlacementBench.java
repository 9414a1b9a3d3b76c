package io.cardinal.allocator.bench;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.SupernodeRule;
import io.cardinal.allocator.policy.CardinalPolicy;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Cardinal placement on 260 supernodes of 384 cards (99,840 cards) at 70% occupancy: a 64-card gang (8 x 8), a
 * 4,096-card gang (512 x 8) and the replacement of one lost card of a running 64-card job. Sample time, so JMH
 * reports p50/p99. Run: see docs/benchmarks.md.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class PlacementBench {
    private final CardinalPolicy policy = new CardinalPolicy(1, 8);
    private Inventory inventory;
    private PlacementRequest gang64;
    private PlacementRequest gang4096;
    private PlacementRequest running64;
    private Placement runningPlacement;
    private Set<CardRef> lost;

    @Setup
    public void setup() {
        inventory = BenchCluster.build(260, 0.70, 42);
        gang64 = new PlacementRequest("g64", "t", 0, 8, 8, Set.of(), SupernodeRule.PREFERRED, 0, 1);
        gang4096 = new PlacementRequest("g4096", "t", 0, 512, 8, Set.of(), SupernodeRule.ANY, 0, 2);
        running64 = new PlacementRequest("r64", "t", 0, 8, 8, Set.of(), SupernodeRule.PREFERRED, 0, 0);
        Decision d = policy.place(inventory, running64);
        if (!(d instanceof Decision.Placed p)) throw new IllegalStateException("setup: " + d.reason());
        runningPlacement = p.placement();
        inventory.allocate(new Holder("r64", 1), runningPlacement);
        CardRef failed = runningPlacement.cards().get(13);
        inventory.setCardHealthy(failed, false);
        lost = Set.of(failed);
        for (PlacementRequest r : new PlacementRequest[] {gang64, gang4096}) {
            Decision x = policy.place(inventory, r);
            if (!(x instanceof Decision.Placed)) throw new IllegalStateException("setup: " + r.jobId() + " " + x.reason());
        }
        Decision r = policy.replace(inventory, running64, runningPlacement, lost);
        if (!(r instanceof Decision.Placed)) throw new IllegalStateException("setup: replace " + r.reason());
    }

    @Benchmark
    public Decision place64Cards() {
        return policy.place(inventory, gang64);
    }

    @Benchmark
    public Decision place4096Cards() {
        return policy.place(inventory, gang4096);
    }

    @Benchmark
    public Decision replaceOneCard() {
        return policy.replace(inventory, running64, runningPlacement, lost);
    }
}
