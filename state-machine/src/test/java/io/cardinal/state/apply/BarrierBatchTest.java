package io.cardinal.state.apply;

import io.cardinal.protocol.v1.EventBatch;
import io.cardinal.state.ClusterState;
import io.cardinal.state.Fixtures;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A batch with no events is a read barrier: it moves the applied index and nothing else, whatever its term. */
class BarrierBatchTest {
    @Test
    void anEmptyBatchChangesNothingButTheAppliedIndex() {
        ClusterState s = new ClusterState();
        Fixtures.applyAll(s, Fixtures.nodeRegistered("n1", "sn-a", 1, 4, "910b"));
        String hash = s.stateHash();
        long seq = s.lastEventSeq();
        EventBatch barrier = EventBatch.newBuilder().setSchemaVersion(Applier.SCHEMA_VERSION).setCommandKind("READ_BARRIER").build();

        ApplyResult r = Applier.apply(s, barrier, 7, 100);
        assertFalse(r.skipped(), "a barrier from a sender that does not know the term is not a stale batch");
        assertTrue(r.events().isEmpty());
        assertEquals(100, s.appliedIndex());
        assertEquals(7, s.appliedTerm());
        assertEquals(seq, s.lastEventSeq(), "no event sequence number is used");
        assertEquals(hash, s.stateHash(), "the state is unchanged");
    }
}
