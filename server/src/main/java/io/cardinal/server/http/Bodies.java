package io.cardinal.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.state.query.Views;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Set;

/** Strict reading of JSON request bodies: unknown fields, wrong types and missing fields name the field. */
final class Bodies {
    private Bodies() {
    }

    static ObjectNode object(byte[] body, Set<String> allowed) {
        if (body.length == 0) return Views.JSON.createObjectNode();
        JsonNode n;
        try {
            n = Views.JSON.readTree(new String(body, StandardCharsets.UTF_8));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw ApiException.invalid("the body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiException.invalid("the body cannot be read: " + e.getMessage());
        }
        if (n == null || n.isMissingNode()) return Views.JSON.createObjectNode();
        if (!n.isObject()) throw ApiException.invalid("the body must be a JSON object");
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) throw ApiException.invalid("unknown field \"" + f + "\" (known: " + allowed + ")");
        }
        return (ObjectNode) n;
    }

    static String text(JsonNode o, String field, boolean required) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            if (required) throw ApiException.invalid(field + ": required");
            return "";
        }
        if (!v.isTextual()) throw ApiException.invalid(field + ": must be a string, got " + v.getNodeType().name().toLowerCase());
        return v.asText();
    }

    static long number(JsonNode o, String field, long dflt) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isIntegralNumber()) throw ApiException.invalid(field + ": must be an integer, got " + v);
        return v.asLong();
    }
}
