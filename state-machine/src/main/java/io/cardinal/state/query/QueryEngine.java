package io.cardinal.state.query;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.protocol.v1.Event;
import io.cardinal.protocol.v1.JobRecord;
import io.cardinal.protocol.v1.Member;
import io.cardinal.protocol.v1.NodeRecord;
import io.cardinal.protocol.v1.Query;
import io.cardinal.state.ClusterState;
import io.cardinal.state.store.StateStore;

import java.io.IOException;

/**
 * Answers a {@link Query} from a replica's applied state as JSON. The caller holds the state's read lock.
 * Errors are answered in the body as {@code {"error":{"code","message"}}}, never thrown.
 */
public final class QueryEngine {
    /** A list query never returns more than this many items. */
    public static final int MAX_ITEMS = 10_000;

    private QueryEngine() {
    }

    public static ObjectNode run(ClusterState s, StateStore store, Query q) throws IOException {
        ObjectNode out = Views.JSON.createObjectNode();
        switch (q.getBodyCase()) {
            case LIST_JOBS: {
                var l = q.getListJobs();
                int limit = l.getLimit() <= 0 ? 1000 : Math.min(l.getLimit(), MAX_ITEMS);
                ArrayNode jobs = out.putArray("jobs");
                for (JobRecord j : s.jobs().values()) {
                    if (jobs.size() >= limit) break;
                    if (!l.getState().isEmpty() && !j.getState().name().equalsIgnoreCase(l.getState())) continue;
                    if (!l.getTenant().isEmpty() && !j.getSpec().getTenant().equals(l.getTenant())) continue;
                    jobs.add(Views.jobSummary(j));
                }
                out.put("total", s.jobs().size());
                return out;
            }
            case GET_JOB: {
                JobRecord j = s.jobs().get(q.getGetJob().getJobId());
                if (j == null) return error("not_found", "no job " + q.getGetJob().getJobId() + "; 'cardinal job list' shows the jobs");
                return Views.jobDetail(j);
            }
            case LIST_NODES: {
                ArrayNode nodes = out.putArray("nodes");
                for (NodeRecord n : s.nodes().values()) {
                    if (nodes.size() >= MAX_ITEMS) break;
                    nodes.add(Views.nodeSummary(n, s.inventory()));
                }
                return out;
            }
            case GET_NODE: {
                NodeRecord n = s.nodes().get(q.getGetNode().getNodeId());
                if (n == null) return error("not_found", "no node " + q.getGetNode().getNodeId() + "; 'cardinal node list' shows the nodes");
                return Views.nodeDetail(n, s.inventory());
            }
            case LIST_EVENTS: {
                var l = q.getListEvents();
                ArrayNode events = out.putArray("events");
                for (Event e : store.events(l.getJobId(), l.getNodeId(), l.getAfterSeq(), l.getLimit())) events.add(Views.event(e));
                out.put("lastEventSeq", s.lastEventSeq());
                return out;
            }
            case LIST_INCIDENTS: {
                var l = q.getListIncidents();
                int limit = l.getLimit() <= 0 ? 1000 : Math.min(l.getLimit(), MAX_ITEMS);
                ArrayNode incidents = out.putArray("incidents");
                for (JobRecord j : s.jobs().values()) {
                    if (!l.getJobId().isEmpty() && !j.getJobId().equals(l.getJobId())) continue;
                    for (var i : j.getIncidentsList()) {
                        if (incidents.size() >= limit) break;
                        incidents.add(Views.incident(j.getJobId(), i));
                    }
                }
                if (!l.getJobId().isEmpty() && !s.jobs().containsKey(l.getJobId())) {
                    return error("not_found", "no job " + l.getJobId() + "; 'cardinal job list' shows the jobs");
                }
                return out;
            }
            case STATUS: {
                out.put("appliedTerm", s.appliedTerm());
                out.put("appliedIndex", s.appliedIndex());
                out.put("lastEventSeq", s.lastEventSeq());
                out.put("stateHash", s.stateHash());
                out.set("counts", Views.counts(s));
                ArrayNode members = out.putArray("members");
                for (Member m : s.members()) {
                    ObjectNode mo = members.addObject();
                    mo.put("id", m.getId());
                    mo.put("raftAddress", m.getRaftAddress());
                    mo.put("httpAddress", m.getHttpAddress());
                    mo.put("agentAddress", m.getAgentAddress());
                }
                return out;
            }
            default:
                return error("invalid", "empty or unknown query " + q.getBodyCase());
        }
    }

    public static ObjectNode error(String code, String message) {
        ObjectNode o = Views.JSON.createObjectNode();
        ObjectNode e = o.putObject("error");
        e.put("code", code);
        e.put("message", message);
        return o;
    }
}
