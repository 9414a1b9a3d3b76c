package io.cardinal.chaos.history;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One completed operation of the history: who ran it, what, through which replica, when it was invoked and when it
 * completed (nanoseconds since the run started, and wall-clock millis), and its outcome: {@code ok}, {@code fail}
 * (definitely not applied) or {@code info} (unknown: timed out, connection lost, 503).
 */
public record Op(long index, String process, String f, String type, String replica, long invokeNs, long completeNs,
                 long invokeMs, long completeMs, JsonNode args, JsonNode result) {
    public static final String OK = "ok";
    public static final String FAIL = "fail";
    public static final String INFO = "info";

    public boolean ok() {
        return type.equals(OK);
    }

    public boolean isWrite() {
        return switch (f) {
            case "submit", "cancel", "fail-card", "heal-card", "drain", "uncordon", "register", "probe" -> true;
            default -> false;
        };
    }

    public ObjectNode toJson() {
        ObjectNode o = Http.JSON.createObjectNode();
        o.put("index", index).put("process", process).put("f", f).put("type", type).put("replica", replica)
                .put("invokeNs", invokeNs).put("completeNs", completeNs).put("invokeMs", invokeMs).put("completeMs", completeMs);
        o.set("args", args);
        o.set("result", result);
        return o;
    }

    public static Op fromJson(JsonNode o) {
        return new Op(o.path("index").asLong(), o.path("process").asText(), o.path("f").asText(), o.path("type").asText(),
                o.path("replica").asText(), o.path("invokeNs").asLong(), o.path("completeNs").asLong(), o.path("invokeMs").asLong(),
                o.path("completeMs").asLong(), o.path("args"), o.path("result"));
    }
}
