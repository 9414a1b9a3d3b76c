package io.cardinal.chaos.checker;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/** Helpers over events as the API renders them ({"seq","timeMs","type", body fields camelCase; int64 as strings}). */
public final class Events {
    private Events() {
    }

    public static String type(JsonNode e) {
        return e.path("type").asText();
    }

    public static String jobId(JsonNode e) {
        return e.path("jobId").asText();
    }

    public static long attempt(JsonNode e) {
        return e.path("attempt").asLong();
    }

    /** "node/card" of every card in a placement. */
    public static List<String> cards(JsonNode placement) {
        List<String> out = new ArrayList<>();
        for (JsonNode t : placement.path("tasks")) {
            for (JsonNode c : t.path("cardIndices")) out.add(t.path("nodeId").asText() + "/" + c.asInt());
        }
        return out;
    }

    /** Events that take a job's cards away (release). */
    public static boolean releases(String type) {
        return switch (type) {
            case "JobInterrupted", "JobPreempted", "JobSucceeded", "JobFailed", "JobCancelled" -> true;
            default -> false;
        };
    }
}
