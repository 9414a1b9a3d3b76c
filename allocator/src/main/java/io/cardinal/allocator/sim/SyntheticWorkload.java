package io.cardinal.allocator.sim;

import io.cardinal.allocator.model.CardSpec;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.NodeSpec;
import io.cardinal.allocator.model.SupernodeRule;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * A large-model training mix, generated from a seed (java.util.Random, so the same seed gives the same workload).
 *
 * <p>Cluster: {@code 1 - smallShare} of the cards in supernodes of {@code supernodeCards} (CloudMatrix-384 like), the
 * rest in supernodes of {@code smallSupernodeCards} (NVL72 like); every node has 8 cards (a 72-card supernode is 9
 * nodes). Supernodes are grouped 4 to a pod tier.
 *
 * <p>Job sizes in cards, with weights (share of jobs): 8: 30%, 16: 15%, 32: 15%, 64: 12%, 128: 10%, 256: 8%,
 * 512: 5%, 1024: 3%, 2048: 1.5%, 4096: 0.5% (sizes above half the cluster are dropped and the rest renormalised).
 * Most jobs are small while most card-hours go to large jobs, as in published training-cluster traces (Philly,
 * Acme/Kalos). Tasks are 8-card nodes. Run time is log-normal with median 1.5 h x (cards/8)^0.25 and sigma 1,
 * clipped to [5 min, 7 days]. Jobs up to one large supernode are PREFERRED (20% REQUIRED), larger ones ANY.
 * A share of jobs (default none) has priority 1 and may preempt, the rest 0; four tenants, no quotas. Arrivals are Poisson at a rate giving the
 * asked offered load (card-time demanded per unit of time / cards).
 *
 * <p>Failures: Llama 3 405B training saw 419 unexpected interruptions in 54 days on 16,384 GPUs, about 58% of them
 * GPU or HBM faults (Dubey et al., "The Llama 3 Herd of Models", 2024). That is 4.74e-4 interruptions per card per
 * day. Failures arrive as a Poisson process at that rate per card on uniformly chosen cards; 58% are permanent
 * (the card is unhealthy until repaired, {@link #REPAIR_MILLIS}), the rest transient (the job restarts on the same
 * cards).
 */
public final class SyntheticWorkload {
    static final int[] SIZES = {8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
    static final double[] WEIGHTS = {30, 15, 15, 12, 10, 8, 5, 3, 1.5, 0.5};
    public static final double INTERRUPTIONS_PER_CARD_DAY = 419.0 / (54.0 * 16_384.0);
    public static final double PERMANENT_SHARE = 0.58;
    public static final long REPAIR_MILLIS = 24L * 3600 * 1000;
    private static final long MINUTE = 60_000;
    private static final long HOUR = 60 * MINUTE;
    private static final long DAY = 24 * HOUR;

    public record Params(long seed, int cards, int supernodeCards, int smallSupernodeCards, double smallShare, int jobs,
                         double load, boolean failures, double highPriorityShare) {
        public Params {
            if (cards < 8) throw new IllegalArgumentException("--cards must be >= 8, got " + cards);
            if (cards > 2_000_000) throw new IllegalArgumentException("--cards must be <= 2,000,000, got " + cards);
            if (supernodeCards < 8 || supernodeCards % 8 != 0) throw new IllegalArgumentException("--supernode-size must be a multiple of 8 (8-card nodes), got " + supernodeCards);
            if (smallSupernodeCards < 8 || smallSupernodeCards % 8 != 0) throw new IllegalArgumentException("--small-supernode-size must be a multiple of 8, got " + smallSupernodeCards);
            if (!(smallShare >= 0 && smallShare <= 1)) throw new IllegalArgumentException("--small-share must be in 0..1");
            if (jobs < 1 || jobs > 1_000_000) throw new IllegalArgumentException("--jobs must be in 1..1,000,000, got " + jobs);
            if (!(load > 0 && load <= 100)) throw new IllegalArgumentException("--load must be in (0, 100]");
        }
    }

    private SyntheticWorkload() {
    }

    public static Workload generate(Params p) {
        Random rnd = new Random(p.seed());
        Inventory inv = cluster(p);
        int cards = inv.totalCards();
        // sizes that fit: at most half the cluster
        double total = 0;
        for (int i = 0; i < SIZES.length; i++) if (SIZES[i] <= Math.max(8, cards / 2)) total += WEIGHTS[i];
        List<SimJob> raw = new ArrayList<>();
        double cardMillis = 0;
        for (int j = 0; j < p.jobs(); j++) {
            double x = rnd.nextDouble() * total;
            int size = 8;
            for (int i = 0; i < SIZES.length; i++) {
                if (SIZES[i] > Math.max(8, cards / 2)) continue;
                x -= WEIGHTS[i];
                size = SIZES[i];
                if (x < 0) break;
            }
            double medianMillis = 1.5 * HOUR * Math.pow(size / 8.0, 0.25);
            long duration = (long) (medianMillis * Math.exp(rnd.nextGaussian()));
            duration = Math.max(5 * MINUTE, Math.min(7 * DAY, duration));
            SupernodeRule rule = size <= p.supernodeCards() ? (rnd.nextDouble() < 0.2 ? SupernodeRule.REQUIRED : SupernodeRule.PREFERRED) : SupernodeRule.ANY;
            int priority = rnd.nextDouble() < p.highPriorityShare() ? 1 : 0;
            String tenant = "t" + rnd.nextInt(4);
            raw.add(new SimJob(String.format("j%06d", j), 0, duration, size / 8, 8, Set.of(), priority, tenant, rule, 0));
            cardMillis += (double) size * duration;
        }
        double meanGapMillis = cardMillis / p.jobs() / (p.load() * cards);
        List<SimJob> jobs = new ArrayList<>(raw.size());
        double t = 0;
        for (SimJob j : raw) {
            jobs.add(j.withSubmit((long) t));
            t += -Math.log(1 - rnd.nextDouble()) * meanGapMillis;
        }
        long horizon = (long) t + (long) (2 * cardMillis / cards) + 7 * DAY;
        List<Workload.Failure> failures = p.failures() ? failures(inv, p.seed() ^ 0x5DEECE66DL, horizon) : List.of();
        List<String> notes = List.of(String.format("synthetic seed %d: %d cards, %d supernodes, %d jobs, offered load %.2f, %d failures generated",
                p.seed(), cards, inv.supernodeCount(), jobs.size(), p.load(), failures.size()));
        return new Workload("synthetic", inv, jobs, failures, 8, 128, notes);
    }

    static Inventory cluster(Params p) {
        Inventory inv = new Inventory();
        int smallCards = (int) Math.round(p.cards() * p.smallShare());
        int bigSupernodes = (p.cards() - smallCards) / p.supernodeCards();
        int smallSupernodes = (p.cards() - bigSupernodes * p.supernodeCards()) / p.smallSupernodeCards();
        if (bigSupernodes == 0 && smallSupernodes == 0) smallSupernodes = 1;
        int sn = 0;
        for (int s = 0; s < bigSupernodes; s++, sn++) addSupernode(inv, sn, p.supernodeCards(), "pod" + String.format("%03d", s / 4));
        for (int s = 0; s < smallSupernodes; s++, sn++) addSupernode(inv, sn, p.smallSupernodeCards(), "pod" + String.format("s%03d", s / 4));
        return inv;
    }

    private static void addSupernode(Inventory inv, int sn, int cards, String pod) {
        String snId = String.format("sn%04d", sn);
        for (int n = 0; n < cards / 8; n++) {
            List<CardSpec> specs = new ArrayList<>(8);
            for (int i = 0; i < 8; i++) specs.add(new CardSpec(i, "accel", 96 * 1024, true));
            inv.upsertNode(new NodeSpec(snId + "-n" + String.format("%02d", n), snId, List.of(pod), specs));
        }
    }

    /** Card failures at the Llama 3 rate over [0, horizon), uniformly over cards, 58% permanent. */
    public static List<Workload.Failure> failures(Inventory inv, long seed, long horizonMillis) {
        Random rnd = new Random(seed);
        List<String> nodes = inv.nodeIds();
        int cards = inv.totalCards();
        int[] cumulative = new int[nodes.size()]; // cards before and including node i: failures are uniform per card
        int acc = 0;
        for (int i = 0; i < nodes.size(); i++) {
            acc += inv.cardCount(nodes.get(i));
            cumulative[i] = acc;
        }
        double perMillis = INTERRUPTIONS_PER_CARD_DAY * cards / DAY;
        List<Workload.Failure> out = new ArrayList<>();
        double t = 0;
        int limit = 1_000_000;
        while (out.size() < limit) {
            t += -Math.log(1 - rnd.nextDouble()) / perMillis;
            if (t >= horizonMillis) break;
            int global = rnd.nextInt(cards);
            int i = java.util.Arrays.binarySearch(cumulative, global + 1);
            if (i < 0) i = -i - 1;
            String node = nodes.get(i);
            int card = global - (cumulative[i] - inv.cardCount(node));
            out.add(new Workload.Failure((long) t, node, card, rnd.nextDouble() < PERMANENT_SHARE));
        }
        return out;
    }
}
