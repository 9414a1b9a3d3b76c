package io.cardinal.allocator.policy;

import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.TaskCards;

import java.util.ArrayList;
import java.util.List;

/**
 * What one request can use, read from the inventory at the start of a policy call: per supernode the card budget
 * (usable minus spares, unless spares may be used), the histogram of its nodes by usable cards of an accepted
 * model, and the number of tasks it can hold; per node the usable cards of an accepted model, read only for the
 * supernodes a policy asks about ({@link #usable(int)}). Policies decide on these arrays and only touch the
 * inventory again to name the chosen card indices. Cost: O(supernodes x card-count buckets) from the inventory's
 * histograms; node reads only for supernodes with nodes of mixed models under a model filter, and those asked for.
 */
final class View {
    final Inventory inv;
    final PlacementRequest req;
    final int cardsPerTask;
    final int tasks;
    final int supernodes;
    /** usable[s][k]: usable cards of an accepted model on node k of supernode s; null until {@link #usable(int)} reads it. */
    private final int[][] usable;
    /** Buckets per supernode histogram: the most cards of any node + 1. */
    final int histWidth;
    /**
     * hist[s * histWidth + x]: nodes of supernode s with x usable cards of an accepted model, all zero where the
     * budget cannot take a task (as {@link #usable(int)} reads zero there). As read at construction: {@link #take}
     * does not update it.
     */
    final int[] hist;
    /** Usable cards of supernode s that placement may take (any model), spares excluded unless allowed. */
    final int[] budgetCards;
    /** Tasks of this request supernode s can hold. */
    final int[] capacityTasks;
    final int nodeCardsMax;
    private final boolean useSpares;

    View(Inventory inv, PlacementRequest req, boolean useSpares) {
        this.inv = inv;
        this.req = req;
        this.useSpares = useSpares;
        this.cardsPerTask = req.cardsPerTask();
        this.tasks = req.tasks();
        this.supernodes = inv.supernodeCount();
        this.usable = new int[supernodes][];
        this.budgetCards = new int[supernodes];
        this.capacityTasks = new int[supernodes];
        this.nodeCardsMax = inv.nodeCardsMax();
        this.histWidth = nodeCardsMax + 1;
        this.hist = new int[supernodes * histWidth];
        for (int s = 0; s < supernodes; s++) {
            int budget = inv.usableCardsAt(s) - (useSpares ? 0 : inv.freeSpareCountAt(s));
            budgetCards[s] = Math.max(0, budget);
            if (budget < cardsPerTask) continue; // nothing can be taken here anyway
            int base = s * histWidth;
            if (!inv.usableHistogramAt(s, req.cardModels(), hist, base)) {
                for (int x : usable(s)) hist[base + x]++;
            }
            long cap = 0;
            for (int x = cardsPerTask; x < histWidth; x++) cap += (long) hist[base + x] * (x / cardsPerTask);
            capacityTasks[s] = (int) Math.min(cap, budgetCards[s] / cardsPerTask);
        }
    }

    /**
     * Usable cards of an accepted model per node of supernode s (zero where the budget cannot take a task), read on
     * first use; {@link #take} updates it.
     */
    int[] usable(int s) {
        int[] u = usable[s];
        if (u != null) return u;
        int nodeCount = inv.nodeCountAt(s);
        u = new int[nodeCount];
        int budget = inv.usableCardsAt(s) - (useSpares ? 0 : inv.freeSpareCountAt(s));
        if (budget >= cardsPerTask) {
            for (int k = 0; k < nodeCount; k++) u[k] = inv.nodeUsableAt(s, k, req.cardModels());
        }
        usable[s] = u;
        return u;
    }

    int capacityTotal() {
        long total = 0;
        for (int s = 0; s < supernodes; s++) total += capacityTasks[s];
        return (int) Math.min(Integer.MAX_VALUE, total);
    }

    int cap() {
        return req.maxSupernodes() == 0 ? Integer.MAX_VALUE : req.maxSupernodes();
    }

    /** A choice of tasks on nodes: m tasks on node k of supernode s, in order. */
    static final class Plan {
        final List<int[]> takes = new ArrayList<>();
        int tasks;

        void add(int s, int k, int m) {
            if (m <= 0) return;
            takes.add(new int[] {s, k, m});
            tasks += m;
        }

        int supernodesUsed() {
            java.util.BitSet used = new java.util.BitSet();
            for (int[] t : takes) used.set(t[0]);
            return used.cardinality();
        }
    }

    /**
     * Takes up to {@code want} tasks from supernode s, visiting nodes in {@code nodeOrder}, within its budget.
     * Updates the view's arrays so later takes see the cards as gone. Returns the tasks taken.
     */
    int take(Plan plan, int s, int[] nodeOrder, int want) {
        int taken = 0;
        int c = cardsPerTask;
        for (int k : nodeOrder) {
            if (taken == want) break;
            int m = Math.min(Math.min(usable(s)[k] / c, want - taken), budgetCards[s] / c);
            if (m <= 0) continue;
            plan.add(s, k, m);
            consume(s, k, m);
            taken += m;
        }
        return taken;
    }

    void consume(int s, int k, int m) {
        int cards = m * cardsPerTask;
        usable(s)[k] -= cards;
        budgetCards[s] -= cards;
        capacityTasks[s] = Math.min(capacityTasks[s] - m, budgetCards[s] / cardsPerTask);
        if (capacityTasks[s] < 0) capacityTasks[s] = 0;
    }

    /** Turns a plan into task cards, ranks in plan order. */
    List<TaskCards> materialize(Plan plan) {
        List<TaskCards> out = new ArrayList<>(plan.tasks);
        int c = cardsPerTask;
        for (int[] t : plan.takes) {
            List<Integer> idx = inv.nodeUsableIndicesAt(t[0], t[1], req.cardModels(), t[2] * c);
            if (idx.size() < t[2] * c) {
                throw new IllegalStateException("plan names " + t[2] * c + " cards on " + inv.nodeIdAt(t[0], t[1])
                        + " but only " + idx.size() + " are usable");
            }
            String nodeId = inv.nodeIdAt(t[0], t[1]);
            for (int j = 0; j < t[2]; j++) out.add(new TaskCards(out.size(), nodeId, idx.subList(j * c, (j + 1) * c)));
        }
        return out;
    }

    /** Node indices of supernode s in id order. */
    int[] idOrder(int s) {
        int[] order = new int[inv.nodeCountAt(s)];
        for (int k = 0; k < order.length; k++) order[k] = k;
        return order;
    }

    /** Node indices of supernode s that can hold a task, fewest usable cards first (best fit), then id order. */
    int[] bestFitOrder(int s) {
        int[] u = usable(s);
        int n = 0;
        for (int x : u) if (x >= cardsPerTask) n++;
        long[] keys = new long[n];
        int i = 0;
        for (int k = 0; k < u.length; k++) if (u[k] >= cardsPerTask) keys[i++] = ((long) u[k] << 32) | k;
        java.util.Arrays.sort(keys);
        int[] order = new int[n];
        for (int j = 0; j < n; j++) order[j] = (int) keys[j];
        return order;
    }

    /** Supernode indices sorted by a key (ascending), ties by index. */
    static int[] sortBy(int count, java.util.function.IntToLongFunction key) {
        long[] keys = new long[count];
        long min = Long.MAX_VALUE;
        long max = Long.MIN_VALUE;
        for (int i = 0; i < count; i++) {
            keys[i] = key.applyAsLong(i);
            min = Math.min(min, keys[i]);
            max = Math.max(max, keys[i]);
        }
        int[] out = new int[count];
        if (count > 0 && min >= Integer.MIN_VALUE && max <= Integer.MAX_VALUE) {
            // (key - min) < 2^32 and i < 2^31 pack into one non-negative long: a primitive sort, no boxing.
            for (int i = 0; i < count; i++) keys[i] = ((keys[i] - min) << 31) | i;
            java.util.Arrays.sort(keys);
            for (int i = 0; i < count; i++) out[i] = (int) (keys[i] & 0x7FFFFFFFL);
            return out;
        }
        Integer[] idx = new Integer[count];
        for (int i = 0; i < count; i++) idx[i] = i;
        java.util.Arrays.sort(idx, (a, b) -> {
            int c = Long.compare(keys[a], keys[b]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        for (int i = 0; i < count; i++) out[i] = idx[i];
        return out;
    }

    /** Why nothing fits, for a NotPlaced reason; checks the request against the whole cluster first. */
    String whyNot(String what) {
        String invalid = Validation.check(inv, req);
        if (invalid != null) return invalid;
        return what;
    }
}
