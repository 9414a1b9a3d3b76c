package io.cardinal.state.store;

import io.cardinal.allocator.policy.FirstFitPolicy;
import io.cardinal.protocol.v1.Command;
import io.cardinal.protocol.v1.Event;
import io.cardinal.protocol.v1.EventBatch;
import io.cardinal.protocol.v1.ReportCardHealth;
import io.cardinal.state.ClusterState;
import io.cardinal.state.Fixtures;
import io.cardinal.state.Sim;
import io.cardinal.state.apply.Applier;
import io.cardinal.state.controller.CommandResult;
import io.cardinal.state.controller.Controller;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The event index: queries by job, node, after and limit return the right events in sequence order. */
class StateStoreEventsTest {
    @TempDir
    Path tmp;

    private ClusterState state;
    private StateStore store;
    private Controller ctl;
    private long index;

    @BeforeEach
    void history() throws IOException {
        state = new ClusterState();
        store = StateStore.open(tmp.resolve("db"));
        ctl = new Controller(state, new FirstFitPolicy(), 1);
        run(Fixtures.register("n1", "sn-a", 4, "910b"));                                       // 1
        run(Fixtures.register("n2", "sn-a", 4, "910b"));                                       // 2
        run(Fixtures.submit(Fixtures.spec("a", "t", 1, 2).setMaxRestarts(3).build(), ""));     // 3 submitted, 4 placed n1/0,1
        run(Fixtures.submit(Fixtures.spec("b", "t", 1, 4).build(), ""));                       // 5 submitted, 6 placed n2/0..3
        run(Command.newBuilder().setReportCardHealth(ReportCardHealth.newBuilder()             // 7 card, 8 interrupted, 9 restarting
                .setCard(Fixtures.card("n1", 0)).setHealthy(false)).build());
    }

    @org.junit.jupiter.api.AfterEach
    void close() {
        store.close();
    }

    private void run(Command c) throws IOException {
        CommandResult r = ctl.handle(c, 1000 * (index + 1));
        assertTrue(r.reply().getOk(), r.reply().toString());
        EventBatch b = Fixtures.batch(1, r.events());
        index++;
        store.write(state, Applier.apply(state, b, 1, index));
    }

    private List<String> q(String job, String node, long after, int limit) throws IOException {
        List<String> out = new ArrayList<>();
        for (Event e : store.events(job, node, after, limit)) out.add(e.getSeq() + ":" + e.getBodyCase());
        return out;
    }

    @Test
    void theHistoryIsTheOneTheQueriesExpect() throws IOException {
        assertEquals(List.of("1:NODE_REGISTERED", "2:NODE_REGISTERED", "3:JOB_SUBMITTED", "4:JOB_PLACED", "5:JOB_SUBMITTED",
                "6:JOB_PLACED", "7:CARD_HEALTH_CHANGED", "8:JOB_INTERRUPTED", "9:JOB_RESTARTING"), q("", "", 0, 100));
        assertEquals(9, state.lastEventSeq());
    }

    @Test
    void byJob() throws IOException {
        assertEquals(List.of("3:JOB_SUBMITTED", "4:JOB_PLACED", "8:JOB_INTERRUPTED", "9:JOB_RESTARTING"), q("j-000001", "", 0, 100));
        assertEquals(List.of("5:JOB_SUBMITTED", "6:JOB_PLACED"), q("j-000002", null, 0, 100));
        assertEquals(List.of("8:JOB_INTERRUPTED", "9:JOB_RESTARTING"), q("j-000001", "", 4, 100));
        assertEquals(List.of("3:JOB_SUBMITTED"), q("j-000001", "", 0, 1));
        assertEquals(List.of(), q("j-000001", "", 9, 100));
        assertEquals(List.of(), q("j-000003", "", 0, 100), "unknown job");
        // "j-00000" is a prefix of every job id: it must not match them.
        assertEquals(List.of(), q("j-00000", "", 0, 100), "a job id prefix");
    }

    @Test
    void byNode() throws IOException {
        assertEquals(List.of("1:NODE_REGISTERED", "4:JOB_PLACED", "7:CARD_HEALTH_CHANGED", "8:JOB_INTERRUPTED", "9:JOB_RESTARTING"),
                q("", "n1", 0, 100));
        assertEquals(List.of("2:NODE_REGISTERED", "6:JOB_PLACED"), q(null, "n2", 0, 100));
        assertEquals(List.of("8:JOB_INTERRUPTED"), q("", "n1", 7, 1));
        assertEquals(List.of(), q("", "n", 0, 100), "a node id prefix");
    }

    @Test
    void afterAndLimitOnTheWholeLog() throws IOException {
        assertEquals(List.of("5:JOB_SUBMITTED", "6:JOB_PLACED", "7:CARD_HEALTH_CHANGED"), q("", "", 4, 3));
        assertEquals(List.of("9:JOB_RESTARTING"), q("", "", 8, 0), "limit 0 means the default limit");
        assertEquals(9, q("", "", 0, 0).size());
        assertEquals(9, q("", "", -5, 100).size(), "a negative after is the start of the log");
        assertEquals(List.of(), q("", "", 9, 100));
    }

    @Test
    void jobAndNodeTogetherMeanBoth() throws IOException {
        assertEquals(List.of("4:JOB_PLACED", "8:JOB_INTERRUPTED", "9:JOB_RESTARTING"), q("j-000001", "n1", 0, 100));
        assertEquals(List.of(), q("j-000002", "n1", 0, 100));
        assertEquals(List.of("6:JOB_PLACED"), q("j-000002", "n2", 0, 100));
    }

    @Test
    void randomHistoryIndexesMatchAFullScan(@TempDir Path other) throws IOException {
        Sim sim = Sim.run(Sim.randomHistory(new Random(77), 150));
        ClusterState s = new ClusterState();
        try (StateStore st = StateStore.open(other.resolve("db"))) {
            for (Sim.Entry e : sim.log()) st.write(s, Applier.apply(s, e.batch(), e.term(), e.index()));
            List<Event> all = st.events("", "", 0, StateStore.MAX_EVENTS_PER_QUERY);
            assertEquals(s.lastEventSeq(), all.size());
            for (int i = 0; i < all.size(); i++) assertEquals(i + 1, all.get(i).getSeq(), "event log has no gaps");
            for (String job : s.jobs().keySet()) {
                List<Event> want = all.stream().filter(e -> EventKeys.jobId(e).equals(job)).toList();
                assertEquals(want, st.events(job, "", 0, StateStore.MAX_EVENTS_PER_QUERY), "events of " + job);
                if (want.size() > 2) {
                    assertEquals(want.subList(1, 3), st.events(job, "", want.get(0).getSeq(), 2), "after + limit for " + job);
                }
            }
            for (String node : s.nodes().keySet()) {
                List<Event> want = all.stream().filter(e -> EventKeys.nodeIds(e).contains(node)).toList();
                assertEquals(want, st.events("", node, 0, StateStore.MAX_EVENTS_PER_QUERY), "events of " + node);
            }
        }
    }
}
