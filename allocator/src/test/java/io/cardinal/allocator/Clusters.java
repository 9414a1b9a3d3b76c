package io.cardinal.allocator;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.CardSpec;
import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.NodeSpec;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.SupernodeRule;
import io.cardinal.allocator.model.TaskCards;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/** Test clusters and placement checks shared by the tests. */
public final class Clusters {
    private Clusters() {
    }

    /** {@code supernodes} supernodes of {@code nodes} nodes of {@code cards} cards of one model, tiers pod-(s / podSize). */
    public static Inventory uniform(int supernodes, int nodes, int cards, String model, int podSize) {
        Inventory inv = new Inventory();
        for (int s = 0; s < supernodes; s++) {
            for (int n = 0; n < nodes; n++) inv.upsertNode(node(String.format("sn%03d", s), String.format("sn%03d-n%03d", s, n),
                    podSize > 0 ? List.of(String.format("pod%02d", s / podSize)) : List.of(), cards, model));
        }
        return inv;
    }

    public static NodeSpec node(String supernode, String nodeId, List<String> tiers, int cards, String model) {
        List<CardSpec> specs = new ArrayList<>();
        for (int i = 0; i < cards; i++) specs.add(new CardSpec(i, model, 65536, true));
        return new NodeSpec(nodeId, supernode, tiers, specs);
    }

    public static PlacementRequest req(String job, int tasks, int cardsPerTask, SupernodeRule rule) {
        return new PlacementRequest(job, "t", 0, tasks, cardsPerTask, Set.of(), rule, 0, 0);
    }

    /** A random cluster: a few supernodes and nodes of mixed sizes and two models, some cards unusable. */
    public static Inventory random(Random rnd) {
        Inventory inv = new Inventory();
        int supernodes = 1 + rnd.nextInt(4);
        for (int s = 0; s < supernodes; s++) {
            int nodes = 1 + rnd.nextInt(4);
            String model = rnd.nextInt(4) == 0 ? "B" : "A";
            List<String> tiers = List.of("pod" + (s % 2));
            for (int n = 0; n < nodes; n++) {
                int cards = 1 + rnd.nextInt(8);
                List<CardSpec> specs = new ArrayList<>();
                for (int i = 0; i < cards; i++) {
                    String m = rnd.nextInt(10) == 0 ? (model.equals("A") ? "B" : "A") : model;
                    specs.add(new CardSpec(i, m, 1024, rnd.nextInt(10) != 0));
                }
                String nodeId = "sn" + s + "-n" + n;
                inv.upsertNode(new NodeSpec(nodeId, "sn" + s, tiers, specs));
                if (rnd.nextInt(12) == 0) inv.setNodeOnline(nodeId, false);
                if (rnd.nextInt(12) == 0) inv.setNodeCordoned(nodeId, true);
            }
            if (rnd.nextInt(3) == 0) inv.setSpareRule("sn" + s, new Inventory.SpareRule(rnd.nextInt(4), rnd.nextInt(3) == 0 ? 10 : 0));
        }
        return inv;
    }

    private static final String[] MODELS = {"A", "B", "C"};

    /**
     * A random cluster state of up to 10 supernodes of up to 12 nodes (1 to 16 cards, models A/B/C, some nodes of
     * mixed models, tiers of depth 0 to 2), filled to a random occupancy and then changed by every kind of mutation
     * (health, online, cordon, release, release + restore, re-registration, spare rules, copy), so that incremental
     * counters are exercised.
     */
    public static Inventory randomState(Random rnd) {
        Inventory inv = new Inventory();
        int supernodes = 1 + rnd.nextInt(10);
        int tierStyle = rnd.nextInt(4);
        List<String> nodeIds = new ArrayList<>();
        for (int s = 0; s < supernodes; s++) {
            String sn = "sn" + s;
            List<String> tiers = switch (tierStyle) {
                case 0 -> List.of();
                case 1 -> List.of("pod" + (s % 3));
                case 2 -> List.of("zone" + (s % 2), "pod" + (s % 4));
                // One path spelled at two depths ("z/p1" and "z", "p1"): domains merge across depths.
                default -> s % 2 == 0 ? List.of("z/p" + (s % 3)) : List.of("z", "p" + (s % 3));
            };
            int nodes = 1 + rnd.nextInt(12);
            int cardsPerNode = rnd.nextInt(3) == 0 ? 1 + rnd.nextInt(16) : 8;
            String model = MODELS[rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(2) : 0];
            for (int n = 0; n < nodes; n++) {
                String nodeId = sn + "-n" + (n < 10 ? "0" : "") + n;
                inv.upsertNode(randomStateNode(rnd, nodeId, sn, tiers, rnd.nextInt(5) == 0 ? 1 + rnd.nextInt(16) : cardsPerNode, model));
                nodeIds.add(nodeId);
            }
            if (rnd.nextInt(3) == 0) inv.setSpareRule(sn, new Inventory.SpareRule(rnd.nextInt(10), rnd.nextInt(3) == 0 ? 5 + rnd.nextInt(20) : 0));
        }
        // Fill: random jobs on random nodes, then mutations in random order.
        double occupancy = rnd.nextDouble();
        int job = 0;
        for (String nodeId : nodeIds) {
            if (rnd.nextDouble() >= occupancy) continue;
            List<Integer> idx = new ArrayList<>();
            for (int i = 0; i < inv.cardCount(nodeId); i++) {
                if (inv.usable(new CardRef(nodeId, i)) && rnd.nextInt(4) != 0) idx.add(i);
            }
            if (idx.isEmpty()) continue;
            inv.allocate(new Holder("fill-" + job++, 1), new Placement(List.of(new TaskCards(0, nodeId, idx))));
        }
        int mutations = rnd.nextInt(40);
        for (int m = 0; m < mutations; m++) {
            String nodeId = nodeIds.get(rnd.nextInt(nodeIds.size()));
            switch (rnd.nextInt(9)) {
                case 0 -> inv.setNodeOnline(nodeId, rnd.nextInt(3) != 0);
                case 1 -> inv.setNodeCordoned(nodeId, rnd.nextInt(3) == 0);
                case 2, 3 -> inv.setCardHealthy(new CardRef(nodeId, rnd.nextInt(inv.cardCount(nodeId))), rnd.nextInt(3) != 0);
                case 4 -> {
                    List<String> holding = inv.holdingJobs();
                    if (!holding.isEmpty()) inv.release(holding.get(rnd.nextInt(holding.size())));
                }
                case 5 -> {
                    // Release and restore (the scheduler's speculative undo), possibly with a card gone bad meanwhile.
                    List<String> holding = inv.holdingJobs();
                    if (holding.isEmpty()) break;
                    String j = holding.get(rnd.nextInt(holding.size()));
                    List<CardRef> cards = inv.release(j);
                    if (rnd.nextBoolean()) inv.setCardHealthy(cards.get(0), false);
                    inv.restore(new Holder(j, 2), cards);
                }
                case 6 -> {
                    // Re-register a node that holds nothing: new models, card count, maybe another supernode.
                    boolean holds = false;
                    for (int i = 0; i < inv.cardCount(nodeId); i++) holds |= inv.holder(new CardRef(nodeId, i)) != null;
                    if (holds) break;
                    Inventory.NodeView view = inv.nodeView(nodeId);
                    String sn = rnd.nextInt(4) == 0 ? "sn" + rnd.nextInt(supernodes) : view.supernodeId();
                    inv.upsertNode(randomStateNode(rnd, nodeId, sn, view.tiers(), 1 + rnd.nextInt(16), MODELS[rnd.nextInt(3)]));
                }
                case 7 -> inv = inv.copy();
                default -> inv.setSpareRule("sn" + rnd.nextInt(supernodes), new Inventory.SpareRule(rnd.nextInt(12), 0));
            }
        }
        return inv;
    }

    private static NodeSpec randomStateNode(Random rnd, String nodeId, String sn, List<String> tiers, int cards, String model) {
        boolean mixed = rnd.nextInt(8) == 0;
        List<CardSpec> specs = new ArrayList<>();
        for (int i = 0; i < cards; i++) {
            String m = mixed && rnd.nextBoolean() ? MODELS[rnd.nextInt(3)] : model;
            specs.add(new CardSpec(i, m, 1024, rnd.nextInt(12) != 0));
        }
        return new NodeSpec(nodeId, sn, tiers, specs);
    }

    /** A random gang request for {@link #randomState}: 1 to 40 tasks of 1 to 16 cards, any rule, models, a cap. */
    public static PlacementRequest randomGangRequest(Random rnd, String job) {
        SupernodeRule rule = SupernodeRule.values()[rnd.nextInt(3)];
        Set<String> models = switch (rnd.nextInt(6)) {
            case 0 -> Set.of("A");
            case 1 -> Set.of("B");
            case 2 -> Set.of("A", "C");
            default -> Set.of();
        };
        int cardsPerTask = rnd.nextInt(3) == 0 ? 1 + rnd.nextInt(16) : 8;
        int tasks = rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(40) : 1 + rnd.nextInt(6);
        return new PlacementRequest(job, "t", 0, tasks, cardsPerTask, models, rule, rnd.nextInt(3) == 0 ? rnd.nextInt(4) : 0, 0);
    }

    public static PlacementRequest randomRequest(Random rnd, String job) {
        SupernodeRule rule = SupernodeRule.values()[rnd.nextInt(3)];
        Set<String> models = switch (rnd.nextInt(4)) {
            case 0 -> Set.of("A");
            case 1 -> Set.of("B");
            default -> Set.of();
        };
        return new PlacementRequest(job, "t" + rnd.nextInt(3), rnd.nextInt(3), 1 + rnd.nextInt(5), 1 + rnd.nextInt(4), models, rule,
                rnd.nextInt(3), rnd.nextInt(1000));
    }

    /**
     * The checks every normal placement must pass; returns null when fine, else what broke. {@code spares}: may the
     * placement take spare cards (replacements). {@code jobId}: cards held by this job count as usable.
     */
    public static String check(Inventory inv, PlacementRequest req, Placement p, boolean spares) {
        if (p.tasks().size() != req.tasks()) return "placed " + p.tasks().size() + " of " + req.tasks() + " tasks";
        Set<CardRef> seen = new HashSet<>();
        Map<String, Integer> takenPerSupernode = new HashMap<>();
        Set<String> supernodes = new HashSet<>();
        for (TaskCards t : p.tasks()) {
            if (t.cardIndices().size() != req.cardsPerTask()) return "task " + t.task() + " has " + t.cardIndices().size() + " cards";
            String sn = inv.nodeView(t.nodeId()).supernodeId();
            supernodes.add(sn);
            for (int i : t.cardIndices()) {
                CardRef c = new CardRef(t.nodeId(), i);
                if (!seen.add(c)) return "card " + c + " twice";
                var h = inv.holder(c);
                boolean ours = h != null && h.jobId().equals(req.jobId());
                if (!ours && !inv.usable(c)) return "card " + c + " not usable: " + inv.status(c);
                if (ours && !inv.keepableFor(c, req.jobId())) return "kept card " + c + " not healthy/available";
                if (!req.acceptsModel(inv.model(c))) return "card " + c + " has model " + inv.model(c);
                if (!ours) takenPerSupernode.merge(sn, 1, Integer::sum);
            }
        }
        if (req.rule() == SupernodeRule.REQUIRED && supernodes.size() > 1) return "REQUIRED job spans " + supernodes;
        if (req.maxSupernodes() > 0 && supernodes.size() > req.maxSupernodes()) return "spans " + supernodes.size() + " > cap";
        if (!spares) {
            for (var e : takenPerSupernode.entrySet()) {
                // Lent jobs' cards stand in for spares (an eviction gives them back): only the rest must stay free.
                int free = inv.usableCardCount(e.getKey()) - inv.freeSpareCount(e.getKey());
                if (e.getValue() > free) return "took " + e.getValue() + " cards of " + e.getKey() + ", only " + free + " outside spares";
            }
        }
        return null;
    }

    public static Placement placed(Decision d) {
        if (d instanceof Decision.Placed p) return p.placement();
        throw new AssertionError("not placed: " + d.reason());
    }
}
