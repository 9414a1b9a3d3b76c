package io.cardinal.server.gateway;

import io.cardinal.protocol.v1.Assign;
import io.cardinal.protocol.v1.JobRecord;
import io.cardinal.protocol.v1.NodeRecord;
import io.cardinal.protocol.v1.RankAssignment;
import io.cardinal.protocol.v1.TaskPlacement;
import io.cardinal.state.ClusterState;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What each agent should run, computed from committed state only, so a new leader sends exactly what the old one
 * would have. One rank per task; rank r is task r. A pure function: same state, same assignments.
 */
public final class Assignments {
    /** Workers of one job meet on MASTER_ADDR:MASTER_PORT; ports come from this range. */
    static final int MASTER_PORT_BASE = 20_000;
    static final int MASTER_PORT_SPAN = 20_000;

    private Assignments() {
    }

    /** The Assign of {@code job}'s current attempt for {@code nodeId}, or null when none of its ranks run there. */
    public static Assign forNode(ClusterState s, JobRecord job, String nodeId) {
        if (!ClusterState.holdsCards(job.getState())) return null;
        NodeRecord node = s.nodes().get(nodeId);
        if (node == null) return null;
        List<RankAssignment> ranks = new ArrayList<>();
        int local = 0;
        for (TaskPlacement t : job.getPlacement().getTasksList()) {
            if (!t.getNodeId().equals(nodeId)) continue;
            ranks.add(RankAssignment.newBuilder().setRank(t.getTask()).setLocalRank(local++)
                    .addAllCardIndices(t.getCardIndicesList()).addAllRestoreSources(restoreSources(s, job, t.getTask(), nodeId)).build());
        }
        if (ranks.isEmpty()) return null;
        String rank0Node = job.getPlacement().getTasks(0).getNodeId();
        NodeRecord master = s.nodes().get(rank0Node);
        String buddy = buddyOf(s, nodeId);
        NodeRecord buddyNode = buddy == null ? null : s.nodes().get(buddy);
        return Assign.newBuilder().setJobId(job.getJobId()).setAttempt(job.getAttempt()).setNodeEpoch(node.getEpoch())
                .setWorldSize(job.getSpec().getTasks()).addAllRanks(ranks).setLocalWorldSize(ranks.size())
                .setMasterAddr(host(master == null ? "" : master.getAgentAddress()))
                .setMasterPort(masterPort(job.getJobId(), job.getAttempt()))
                .addAllCommand(job.getSpec().getCommandList()).addAllEnv(job.getSpec().getEnvList())
                .setRestoreStep(job.getRestoreStep())
                .setBuddyNodeId(buddy == null ? "" : buddy).setBuddyAddress(buddyNode == null ? "" : buddyNode.getAgentAddress())
                .build();
    }

    /** Every (job, Assign) that should run on the node now, in job id order. */
    public static List<Assign> allForNode(ClusterState s, String nodeId) {
        List<Assign> out = new ArrayList<>();
        for (JobRecord j : s.jobs().values()) {
            Assign a = forNode(s, j, nodeId);
            if (a != null) out.add(a);
        }
        return out;
    }

    /** Nodes that run at least one rank of the job's current attempt. */
    public static List<String> nodesOf(JobRecord job) {
        List<String> out = new ArrayList<>();
        for (TaskPlacement t : job.getPlacement().getTasksList()) if (!out.contains(t.getNodeId())) out.add(t.getNodeId());
        return out;
    }

    /** Peers that hold the rank's shard of the restore step (its writer and its buddy), other than the node itself. */
    static List<String> restoreSources(ClusterState s, JobRecord job, int rank, String self) {
        List<String> out = new ArrayList<>();
        if (job.getRestoreStep() <= 0) return out;
        for (String loc : job.getRestoreLocationsList()) {
            int eq = loc.indexOf('=');
            if (eq < 0 || !loc.substring(0, eq).equals(Integer.toString(rank))) continue;
            for (String n : loc.substring(eq + 1).split(",")) {
                NodeRecord node = s.nodes().get(n);
                if (node != null && !n.equals(self) && node.getOnline() && !node.getAgentAddress().isEmpty()
                        && !out.contains(node.getAgentAddress())) {
                    out.add(node.getAgentAddress());
                }
            }
        }
        return out;
    }

    /**
     * The node's checkpoint buddy: a node on another supernode, so one supernode's loss keeps every shard. Nodes are
     * paired by position: the i-th node of a supernode backs up to the i-th (mod size) online node of the next
     * supernode in id order. With a single supernode, the next node in it.
     */
    public static String buddyOf(ClusterState s, String nodeId) {
        NodeRecord me = s.nodes().get(nodeId);
        if (me == null) return null;
        Map<String, List<String>> bySupernode = new java.util.TreeMap<>();
        for (NodeRecord n : s.nodes().values()) {
            if (n.getOnline() && !n.getAgentAddress().isEmpty() || n.getNodeId().equals(nodeId)) {
                bySupernode.computeIfAbsent(n.getSupernodeId(), k -> new ArrayList<>()).add(n.getNodeId());
            }
        }
        List<String> supernodes = new ArrayList<>(bySupernode.keySet());
        List<String> mine = bySupernode.get(me.getSupernodeId());
        int pos = mine.indexOf(nodeId);
        if (supernodes.size() > 1) {
            String next = supernodes.get((supernodes.indexOf(me.getSupernodeId()) + 1) % supernodes.size());
            List<String> peers = bySupernode.get(next);
            return peers.get(pos % peers.size());
        }
        return mine.size() > 1 ? mine.get((pos + 1) % mine.size()) : null;
    }

    static int masterPort(String jobId, long attempt) {
        return MASTER_PORT_BASE + Math.floorMod(jobId.hashCode() * 31 + (int) attempt, MASTER_PORT_SPAN);
    }

    static String host(String hostPort) {
        int i = hostPort.lastIndexOf(':');
        return i < 0 ? hostPort : hostPort.substring(0, i);
    }
}
