package io.cardinal.allocator.bench;

import io.cardinal.allocator.Clusters;
import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Decision;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;
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
                Inventory inv = Clusters.randomState(rnd);
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

    private static List<String> decisions(Inventory inv, List<PlacementPolicy> policies, Random rnd, long seed) {
        List<String> out = new ArrayList<>();
        List<PlacementRequest> requests = new ArrayList<>();
        for (int r = 0; r < 12; r++) requests.add(Clusters.randomGangRequest(rnd, "req" + r));
        for (int p = 0; p < policies.size(); p++) {
            PlacementPolicy policy = policies.get(p);
            String tag = seed + " " + p + ":" + policy.name();
            for (PlacementRequest req : requests) {
                out.add(tag + " place " + show(req) + " -> " + policy.place(inv, req));
                out.add(tag + " placeWithSpares " + show(req) + " -> " + policy.placeWithSpares(inv, req));
                out.add(tag + " placeSpread " + show(req) + " -> " + policy.placeSpread(inv, req));
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
}
