package io.cardinal.chaos.checker;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.chaos.history.Http;
import io.cardinal.chaos.history.Op;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The WGL search and the job model on known-good and known-bad histories. */
class WglTest {
    /** A read/write register: op = {"w", v} or {"r", v}; a read must see the last write. */
    record RegOp(String kind, int value) {
    }

    static final Wgl.Model<Integer, RegOp> REGISTER = new Wgl.Model<>() {
        @Override
        public Integer init() {
            return 0;
        }

        @Override
        public Integer step(Integer s, RegOp op) {
            if (op.kind().equals("w")) return op.value();
            return op.value() == s ? s : null;
        }
    };

    static Wgl.Call<RegOp> c(int id, long call, long ret, String kind, int v) {
        return new Wgl.Call<>(id, call, ret, new RegOp(kind, v));
    }

    @Test
    void sequentialRegisterIsLinearizable() {
        List<Wgl.Call<RegOp>> h = List.of(c(0, 0, 10, "w", 1), c(1, 20, 30, "r", 1), c(2, 40, 50, "w", 2), c(3, 60, 70, "r", 2));
        assertEquals(Wgl.Result.LINEARIZABLE, Wgl.check(REGISTER, h, 10_000));
    }

    @Test
    void staleReadAfterWriteCompletedIsNot() {
        List<Wgl.Call<RegOp>> h = List.of(c(0, 0, 10, "w", 1), c(1, 20, 30, "r", 0));
        assertEquals(Wgl.Result.NOT_LINEARIZABLE, Wgl.check(REGISTER, h, 10_000));
    }

    @Test
    void concurrentReadMaySeeEitherValue() {
        List<Wgl.Call<RegOp>> h = List.of(c(0, 0, 100, "w", 1), c(1, 10, 20, "r", 0), c(2, 30, 40, "r", 1));
        assertEquals(Wgl.Result.LINEARIZABLE, Wgl.check(REGISTER, h, 10_000));
    }

    @Test
    void readsGoingBackInTimeAreNot() {
        // Both reads are concurrent with the write, but once a read saw 1 a later read cannot see 0.
        List<Wgl.Call<RegOp>> h = List.of(c(0, 0, 100, "w", 1), c(1, 10, 20, "r", 1), c(2, 30, 40, "r", 0));
        assertEquals(Wgl.Result.NOT_LINEARIZABLE, Wgl.check(REGISTER, h, 10_000));
    }

    @Test
    void unknownOutcomeMayTakeEffectLateOrNever() {
        List<Wgl.Call<RegOp>> never = List.of(c(0, 0, Long.MAX_VALUE, "w", 1), c(1, 10, 20, "r", 0), c(2, 30, 40, "r", 0));
        assertEquals(Wgl.Result.LINEARIZABLE, Wgl.check(REGISTER, never, 10_000));
        List<Wgl.Call<RegOp>> late = List.of(c(0, 0, Long.MAX_VALUE, "w", 1), c(1, 10, 20, "r", 0), c(2, 300, 400, "r", 1));
        assertEquals(Wgl.Result.LINEARIZABLE, Wgl.check(REGISTER, late, 10_000));
        List<Wgl.Call<RegOp>> flipFlop = List.of(c(0, 0, Long.MAX_VALUE, "w", 1), c(1, 10, 20, "r", 1), c(2, 300, 400, "r", 0));
        assertEquals(Wgl.Result.NOT_LINEARIZABLE, Wgl.check(REGISTER, flipFlop, 10_000));
    }

    @Test
    void manyConcurrentWritersFinishWithinBudget() {
        // 12 overlapping writes and reads of a linearizable execution (each takes effect at its midpoint).
        Random rnd = new Random(7);
        List<Wgl.Call<RegOp>> h = new ArrayList<>();
        List<long[]> effects = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            long call = rnd.nextInt(1000);
            long ret = call + 1 + rnd.nextInt(300);
            effects.add(new long[]{(call + ret) / 2, i, call, ret});
        }
        effects.sort((a, b) -> Long.compare(a[0], b[0]));
        int value = 0;
        int id = 0;
        for (long[] e : effects) {
            boolean write = e[1] % 2 == 0;
            if (write) value = (int) e[1] + 1;
            h.add(c(id++, e[2], e[3], write ? "w" : "r", write ? (int) e[1] + 1 : value));
        }
        assertEquals(Wgl.Result.LINEARIZABLE, Wgl.check(REGISTER, h, 5_000_000));
    }

    // ---- the job model over history ops ----------------------------------------------------------------------

    static Op op(long idx, String f, String type, long inv, long comp, String state, int status, boolean duplicate) {
        ObjectNode args = Http.JSON.createObjectNode().put("jobId", "j-1").put("key", "k1");
        ObjectNode result = Http.JSON.createObjectNode().put("status", status).put("jobId", "j-1").put("duplicate", duplicate);
        if (state != null) result.put("state", state);
        return new Op(idx, "c", f, type, "n1", inv, comp, inv, comp, args, result);
    }

    @Test
    void jobHistoryGoodAndBad() {
        List<Op> good = List.of(op(1, "submit", "ok", 0, 10, null, 201, false), op(2, "read", "ok", 20, 30, "PLACED", 200, false),
                op(3, "cancel", "ok", 40, 50, null, 200, false), op(4, "read", "ok", 60, 70, "CANCELLED", 200, false),
                op(5, "cancel", "fail", 80, 90, null, 409, false), op(6, "submit", "ok", 100, 110, null, 200, true));
        assertTrue(LinearizabilityChecker.check(good).valid(), LinearizabilityChecker.check(good).toString());

        List<Op> staleAfterCancel = List.of(op(1, "submit", "ok", 0, 10, null, 201, false), op(3, "cancel", "ok", 40, 50, null, 200, false),
                op(4, "read", "ok", 60, 70, "RUNNING", 200, false));
        CheckResult r = LinearizabilityChecker.check(staleAfterCancel);
        assertFalse(r.valid());
        assertTrue(r.json().path("errors").get(0).asText().contains("j-1"), r.toString());

        List<Op> absentAfterSubmit = List.of(op(1, "submit", "ok", 0, 10, null, 201, false), op(2, "read", "ok", 20, 30, "ABSENT", 404, false));
        assertFalse(LinearizabilityChecker.check(absentAfterSubmit).valid());

        List<Op> cancelUnknown = List.of(op(1, "submit", "ok", 0, 10, null, 201, false), op(3, "cancel", "info", 40, 50, null, 503, false),
                op(4, "read", "ok", 60, 70, "RUNNING", 200, false), op(5, "read", "ok", 80, 90, "CANCELLED", 200, false));
        assertTrue(LinearizabilityChecker.check(cancelUnknown).valid());

        List<Op> resurrected = List.of(op(1, "submit", "ok", 0, 10, null, 201, false), op(3, "cancel", "info", 40, 50, null, 503, false),
                op(4, "read", "ok", 60, 70, "CANCELLED", 200, false), op(5, "read", "ok", 80, 90, "RUNNING", 200, false));
        assertFalse(LinearizabilityChecker.check(resurrected).valid());
    }
}
