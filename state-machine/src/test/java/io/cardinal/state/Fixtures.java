package io.cardinal.state;

import io.cardinal.protocol.v1.CardInfo;
import io.cardinal.protocol.v1.CardRef;
import io.cardinal.protocol.v1.Command;
import io.cardinal.protocol.v1.Event;
import io.cardinal.protocol.v1.EventBatch;
import io.cardinal.protocol.v1.JobSpec;
import io.cardinal.protocol.v1.NodeRegistered;
import io.cardinal.protocol.v1.Placement;
import io.cardinal.protocol.v1.RegisterNode;
import io.cardinal.protocol.v1.SupernodeRule;
import io.cardinal.protocol.v1.TaskPlacement;
import io.cardinal.state.apply.Applier;
import io.cardinal.state.apply.ApplyResult;

import java.util.ArrayList;
import java.util.List;

/** Builders shared by the state-machine tests. */
public final class Fixtures {
    private Fixtures() {
    }

    public static List<CardInfo> cards(int count, String model) {
        List<CardInfo> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(CardInfo.newBuilder().setIndex(i).setModel(model).setMemoryMib(65536).setHealthy(true).build());
        }
        return out;
    }

    public static Command register(String node, String supernode, int cards, String model) {
        return Command.newBuilder().setActor("agent:" + node).setRegisterNode(RegisterNode.newBuilder()
                .setNodeId(node).setSupernodeId(supernode).addAllCards(cards(cards, model))).build();
    }

    public static JobSpec.Builder spec(String name, String tenant, int tasks, int cardsPerTask) {
        return JobSpec.newBuilder().setName(name).setTenant(tenant).setTasks(tasks).setCardsPerTask(cardsPerTask)
                .addCommand("python").addCommand("train.py").setSupernode(SupernodeRule.SUPERNODE_PREFERRED);
    }

    public static Command submit(JobSpec spec, String key) {
        return Command.newBuilder().setActor("cli:test").setIdempotencyKey(key)
                .setSubmitJob(io.cardinal.protocol.v1.SubmitJob.newBuilder().setSpec(spec)).build();
    }

    public static CardRef card(String node, int index) {
        return CardRef.newBuilder().setNodeId(node).setIndex(index).build();
    }

    /** One task per entry: {node, idx, idx, ...} given as a node id and its card indices. */
    public static Placement placement(Object... nodeThenIndices) {
        Placement.Builder p = Placement.newBuilder();
        int task = 0;
        for (Object o : nodeThenIndices) {
            if (o instanceof String node) {
                p.addTasks(TaskPlacement.newBuilder().setTask(task++).setNodeId(node));
            } else {
                TaskPlacement.Builder t = p.getTasksBuilder(task - 1);
                t.addCardIndices((Integer) o);
            }
        }
        return p.build();
    }

    public static Event nodeRegistered(String node, String supernode, long epoch, int cards, String model) {
        return Event.newBuilder().setNodeRegistered(NodeRegistered.newBuilder().setNodeId(node).setSupernodeId(supernode)
                .setEpoch(epoch).addAllCards(cards(cards, model))).build();
    }

    public static EventBatch batch(long term, Event... events) {
        return EventBatch.newBuilder().setSchemaVersion(Applier.SCHEMA_VERSION).setLeaderTerm(term)
                .addAllEvents(List.of(events)).build();
    }

    public static EventBatch batch(long term, List<Event> events) {
        return EventBatch.newBuilder().setSchemaVersion(Applier.SCHEMA_VERSION).setLeaderTerm(term)
                .addAllEvents(events).build();
    }

    /** Applies {@code events} as one entry at term 1 and the state's next index. */
    public static ApplyResult applyAll(ClusterState s, Event... events) {
        return Applier.apply(s, batch(1, events), 1, s.appliedIndex() + 1);
    }
}
