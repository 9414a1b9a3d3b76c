package io.cardinal.state.query;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.cardinal.allocator.model.CardRef;
import io.cardinal.allocator.model.CardStatus;
import io.cardinal.allocator.model.Holder;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.protocol.v1.CardRecord;
import io.cardinal.protocol.v1.EnvVar;
import io.cardinal.protocol.v1.Event;
import io.cardinal.protocol.v1.IncidentRecord;
import io.cardinal.protocol.v1.JobRecord;
import io.cardinal.protocol.v1.JobSpec;
import io.cardinal.protocol.v1.NodeRecord;
import io.cardinal.protocol.v1.TaskPlacement;
import io.cardinal.state.ClusterState;

import java.io.IOException;
import java.util.EnumMap;
import java.util.Map;
import java.util.TreeSet;

/** JSON views of the applied state for the HTTP API (docs/http-api.md). Read-only. */
public final class Views {
    public static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonFormat.Printer EVENT_PRINTER = JsonFormat.printer().omittingInsignificantWhitespace().alwaysPrintFieldsWithNoPresence();

    private Views() {
    }

    public static ObjectNode jobSummary(JobRecord j) {
        ObjectNode o = JSON.createObjectNode();
        JobSpec s = j.getSpec();
        o.put("jobId", j.getJobId());
        o.put("name", s.getName());
        o.put("tenant", s.getTenant());
        o.put("priority", s.getPriority());
        o.put("state", j.getState().name());
        o.put("attempt", j.getAttempt());
        o.put("tasks", s.getTasks());
        o.put("cardsPerTask", s.getCardsPerTask());
        o.put("cards", (long) s.getTasks() * s.getCardsPerTask());
        o.put("submittedMs", j.getSubmittedMs());
        o.put("updatedMs", j.getUpdatedMs());
        o.put("reason", j.getReason());
        return o;
    }

    public static ObjectNode jobDetail(JobRecord j) {
        ObjectNode o = jobSummary(j);
        o.set("spec", spec(j.getSpec()));
        ArrayNode placement = o.putArray("placement");
        for (TaskPlacement t : j.getPlacement().getTasksList()) {
            ObjectNode p = placement.addObject();
            p.put("task", t.getTask());
            p.put("nodeId", t.getNodeId());
            ArrayNode cards = p.putArray("cards");
            t.getCardIndicesList().forEach(cards::add);
        }
        o.put("checkpointStep", j.getCheckpointStep());
        o.put("restoreStep", j.getRestoreStep());
        o.put("restarts", j.getRestarts());
        o.put("restartsTotal", j.getRestartsTotal());
        // Only when set: the reason that says so is cleared once the job runs, the mark stays until it releases.
        if (j.getLent()) o.put("lent", true);
        if (j.getNotBeforeMs() > 0) o.put("restartNotBeforeMs", j.getNotBeforeMs());
        o.put("idempotencyKey", j.getIdempotencyKey());
        ArrayNode running = o.putArray("ranksRunning");
        j.getRanksRunningList().forEach(running::add);
        ArrayNode steps = o.putArray("checkpointProgress");
        for (var sp : j.getStepProgressList()) {
            ObjectNode so = steps.addObject();
            so.put("step", sp.getStep());
            so.put("ranksDurable", sp.getRanksCount());
        }
        ArrayNode incidents = o.putArray("incidents");
        for (IncidentRecord i : j.getIncidentsList()) incidents.add(incident(j.getJobId(), i));
        return o;
    }

    /** One failure and what it cost; durations are null until the step they end was reached. */
    public static ObjectNode incident(String jobId, IncidentRecord i) {
        ObjectNode o = JSON.createObjectNode();
        o.put("jobId", jobId);
        o.put("fromAttempt", i.getFromAttempt());
        o.put("toAttempt", i.getToAttempt());
        o.put("reason", i.getReason());
        o.put("detectedMs", i.getDetectedMs());
        o.put("decidedMs", i.getDecidedMs());
        o.put("assignedMs", i.getAssignedMs());
        o.put("runningMs", i.getRunningMs());
        o.put("restoreStep", i.getRestoreStep());
        o.put("lastStep", i.getLastStep());
        if (i.getLastStep() > 0 && i.getToAttempt() > 0) o.put("stepsLost", Math.max(0, i.getLastStep() - i.getRestoreStep()));
        else o.putNull("stepsLost");
        if (i.getRunningMs() > 0) o.put("detectedToRunningMs", i.getRunningMs() - i.getDetectedMs());
        else o.putNull("detectedToRunningMs");
        o.put("detectedToDecidedMs", i.getDecidedMs() - i.getDetectedMs());
        ArrayNode lost = o.putArray("lostCards");
        for (var c : i.getLostCardsList()) lost.add(c.getNodeId() + "/" + c.getIndex());
        ObjectNode sources = o.putObject("shardSources");
        for (String s : i.getShardSourcesList()) {
            int eq = s.indexOf('=');
            if (eq > 0) sources.put(s.substring(0, eq), s.substring(eq + 1));
        }
        return o;
    }

    public static ObjectNode spec(JobSpec s) {
        ObjectNode o = JSON.createObjectNode();
        o.put("name", s.getName());
        o.put("tenant", s.getTenant());
        o.put("priority", s.getPriority());
        o.put("tasks", s.getTasks());
        o.put("cardsPerTask", s.getCardsPerTask());
        ArrayNode models = o.putArray("cardModel");
        s.getCardModelsList().forEach(models::add);
        ObjectNode topo = o.putObject("topology");
        topo.put("supernode", switch (s.getSupernode()) {
            case SUPERNODE_REQUIRED -> "required";
            case SUPERNODE_ANY -> "any";
            default -> "preferred";
        });
        topo.put("maxSupernodes", s.getMaxSupernodes());
        ArrayNode cmd = o.putArray("command");
        s.getCommandList().forEach(cmd::add);
        ObjectNode env = o.putObject("env");
        for (EnvVar e : s.getEnvList()) env.put(e.getName(), e.getValue());
        o.putObject("checkpoint").put("everySteps", s.getCheckpointEverySteps());
        ObjectNode restart = o.putObject("restart");
        restart.put("maxRestarts", s.getMaxRestarts());
        restart.put("backoffSeconds", s.getBackoffSeconds());
        return o;
    }

    public static ObjectNode nodeSummary(NodeRecord n, Inventory inv) {
        ObjectNode o = JSON.createObjectNode();
        o.put("nodeId", n.getNodeId());
        o.put("supernodeId", n.getSupernodeId());
        o.put("epoch", n.getEpoch());
        o.put("online", n.getOnline());
        o.put("cordoned", n.getCordoned());
        o.put("drained", n.getDrained());
        o.put("reason", n.getReason());
        o.put("agentAddress", n.getAgentAddress());
        ArrayNode tiers = o.putArray("tiers");
        n.getTiersList().forEach(tiers::add);
        Map<CardStatus, Integer> counts = new EnumMap<>(CardStatus.class);
        TreeSet<String> models = new TreeSet<>();
        for (CardRecord c : n.getCardsList()) {
            counts.merge(inv.status(new CardRef(n.getNodeId(), c.getIndex())), 1, Integer::sum);
            models.add(c.getModel());
        }
        o.put("cards", n.getCardsCount());
        o.put("cardsFree", counts.getOrDefault(CardStatus.FREE, 0));
        o.put("cardsSpare", counts.getOrDefault(CardStatus.SPARE, 0));
        o.put("cardsAllocated", counts.getOrDefault(CardStatus.ALLOCATED, 0));
        o.put("cardsUnhealthy", counts.getOrDefault(CardStatus.UNHEALTHY, 0));
        ArrayNode m = o.putArray("models");
        models.forEach(m::add);
        return o;
    }

    public static ObjectNode nodeDetail(NodeRecord n, Inventory inv) {
        ObjectNode o = nodeSummary(n, inv);
        ArrayNode cards = o.putArray("cardList");
        for (CardRecord c : n.getCardsList()) {
            CardRef ref = new CardRef(n.getNodeId(), c.getIndex());
            ObjectNode co = cards.addObject();
            co.put("index", c.getIndex());
            co.put("model", c.getModel());
            co.put("memoryMib", c.getMemoryMib());
            co.put("healthy", c.getHealthy());
            co.put("status", inv.status(ref).name());
            Holder h = inv.holder(ref);
            if (h != null) {
                co.put("jobId", h.jobId());
                co.put("attempt", h.attempt());
            }
        }
        return o;
    }

    /** One event as the API shows it: seq, time, type and the body's fields. */
    public static ObjectNode event(Event e) {
        ObjectNode o = JSON.createObjectNode();
        o.put("seq", e.getSeq());
        o.put("timeMs", e.getTimeMs());
        String type = typeName(e);
        o.put("type", type);
        Message body = body(e);
        if (body != null) {
            try {
                ObjectNode fields = (ObjectNode) JSON.readTree(EVENT_PRINTER.print(body));
                o.setAll(fields);
            } catch (InvalidProtocolBufferException ex) {
                o.put("error", "cannot render event body: " + ex.getMessage());
            } catch (IOException ex) {
                throw new IllegalStateException(ex);
            }
        }
        return o;
    }

    public static String typeName(Event e) {
        if (e.getBodyCase() == Event.BodyCase.BODY_NOT_SET) return "Unknown";
        Message body = body(e);
        return body == null ? "Unknown" : body.getDescriptorForType().getName();
    }

    private static Message body(Event e) {
        if (e.getBodyCase() == Event.BodyCase.BODY_NOT_SET) return null;
        var field = Event.getDescriptor().findFieldByNumber(e.getBodyCase().getNumber());
        return (Message) e.getField(field);
    }

    public static ObjectNode counts(ClusterState s) {
        ObjectNode o = JSON.createObjectNode();
        o.put("nodes", s.nodes().size());
        o.put("jobs", s.jobs().size());
        o.put("cards", s.inventory().totalCards());
        o.put("cardsAllocated", s.inventory().allocatedCards());
        return o;
    }
}
