package io.cardinal.state;

import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.Placement;
import io.cardinal.allocator.model.PlacementRequest;
import io.cardinal.allocator.model.SupernodeRule;
import io.cardinal.allocator.model.TaskCards;
import io.cardinal.protocol.v1.JobRecord;
import io.cardinal.protocol.v1.JobSpec;
import io.cardinal.protocol.v1.TaskPlacement;

import java.util.ArrayList;
import java.util.List;

/** Conversions between the protocol's records and the allocator's values. */
public final class Placements {
    private Placements() {
    }

    public static Placement fromProto(io.cardinal.protocol.v1.Placement p) {
        List<TaskCards> tasks = new ArrayList<>(p.getTasksCount());
        for (TaskPlacement t : p.getTasksList()) tasks.add(new TaskCards(t.getTask(), t.getNodeId(), t.getCardIndicesList()));
        return new Placement(tasks);
    }

    public static io.cardinal.protocol.v1.Placement toProto(Placement p) {
        io.cardinal.protocol.v1.Placement.Builder b = io.cardinal.protocol.v1.Placement.newBuilder();
        for (TaskCards t : p.tasks()) {
            b.addTasks(TaskPlacement.newBuilder().setTask(t.task()).setNodeId(t.nodeId()).addAllCardIndices(t.cardIndices()));
        }
        return b.build();
    }

    public static io.cardinal.protocol.v1.CardRef toProto(CardRef c) {
        return io.cardinal.protocol.v1.CardRef.newBuilder().setNodeId(c.nodeId()).setIndex(c.index()).build();
    }

    public static CardRef fromProto(io.cardinal.protocol.v1.CardRef c) {
        return new CardRef(c.getNodeId(), c.getIndex());
    }

    public static SupernodeRule rule(JobSpec spec) {
        switch (spec.getSupernode()) {
            case SUPERNODE_REQUIRED:
                return SupernodeRule.REQUIRED;
            case SUPERNODE_ANY:
                return SupernodeRule.ANY;
            default:
                return SupernodeRule.PREFERRED;
        }
    }

    public static PlacementRequest request(JobRecord job) {
        JobSpec s = job.getSpec();
        return new PlacementRequest(job.getJobId(), s.getTenant(), s.getPriority(), s.getTasks(), s.getCardsPerTask(),
                java.util.Set.copyOf(s.getCardModelsList()), rule(s), s.getMaxSupernodes(), job.getSubmitSeq());
    }
}
