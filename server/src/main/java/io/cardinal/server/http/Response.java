package io.cardinal.server.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.cardinal.state.query.QueryEngine;
import io.cardinal.state.query.Views;

import java.nio.charset.StandardCharsets;

/** A complete HTTP answer. */
public record Response(int status, String contentType, byte[] body) {
    public static Response json(int status, JsonNode body) {
        try {
            return new Response(status, "application/json", Views.JSON.writeValueAsBytes(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Response error(String code, String message) {
        return json(ApiException.status(code), QueryEngine.error(code, message));
    }

    public static Response text(int status, String contentType, String body) {
        return new Response(status, contentType, body.getBytes(StandardCharsets.UTF_8));
    }
}
