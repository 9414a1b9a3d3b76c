package io.cardinal.allocator.bench;

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
import io.cardinal.allocator.policy.CardinalPolicy;
import io.cardinal.allocator.policy.PlacementPolicy;
import io.cardinal.allocator.policy.Policies;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Prints every decision of every policy over many seeded random cluster states, and a SHA-256 of them all, so a
 * performance change can be checked for "same decisions" by running it on the classes before and after and
 * comparing the output (see docs/benchmarks.md, "Allocator (issue 3)"). Uses only the public allocator API.
 *
 * <p>Usage: {@code DecisionDump STATES FIRST_SEED [OUT_FILE]}; prints {@code decisions=N sha256=H}.
 */
public final class DecisionDump {
    private static final String[] MODELS = {"A", "B", "C"};

    public static void main(String[] args) throws IOException, NoSuchAlgorithmException {
        if (args.length < 2) {
            System.err.println("usage: DecisionDump STATES FIRST_SEED [OUT_FILE]");
            System.exit(1);
        }
        int states = Integer.parseInt(args[0]);
        long firstSeed = Long.parseLong(args[1]);
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        long count = 0;
        try (PrintWriter out = args.length > 2 ? new PrintWriter(Files.newBufferedWriter(Path.of(args[2]), StandardCharsets.UTF_8)) : null) {
            List<PlacementPolicy> policies = new ArrayList<>();
            for (String name : Policies.NAMES) policies.add(Policies.byName(name));
            policies.add(new CardinalPolicy(2, 4));
            policies.add(new CardinalPolicy(1, 1, false));
            policies.add(new CardinalPolicy(3, 8, true));
            for (long seed = firstSeed; seed < firstSeed + states; seed++) {
                Random rnd = new Random(seed);
                Inventory inv = randomState(rnd);
                List<String> lines = decisions(inv, policies, rnd, seed);
                for (String line : lines) {
                    sha.update(line.getBytes(StandardCharsets.UTF_8));
                    sha.update((byte) '\n');
                    if (out != null) out.println(line);
                    count++;
                }
            }
        }
        System.out.println("decisions=" + count + " sha256=" + HexFormat.of().formatHex(sha.digest()));
    }

    /** A random cluster state built through every kind of mutation (and a copy), so incremental counters are exercised. */
    static Inventory randomState(Random rnd) {
        Inventory inv = new Inventory();
        int supernodes = 1 + rnd.nextInt(10);
        int tierStyle = rnd.nextInt(3);
        List<String> nodeIds = new ArrayList<>();
        for (int s = 0; s < supernodes; s++) {
            String sn = "sn" + s;
            List<String> tiers = switch (tierStyle) {
                case 0 -> List.of();
                case 1 -> List.of("pod" + (s % 3));
                default -> List.of("zone" + (s % 2), "pod" + (s % 4));
            };
            int nodes = 1 + rnd.nextInt(12);
            int cardsPerNode = rnd.nextInt(3) == 0 ? 1 + rnd.nextInt(16) : 8;
            String model = MODELS[rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(2) : 0];
            for (int n = 0; n < nodes; n++) {
                String nodeId = sn + "-n" + (n < 10 ? "0" : "") + n;
                inv.upsertNode(randomNode(rnd, nodeId, sn, tiers, rnd.nextInt(5) == 0 ? 1 + rnd.nextInt(16) : cardsPerNode, model));
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
                    inv.upsertNode(randomNode(rnd, nodeId, sn, view.tiers(), 1 + rnd.nextInt(16), MODELS[rnd.nextInt(3)]));
                }
                case 7 -> inv = inv.copy();
                default -> inv.setSpareRule("sn" + rnd.nextInt(supernodes), new Inventory.SpareRule(rnd.nextInt(12), 0));
            }
        }
        return inv;
    }

    private static NodeSpec randomNode(Random rnd, String nodeId, String sn, List<String> tiers, int cards, String model) {
        boolean mixed = rnd.nextInt(8) == 0;
        List<CardSpec> specs = new ArrayList<>();
        for (int i = 0; i < cards; i++) {
            String m = mixed && rnd.nextBoolean() ? MODELS[rnd.nextInt(3)] : model;
            specs.add(new CardSpec(i, m, 1024, rnd.nextInt(12) != 0));
        }
        return new NodeSpec(nodeId, sn, tiers, specs);
    }

    private static List<String> decisions(Inventory inv, List<PlacementPolicy> policies, Random rnd, long seed) {
        List<String> out = new ArrayList<>();
        List<PlacementRequest> requests = new ArrayList<>();
        for (int r = 0; r < 12; r++) requests.add(randomRequest(rnd, "req" + r));
        for (int p = 0; p < policies.size(); p++) {
            PlacementPolicy policy = policies.get(p);
            String tag = seed + " " + p + ":" + policy.name();
            for (PlacementRequest req : requests) {
                out.add(tag + " place " + show(req) + " -> " + policy.place(inv, req));
                out.add(tag + " placeWithSpares " + show(req) + " -> " + policy.placeWithSpares(inv, req));
            }
            // Replacement: a job placed on a copy loses one card (or a node).
            for (PlacementRequest req : requests.subList(0, 4)) {
                Inventory work = inv.copy();
                Decision d = policy.place(work, req);
                if (!(d instanceof Decision.Placed placed)) continue;
                work.allocate(new Holder(req.jobId(), 1), placed.placement());
                List<CardRef> cards = placed.placement().cards();
                CardRef failed = cards.get(rnd.nextInt(cards.size()));
                if (rnd.nextInt(4) == 0) work.setNodeOnline(failed.nodeId(), false);
                else work.setCardHealthy(failed, false);
                out.add(tag + " replace " + show(req) + " lost " + failed + " -> " + policy.replace(work, req, placed.placement(), Set.of(failed)));
            }
        }
        return out;
    }

    /** The request with its models sorted (a Set.of iterates in an order that changes from run to run). */
    private static String show(PlacementRequest r) {
        return r.jobId() + " " + r.tasks() + "x" + r.cardsPerTask() + " " + new java.util.TreeSet<>(r.cardModels()) + " " + r.rule()
                + " cap " + r.maxSupernodes();
    }

    private static PlacementRequest randomRequest(Random rnd, String job) {
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
}
