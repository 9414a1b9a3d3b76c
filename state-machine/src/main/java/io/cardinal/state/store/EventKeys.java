package io.cardinal.state.store;

import io.cardinal.protocol.v1.Event;
import io.cardinal.protocol.v1.Placement;
import io.cardinal.protocol.v1.TaskPlacement;

import java.util.Set;
import java.util.TreeSet;

/** Which job and which nodes an event is about, for the event index (queries by job and node). */
public final class EventKeys {
    private EventKeys() {
    }

    public static String jobId(Event e) {
        switch (e.getBodyCase()) {
            case JOB_SUBMITTED: return e.getJobSubmitted().getJobId();
            case JOB_PLACED: return e.getJobPlaced().getJobId();
            case JOB_STARTED: return e.getJobStarted().getJobId();
            case CHECKPOINT_COMMITTED: return e.getCheckpointCommitted().getJobId();
            case JOB_INTERRUPTED: return e.getJobInterrupted().getJobId();
            case JOB_RESTARTING: return e.getJobRestarting().getJobId();
            case JOB_PREEMPTED: return e.getJobPreempted().getJobId();
            case JOB_SUCCEEDED: return e.getJobSucceeded().getJobId();
            case JOB_FAILED: return e.getJobFailed().getJobId();
            case JOB_CANCELLED: return e.getJobCancelled().getJobId();
            case JOB_WAITING: return e.getJobWaiting().getJobId();
            case RANK_STARTED: return e.getRankStarted().getJobId();
            case SHARD_DURABLE: return e.getShardDurable().getJobId();
            case RANK_EXITED: return e.getRankExited().getJobId();
            default: return "";
        }
    }

    public static Set<String> nodeIds(Event e) {
        Set<String> out = new TreeSet<>();
        switch (e.getBodyCase()) {
            case NODE_REGISTERED: out.add(e.getNodeRegistered().getNodeId()); break;
            case NODE_LOST: out.add(e.getNodeLost().getNodeId()); break;
            case NODE_RECOVERED: out.add(e.getNodeRecovered().getNodeId()); break;
            case NODE_CORDONED: out.add(e.getNodeCordoned().getNodeId()); break;
            case NODE_UNCORDONED: out.add(e.getNodeUncordoned().getNodeId()); break;
            case NODE_DRAINED: out.add(e.getNodeDrained().getNodeId()); break;
            case CARD_HEALTH_CHANGED: out.add(e.getCardHealthChanged().getCard().getNodeId()); break;
            case JOB_PLACED: addNodes(out, e.getJobPlaced().getPlacement()); break;
            case JOB_RESTARTING: addNodes(out, e.getJobRestarting().getPlacement()); break;
            case RANK_STARTED: out.add(e.getRankStarted().getNodeId()); break;
            case SHARD_DURABLE: out.add(e.getShardDurable().getNodeId()); break;
            case JOB_INTERRUPTED: e.getJobInterrupted().getLostCardsList().forEach(c -> out.add(c.getNodeId())); break;
            default: break;
        }
        return out;
    }

    private static void addNodes(Set<String> out, Placement p) {
        for (TaskPlacement t : p.getTasksList()) out.add(t.getNodeId());
    }
}
