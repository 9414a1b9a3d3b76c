package io.cardinal.chaos.checker;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Wing & Gong linearizability search with Lowe's memoisation (the algorithm of Knossos' "wgl" and Porcupine):
 * walk the history's call/return entries, tentatively linearise a call whose operation the model accepts, and
 * backtrack at a return whose operation is not yet linearised. A state (set of linearised ops, model state) seen
 * before is never explored twice. An operation with an unknown outcome returns at infinity, so it may take effect
 * at any point after its call, or never. The search is bounded by {@code maxSteps}.
 */
public final class Wgl {
    /** A sequential specification: {@code step} returns the next state, or null when the op cannot happen here. */
    public interface Model<S, O> {
        S init();

        S step(S state, O op);
    }

    /** An operation: call and return times (return = Long.MAX_VALUE when the outcome is unknown). */
    public record Call<O>(int id, long callNs, long returnNs, O op) {
    }

    public enum Result { LINEARIZABLE, NOT_LINEARIZABLE, UNKNOWN }

    private static final class Entry<O> {
        final Call<O> call;
        final boolean isCall;
        Entry<O> match;
        Entry<O> prev;
        Entry<O> next;

        Entry(Call<O> call, boolean isCall) {
            this.call = call;
            this.isCall = isCall;
        }
    }

    private record Frame<O, S>(Entry<O> entry, S state) {
    }

    private record Seen<S>(BitSet linearized, S state) {
    }

    private Wgl() {
    }

    public static <S, O> Result check(Model<S, O> model, List<Call<O>> calls, long maxSteps) {
        // Entries in time order; at equal times calls come before returns (touching operations count as concurrent).
        List<Entry<O>> entries = new ArrayList<>();
        for (Call<O> c : calls) {
            Entry<O> a = new Entry<>(c, true);
            Entry<O> b = new Entry<>(c, false);
            a.match = b;
            b.match = a;
            entries.add(a);
            entries.add(b);
        }
        entries.sort(Comparator.comparingLong((Entry<O> e) -> e.isCall ? e.call.callNs() : e.call.returnNs())
                .thenComparing(e -> e.isCall ? 0 : 1));
        Entry<O> head = new Entry<>(null, false);
        Entry<O> prev = head;
        for (Entry<O> e : entries) {
            prev.next = e;
            e.prev = prev;
            prev = e;
        }
        S state = model.init();
        BitSet linearized = new BitSet();
        Set<Seen<S>> cache = new HashSet<>();
        ArrayList<Frame<O, S>> stack = new ArrayList<>();
        Entry<O> entry = head.next;
        long steps = 0;
        while (head.next != null) {
            if (++steps > maxSteps) return Result.UNKNOWN;
            if (entry == null) return Result.NOT_LINEARIZABLE; // cannot happen with a well-formed list
            if (entry.isCall) {
                S next = model.step(state, entry.call.op());
                if (next != null) {
                    BitSet lin = (BitSet) linearized.clone();
                    lin.set(entry.call.id());
                    if (cache.add(new Seen<>(lin, next))) {
                        stack.add(new Frame<>(entry, state));
                        state = next;
                        linearized = lin;
                        lift(entry);
                        entry = head.next;
                        continue;
                    }
                }
                entry = entry.next;
            } else {
                if (stack.isEmpty()) return Result.NOT_LINEARIZABLE;
                Frame<O, S> top = stack.remove(stack.size() - 1);
                state = top.state();
                linearized = (BitSet) linearized.clone();
                linearized.clear(top.entry().call.id());
                unlift(top.entry());
                entry = top.entry().next;
            }
        }
        return Result.LINEARIZABLE;
    }

    private static <O> void lift(Entry<O> e) {
        e.prev.next = e.next;
        if (e.next != null) e.next.prev = e.prev;
        Entry<O> m = e.match;
        m.prev.next = m.next;
        if (m.next != null) m.next.prev = m.prev;
    }

    private static <O> void unlift(Entry<O> e) {
        Entry<O> m = e.match;
        m.prev.next = m;
        if (m.next != null) m.next.prev = m;
        e.prev.next = e;
        if (e.next != null) e.next.prev = e;
    }

    static <T> T requireNonNull(T t) {
        return Objects.requireNonNull(t);
    }
}
