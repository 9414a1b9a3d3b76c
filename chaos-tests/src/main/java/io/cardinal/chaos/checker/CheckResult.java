package io.cardinal.chaos.checker;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.chaos.history.Http;

/** One checker's verdict: valid or not, the first errors (at most {@link #MAX_ERRORS}) and counters. */
public final class CheckResult {
    public static final int MAX_ERRORS = 20;
    private final String name;
    private final ObjectNode json = Http.JSON.createObjectNode();
    private final ArrayNode errors;
    private int errorCount;

    public CheckResult(String name) {
        this.name = name;
        json.put("valid", true);
        errors = json.putArray("errors");
    }

    public String name() {
        return name;
    }

    public CheckResult error(String message) {
        json.put("valid", false);
        if (errorCount++ < MAX_ERRORS) errors.add(message);
        json.put("errorCount", errorCount);
        return this;
    }

    /** Not enough information to decide (e.g. the search budget ran out): recorded, and counted as not valid. */
    public CheckResult unknown(String message) {
        json.put("unknown", message);
        return error("unknown: " + message);
    }

    public CheckResult put(String key, long value) {
        json.put(key, value);
        return this;
    }

    public CheckResult put(String key, String value) {
        json.put(key, value);
        return this;
    }

    public boolean valid() {
        return json.path("valid").asBoolean();
    }

    public ObjectNode json() {
        return json;
    }

    @Override
    public String toString() {
        return name + " " + json;
    }
}
