package io.cardinal.allocator.bench;

import io.cardinal.allocator.model.CardSpec;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.NodeSpec;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.TaskCards;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** The benchmark cluster: supernodes of 48 nodes x 8 cards, pods of 8 supernodes, filled to an occupancy. */
final class BenchCluster {
    private BenchCluster() {
    }

    static Inventory build(int supernodes, double occupancy, long seed) {
        Inventory inv = new Inventory();
        List<CardSpec> cards = new ArrayList<>();
        for (int i = 0; i < 8; i++) cards.add(new CardSpec(i, "accel", 98_304, true));
        for (int s = 0; s < supernodes; s++) {
            String sn = String.format("sn%04d", s);
            List<String> tiers = List.of(String.format("pod%03d", s / 8));
            for (int n = 0; n < 48; n++) inv.upsertNode(new NodeSpec(sn + "-n" + String.format("%02d", n), sn, tiers, cards));
        }
        // Occupancy as running jobs leave it: most busy nodes whole, some partly used (1..7 cards), the rest free.
        Random rnd = new Random(seed);
        int job = 0;
        for (String node : inv.nodeIds()) {
            double x = rnd.nextDouble();
            int used;
            // 20% of nodes partly used (4 cards on average) give 10% occupancy; whole nodes give the rest.
            double whole = Math.max(0, occupancy - 0.1);
            if (x < whole) used = 8;
            else if (x < whole + 0.2) used = 1 + rnd.nextInt(7);
            else used = 0;
            if (used == 0) continue;
            List<Integer> idx = new ArrayList<>();
            for (int i = 0; i < used; i++) idx.add(i);
            inv.allocate(new Holder("fill-" + job++, 1), new Placement(List.of(new TaskCards(0, node, idx))));
        }
        return inv;
    }
}
