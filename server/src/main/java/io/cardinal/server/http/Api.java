package io.cardinal.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.consensus.Replica;
import io.cardinal.protocol.spec.JobSpecException;
import io.cardinal.protocol.spec.JobSpecParser;
import io.cardinal.protocol.v1.CancelJob;
import io.cardinal.protocol.v1.CardInfo;
import io.cardinal.protocol.v1.CardRef;
import io.cardinal.protocol.v1.Command;
import io.cardinal.protocol.v1.CordonNode;
import io.cardinal.protocol.v1.DrainNode;
import io.cardinal.protocol.v1.GetJob;
import io.cardinal.protocol.v1.GetNode;
import io.cardinal.protocol.v1.JobSpec;
import io.cardinal.protocol.v1.ListEvents;
import io.cardinal.protocol.v1.ListJobs;
import io.cardinal.protocol.v1.ListNodes;
import io.cardinal.protocol.v1.Member;
import io.cardinal.protocol.v1.Query;
import io.cardinal.protocol.v1.RegisterNode;
import io.cardinal.protocol.v1.Reply;
import io.cardinal.protocol.v1.ReportCardHealth;
import io.cardinal.protocol.v1.SetMembers;
import io.cardinal.protocol.v1.SetQuota;
import io.cardinal.protocol.v1.SetSpareRule;
import io.cardinal.protocol.v1.Status;
import io.cardinal.protocol.v1.SubmitJob;
import io.cardinal.protocol.v1.UncordonNode;
import io.cardinal.server.config.ServerConfig;
import io.cardinal.state.apply.Applier;
import io.cardinal.state.query.Views;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The HTTP/JSON API's routes (docs/http-api.md). Writes become commands for the leader's controller (forwarded
 * to the leader's HTTP address when this replica does not lead); reads are queries on this replica's state.
 */
public final class Api {
    private static final Logger LOG = LoggerFactory.getLogger(Api.class);
    /** A write whose reply takes longer is answered 503 (outcome unknown: retry with the same key). */
    static final long WRITE_TIMEOUT_MILLIS = 15_000;

    private final Replica replica;
    private final ServerConfig config;
    private final MeterRegistry metrics;
    private final Supplier<String> metricsText;
    /** For the cluster status, which asks every replica (forwarding of writes is {@link LeaderForwarder}'s). */
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(LeaderForwarder.PEER_CONNECT_TIMEOUT_MILLIS)).build();
    private final LeaderForwarder forwarder;

    public Api(Replica replica, ServerConfig config, MeterRegistry metrics, Supplier<String> metricsText) {
        this.replica = replica;
        this.config = config;
        this.metrics = metrics;
        this.metricsText = metricsText;
        this.forwarder = new LeaderForwarder(replica, this::httpAddress, WRITE_TIMEOUT_MILLIS, config.leaderWaitMillis);
    }

    private volatile io.cardinal.server.gateway.AgentGateway gateway;

    public Replica replica() {
        return replica;
    }

    public void attachGateway(io.cardinal.server.gateway.AgentGateway gateway) {
        this.gateway = gateway;
    }

    /** A request as the router sees it. */
    public record Request(String method, String path, Map<String, List<String>> query, Map<String, String> headers, byte[] body) {
        String param(String name) {
            List<String> v = query.get(name);
            return v == null || v.isEmpty() ? "" : v.get(0);
        }

        boolean flag(String name) {
            String v = param(name);
            return v.equals("true") || v.equals("1");
        }

        long longParam(String name, long dflt) {
            String v = param(name);
            if (v.isEmpty()) return dflt;
            try {
                return Long.parseLong(v);
            } catch (NumberFormatException e) {
                throw ApiException.invalid("query parameter " + name + ": must be an integer, got \"" + v + "\"");
            }
        }

        String header(String name) {
            return headers.getOrDefault(name.toLowerCase(), "");
        }
    }

    public CompletableFuture<Response> handle(Request r) {
        try {
            return route(r).exceptionally(Api::failure);
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(failure(e));
        }
    }

    private static Response failure(Throwable t) {
        Throwable e = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        if (e instanceof ApiException a) return Response.error(a.code(), a.getMessage());
        if (e instanceof TimeoutException) return Response.error("unavailable", "timed out waiting for the cluster; retry");
        if (e instanceof io.cardinal.consensus.ReadUnavailableException) {
            return Response.error("unavailable", "the read could not be confirmed (" + abbreviate(e.getMessage()) + "); retry, or use ?stale=true");
        }
        String m = String.valueOf(e.getMessage());
        if (m.contains("NotLeader") || m.contains("LeaderNotReady")
                || m.contains("TimeoutIOException") || m.contains("AlreadyClosed") || m.contains("NoLeader")) {
            return Response.error("unavailable", "no leader can confirm the read right now (" + abbreviate(m) + "); retry, or use ?stale=true");
        }
        LOG.error("request failed", e);
        return Response.error("internal", e.getClass().getSimpleName() + ": " + abbreviate(m) + " (see the server log)");
    }

    private static String abbreviate(String s) {
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

    private CompletableFuture<Response> route(Request r) {
        String[] p = r.path().replaceAll("/+$", "").split("/");
        String m = r.method();
        // p[0] is "" for a leading slash
        if (r.path().equals("/healthz")) return done(healthz());
        if (r.path().equals("/metrics")) return done(Response.text(200, "text/plain; version=0.0.4; charset=utf-8", metricsText.get()));
        if (p.length < 3 || !p[1].equals("v1")) throw new ApiException("not_found", "no route " + m + " " + r.path() + "; see docs/http-api.md");
        String noun = p[2];
        boolean stale = r.flag("stale");
        switch (noun) {
            case "status":
                if (m.equals("GET") && p.length == 3) return done(Response.json(200, status()));
                break;
            case "cluster":
                if (m.equals("GET") && p.length == 4 && p[3].equals("status")) return clusterStatus();
                if (m.equals("POST") && p.length == 4 && p[3].equals("members")) return members(r);
                break;
            case "leader":
                if (m.equals("POST") && p.length == 4 && p[3].equals("transfer")) return leaderTransfer(r);
                break;
            case "snapshot":
                if (m.equals("POST") && p.length == 3) return snapshot();
                break;
            case "jobs":
                if (p.length == 3 && m.equals("POST")) return submitJob(r);
                if (p.length == 3 && m.equals("GET")) {
                    return read(Query.newBuilder().setListJobs(ListJobs.newBuilder().setState(r.param("state"))
                            .setTenant(r.param("tenant")).setLimit((int) Math.min(Integer.MAX_VALUE, r.longParam("limit", 0)))).build(), stale);
                }
                if (p.length == 4 && m.equals("GET")) return read(Query.newBuilder().setGetJob(GetJob.newBuilder().setJobId(p[3])).build(), stale);
                if (p.length == 5 && m.equals("POST") && p[4].equals("cancel")) {
                    ObjectNode b = Bodies.object(r.body(), Set.of("reason"));
                    return write(r, command(r).setCancelJob(CancelJob.newBuilder().setJobId(p[3]).setReason(Bodies.text(b, "reason", false))));
                }
                break;
            case "nodes":
                if (p.length == 3 && m.equals("POST")) return registerNode(r);
                if (p.length == 3 && m.equals("GET")) return read(Query.newBuilder().setListNodes(ListNodes.getDefaultInstance()).build(), stale);
                if (p.length == 4 && m.equals("GET")) return read(Query.newBuilder().setGetNode(GetNode.newBuilder().setNodeId(p[3])).build(), stale);
                if (p.length == 5 && m.equals("POST")) {
                    ObjectNode b = Bodies.object(r.body(), Set.of("reason"));
                    String reason = Bodies.text(b, "reason", false);
                    switch (p[4]) {
                        case "cordon": return write(r, command(r).setCordonNode(CordonNode.newBuilder().setNodeId(p[3]).setReason(reason)));
                        case "uncordon": return write(r, command(r).setUncordonNode(UncordonNode.newBuilder().setNodeId(p[3])));
                        case "drain": return write(r, command(r).setDrainNode(DrainNode.newBuilder().setNodeId(p[3]).setReason(reason)));
                        default: break;
                    }
                }
                break;
            case "incidents":
                if (m.equals("GET") && p.length == 3) {
                    return read(Query.newBuilder().setListIncidents(io.cardinal.protocol.v1.ListIncidents.newBuilder()
                            .setJobId(r.param("job")).setLimit((int) Math.min(10_000, r.longParam("limit", 1000)))).build(), stale);
                }
                break;
            case "events":
                if (m.equals("GET") && p.length == 3) {
                    return read(Query.newBuilder().setListEvents(ListEvents.newBuilder().setJobId(r.param("job")).setNodeId(r.param("node"))
                            .setAfterSeq(r.longParam("after", 0)).setLimit((int) Math.min(10_000, r.longParam("limit", 1000)))).build(), stale);
                }
                break;
            case "quotas":
                if (m.equals("POST") && p.length == 3) {
                    ObjectNode b = Bodies.object(r.body(), Set.of("tenant", "cards", "cohort", "borrowLimitCards"));
                    return write(r, command(r).setSetQuota(SetQuota.newBuilder().setTenant(Bodies.text(b, "tenant", true))
                            .setCards(Bodies.number(b, "cards", -1)).setCohort(Bodies.text(b, "cohort", false))
                            .setBorrowLimitCards(Bodies.number(b, "borrowLimitCards", 0))));
                }
                break;
            case "spares":
                if (m.equals("POST") && p.length == 3) {
                    ObjectNode b = Bodies.object(r.body(), Set.of("supernodeId", "cards", "percent"));
                    return write(r, command(r).setSetSpareRule(SetSpareRule.newBuilder().setSupernodeId(Bodies.text(b, "supernodeId", true))
                            .setCards((int) Bodies.number(b, "cards", 0)).setPercent((int) Bodies.number(b, "percent", 0))));
                }
                break;
            case "debug":
                if (m.equals("POST") && p.length == 4 && p[3].equals("fail-card")) {
                    return failCard(r);
                }
                if (m.equals("POST") && p.length == 4 && p[3].equals("clock-offset")) return done(clockOffset(r));
                if (m.equals("POST") && p.length == 4 && p[3].equals("raft-isolate")) return done(raftIsolate(r));
                break;
            default:
                break;
        }
        throw new ApiException("not_found", "no route " + m + " " + r.path() + "; see docs/http-api.md");
    }

    private static CompletableFuture<Response> done(Response r) {
        return CompletableFuture.completedFuture(r);
    }

    private static Command.Builder command(Request r) {
        return Command.newBuilder().setSchemaVersion(Applier.SCHEMA_VERSION).setIdempotencyKey(r.header("Idempotency-Key"))
                .setActor("api:" + (r.header("X-Cardinal-Actor").isEmpty() ? "anonymous" : r.header("X-Cardinal-Actor")));
    }

    // ---- writes -----------------------------------------------------------------------------------------------

    private CompletableFuture<Response> submitJob(Request r) {
        JobSpec spec;
        try {
            spec = JobSpecParser.parse(r.body());
        } catch (JobSpecException e) {
            throw ApiException.invalid(e.getMessage());
        }
        String key = r.header("Idempotency-Key");
        if (key.length() > 256) throw ApiException.invalid("Idempotency-Key: at most 256 characters");
        return write(r, command(r).setSubmitJob(SubmitJob.newBuilder().setSpec(spec)), 201);
    }

    private CompletableFuture<Response> registerNode(Request r) {
        ObjectNode b = Bodies.object(r.body(), Set.of("nodeId", "supernodeId", "tiers", "cards", "cardCount", "cardModel", "cardMemoryMib", "agentAddress"));
        RegisterNode.Builder n = RegisterNode.newBuilder().setNodeId(Bodies.text(b, "nodeId", true))
                .setSupernodeId(Bodies.text(b, "supernodeId", true)).setAgentAddress(Bodies.text(b, "agentAddress", false));
        JsonNode tiers = b.get("tiers");
        if (tiers != null && !tiers.isNull()) {
            if (!tiers.isArray()) throw ApiException.invalid("tiers: must be a list of strings");
            for (JsonNode t : tiers) {
                if (!t.isTextual()) throw ApiException.invalid("tiers: must be a list of strings");
                n.addTiers(t.asText());
            }
        }
        JsonNode cards = b.get("cards");
        if (cards != null && !cards.isNull()) {
            if (b.has("cardCount")) throw ApiException.invalid("cards and cardCount: give one of them");
            if (!cards.isArray()) throw ApiException.invalid("cards: must be a list of {model, memoryMib}");
            int i = 0;
            for (JsonNode c : cards) {
                if (!c.isObject()) throw ApiException.invalid("cards[" + i + "]: must be an object {model, memoryMib}");
                n.addCards(CardInfo.newBuilder().setIndex(i).setModel(Bodies.text(c, "model", true))
                        .setMemoryMib(Bodies.number(c, "memoryMib", 0)).setHealthy(true));
                i++;
            }
        } else {
            long count = Bodies.number(b, "cardCount", -1);
            if (count < 1 || count > 1024) throw ApiException.invalid("cardCount: 1..1024 (or give cards), got " + count);
            String model = Bodies.text(b, "cardModel", true);
            long mem = Bodies.number(b, "cardMemoryMib", 0);
            for (int i = 0; i < count; i++) n.addCards(CardInfo.newBuilder().setIndex(i).setModel(model).setMemoryMib(mem).setHealthy(true));
        }
        return write(r, command(r).setRegisterNode(n), 200);
    }

    /**
     * Fault injection. When the leader has a session with the node's agent, the agent is told to fail the card, so
     * the failure travels the real path (agent report, then the controller); otherwise the card is marked directly.
     */
    private CompletableFuture<Response> failCard(Request r) {
        ObjectNode b = Bodies.object(r.body(), Set.of("nodeId", "card", "reason", "healthy"));
        String nodeId = Bodies.text(b, "nodeId", true);
        long card = Bodies.number(b, "card", -1);
        if (card < 0 || card > 1023) throw ApiException.invalid("card: a card index 0..1023, got " + card);
        boolean healthy = b.has("healthy") && b.get("healthy").asBoolean();
        String reason = b.has("reason") ? Bodies.text(b, "reason", false) : "injected by cardinal debug fail-card";
        Command.Builder direct = command(r).setReportCardHealth(ReportCardHealth.newBuilder()
                .setCard(CardRef.newBuilder().setNodeId(nodeId).setIndex((int) card)).setHealthy(healthy).setReason(reason)
                .setDetectedMs(io.cardinal.state.WallClock.nowMillis()));
        if (!replica.controller().ready() || gateway == null) return write(r, direct);
        return gateway.failCard(nodeId, (int) card, healthy, reason).thenCompose(viaAgent -> {
            if (!viaAgent) return write(r, direct);
            ObjectNode o = Views.JSON.createObjectNode();
            o.put("nodeId", nodeId);
            o.put("card", card);
            o.put("via", "agent");
            o.put("message", "the agent of " + nodeId + " was told to fail card " + card + "; it reports the failure itself");
            return done(Response.json(200, o));
        });
    }

    /** TEST ONLY (chaos suite): skews this replica's wall clock; 404 unless the server runs with test hooks. */
    private Response clockOffset(Request r) {
        requireTestHooks(r);
        ObjectNode b = Bodies.object(r.body(), Set.of("offsetMillis"));
        if (!b.has("offsetMillis") || !b.get("offsetMillis").canConvertToLong()) {
            throw ApiException.invalid("offsetMillis: required, an integer number of milliseconds");
        }
        long offset = b.get("offsetMillis").asLong();
        try {
            io.cardinal.state.WallClock.setOffsetMillis(offset);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(e.getMessage());
        }
        LOG.warn("TEST HOOK: wall clock offset set to {} ms", offset);
        ObjectNode o = Views.JSON.createObjectNode();
        o.put("id", replica.id());
        o.put("offsetMillis", offset);
        return Response.json(200, o);
    }

    private static void requireTestHooks(Request r) {
        if (!io.cardinal.state.WallClock.testHooks()) {
            throw new ApiException("not_found", r.method() + " " + r.path() + " is a test hook: start the server with -D"
                    + io.cardinal.state.WallClock.TEST_HOOKS_PROPERTY + "=true");
        }
    }

    /**
     * TEST ONLY: cuts Raft traffic between {@code peers} and the other replicas for {@code millis}; every replica must
     * be sent the same request (see {@link io.cardinal.consensus.RaftIsolation}). 404 unless the server runs with test hooks.
     */
    private Response raftIsolate(Request r) {
        requireTestHooks(r);
        ObjectNode b = Bodies.object(r.body(), Set.of("peers", "millis"));
        if (!b.path("peers").isArray() || b.path("peers").isEmpty()) throw ApiException.invalid("peers: required, a non-empty list of replica ids");
        Set<String> peers = new java.util.TreeSet<>();
        b.path("peers").forEach(n -> peers.add(n.asText()));
        long millis = Bodies.number(b, "millis", -1);
        try {
            io.cardinal.consensus.RaftIsolation.isolate(peers, millis);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("millis: " + e.getMessage());
        }
        ObjectNode o = Views.JSON.createObjectNode();
        o.put("id", replica.id());
        o.put("millis", millis);
        return Response.json(200, o);
    }

    private CompletableFuture<Response> write(Request r, Command.Builder cmd) {
        return write(r, cmd, 200);
    }

    private CompletableFuture<Response> write(Request r, Command.Builder cmd, int okStatus) {
        Command c = cmd.build();
        if (!replica.controller().ready()) return forwarder.forward(r, () -> write(r, cmd, okStatus));
        Timer.Sample sample = Timer.start(metrics);
        return replica.submit(c).orTimeout(WRITE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS).handle((reply, ex) -> {
            String kind = c.getBodyCase().name().toLowerCase();
            if (ex != null) {
                sample.stop(metrics.timer("cardinal.commands", "kind", kind, "outcome", "timeout"));
                return CompletableFuture.completedFuture(Response.error("unavailable", "no reply within " + WRITE_TIMEOUT_MILLIS
                        + " ms; the outcome is unknown: retry with the same Idempotency-Key"));
            }
            sample.stop(metrics.timer("cardinal.commands", "kind", kind, "outcome", reply.getOk() ? "ok" : reply.getCode()));
            // not_leader: the controller stopped before it ran the command, so it is safe to send on
            if (!reply.getOk() && reply.getCode().equals("not_leader")) return forwarder.forward(r, () -> write(r, cmd, okStatus));
            return CompletableFuture.completedFuture(replyResponse(reply, okStatus));
        }).thenCompose(f -> f);
    }

    private static Response replyResponse(Reply reply, int okStatus) {
        if (!reply.getOk()) return Response.error(reply.getCode().isEmpty() ? "internal" : reply.getCode(), reply.getMessage());
        ObjectNode o = Views.JSON.createObjectNode();
        if (!reply.getJobId().isEmpty()) o.put("jobId", reply.getJobId());
        o.put("duplicate", reply.getDuplicate());
        o.put("logIndex", reply.getLogIndex());
        o.put("events", reply.getEvents());
        if (reply.getEpoch() > 0) o.put("epoch", reply.getEpoch());
        if (!reply.getMessage().isEmpty()) o.put("message", reply.getMessage());
        return Response.json(reply.getDuplicate() ? 200 : okStatus, o);
    }

    /** The replicated member list first (it follows membership changes), the config's peers as fallback. */
    String httpAddress(String id) {
        for (Member m : members()) if (m.getId().equals(id)) return m.getHttpAddress();
        return null;
    }

    public List<Member> members() {
        List<Member> fromState = new ArrayList<>();
        replica.stateMachine().read(s -> fromState.addAll(s.members()));
        Map<String, Member> all = new LinkedHashMap<>();
        for (Member m : config.members()) all.put(m.getId(), m);
        for (Member m : fromState) all.put(m.getId(), m);
        return new ArrayList<>(all.values());
    }

    // ---- reads ------------------------------------------------------------------------------------------------

    private CompletableFuture<Response> read(Query q, boolean stale) {
        return replica.query(q, stale).thenApply(json -> {
            JsonNode err = json.get("error");
            if (err != null) return Response.error(err.path("code").asText("internal"), err.path("message").asText());
            return Response.json(200, json);
        });
    }

    private Response healthz() {
        ObjectNode o = Views.JSON.createObjectNode();
        String role = replica.role();
        String stalled = replica.stateMachine().stalled();
        boolean ok = (role.equals("LEADER") || role.equals("FOLLOWER")) && stalled == null && replica.leaderId() != null;
        o.put("status", ok ? "ok" : "unavailable");
        o.put("id", replica.id());
        o.put("role", role);
        if (stalled != null) o.put("error", stalled);
        else if (replica.leaderId() == null) o.put("error", "no leader known");
        return Response.json(ok ? 200 : 503, o);
    }

    ObjectNode status() {
        ObjectNode o = Views.JSON.createObjectNode();
        o.put("id", replica.id());
        o.put("role", replica.role());
        o.put("pid", ProcessHandle.current().pid());
        o.put("term", replica.term());
        o.put("commitIndex", replica.commitIndex());
        o.put("leaderId", replica.leaderId());
        o.put("leaderReady", replica.controller().ready());
        if (io.cardinal.state.WallClock.testHooks()) o.put("clockOffsetMillis", io.cardinal.state.WallClock.offsetMillis());
        o.put("appliedIndex", replica.stateMachine().appliedIndex());
        replica.stateMachine().read(s -> {
            o.put("stateAppliedIndex", s.appliedIndex());
            o.put("lastEventSeq", s.lastEventSeq());
            o.put("stateHash", s.stateHash());
            o.set("counts", Views.counts(s));
        });
        ArrayNode members = o.putArray("members");
        for (Member m : members()) {
            ObjectNode mo = members.addObject();
            mo.put("id", m.getId());
            mo.put("raftAddress", m.getRaftAddress());
            mo.put("httpAddress", m.getHttpAddress());
            mo.put("agentAddress", m.getAgentAddress());
        }
        ArrayNode voting = o.putArray("raftPeers");
        replica.raftPeerIds().forEach(voting::add);
        o.put("error", replica.stateMachine().stalled());
        return o;
    }

    private CompletableFuture<Response> clusterStatus() {
        List<CompletableFuture<JsonNode>> all = new ArrayList<>();
        for (Member m : members()) {
            if (m.getId().equals(replica.id())) {
                all.add(CompletableFuture.completedFuture(status()));
                continue;
            }
            HttpRequest req = HttpRequest.newBuilder(URI.create("http://" + m.getHttpAddress() + "/v1/status"))
                    .timeout(Duration.ofSeconds(2)).GET().build();
            all.add(http.sendAsync(req, HttpResponse.BodyHandlers.ofByteArray()).thenApply(resp -> {
                try {
                    return Views.JSON.readTree(resp.body());
                } catch (java.io.IOException e) {
                    throw new CompletionException(e);
                }
            }).exceptionally(e -> {
                ObjectNode u = Views.JSON.createObjectNode();
                u.put("id", m.getId());
                u.put("httpAddress", m.getHttpAddress());
                u.put("role", "UNREACHABLE");
                u.put("error", String.valueOf(e.getCause() == null ? e : e.getCause()));
                return u;
            }));
        }
        return CompletableFuture.allOf(all.toArray(new CompletableFuture[0])).thenApply(v -> {
            ObjectNode o = Views.JSON.createObjectNode();
            ArrayNode arr = o.putArray("replicas");
            for (CompletableFuture<JsonNode> f : all) arr.add(f.join());
            return Response.json(200, o);
        });
    }

    // ---- admin ------------------------------------------------------------------------------------------------

    private CompletableFuture<Response> members(Request r) {
        ObjectNode b = Bodies.object(r.body(), Set.of("action", "id", "raftAddress", "httpAddress", "agentAddress"));
        String action = Bodies.text(b, "action", true);
        String id = Bodies.text(b, "id", true);
        if (!replica.controller().ready()) return forwarder.forward(r, () -> members(r));
        List<Member> current = members();
        List<Member> next = new ArrayList<>();
        Set<String> voting = Set.copyOf(replica.raftPeerIds());
        for (Member m : current) if (voting.contains(m.getId())) next.add(m);
        if (action.equals("add")) {
            if (voting.contains(id)) throw new ApiException("conflict", "replica " + id + " is already a member");
            next.add(Member.newBuilder().setId(id).setRaftAddress(Bodies.text(b, "raftAddress", true))
                    .setHttpAddress(Bodies.text(b, "httpAddress", true)).setAgentAddress(Bodies.text(b, "agentAddress", false)).build());
        } else if (action.equals("remove")) {
            if (!voting.contains(id)) throw new ApiException("not_found", "replica " + id + " is not a member; members: " + voting);
            if (next.size() <= 1) throw new ApiException("conflict", "cannot remove the last member");
            next.removeIf(m -> m.getId().equals(id));
        } else {
            throw ApiException.invalid("action: must be add or remove, got \"" + action + "\"");
        }
        return CompletableFuture.supplyAsync(() -> {
            try {
                replica.setMembers(next);
            } catch (java.io.IOException e) {
                throw new ApiException("unavailable", e.getMessage() + (action.equals("add")
                        ? "; is the new replica running (its peers list = the current members plus itself) and reachable at its raftAddress?" : ""));
            }
            return null;
        }).thenCompose(v -> replica.submit(command(r).setSetMembers(SetMembers.newBuilder().addAllMembers(next)).build()))
                .thenApply(reply -> {
                    if (!reply.getOk()) return Response.error(reply.getCode(), reply.getMessage());
                    ObjectNode o = Views.JSON.createObjectNode();
                    ArrayNode arr = o.putArray("members");
                    for (Member m : next) arr.addObject().put("id", m.getId()).put("raftAddress", m.getRaftAddress())
                            .put("httpAddress", m.getHttpAddress());
                    return Response.json(200, o);
                });
    }

    private CompletableFuture<Response> leaderTransfer(Request r) {
        ObjectNode b = Bodies.object(r.body(), Set.of("to"));
        String to = Bodies.text(b, "to", true);
        if (!replica.raftPeerIds().contains(to)) throw new ApiException("not_found", "replica " + to + " is not a member: " + replica.raftPeerIds());
        return CompletableFuture.supplyAsync(() -> {
            try {
                replica.transferLeadership(to, 10_000);
            } catch (java.io.IOException e) {
                throw new ApiException("unavailable", e.getMessage());
            }
            ObjectNode o = Views.JSON.createObjectNode();
            o.put("leaderId", to);
            return Response.json(200, o);
        });
    }

    private CompletableFuture<Response> snapshot() {
        return CompletableFuture.supplyAsync(() -> {
            try {
                long index = replica.takeSnapshot(60_000);
                ObjectNode o = Views.JSON.createObjectNode();
                o.put("id", replica.id());
                o.put("index", index);
                return Response.json(200, o);
            } catch (java.io.IOException e) {
                throw new ApiException("unavailable", "snapshot failed: " + e.getMessage());
            }
        });
    }
}
