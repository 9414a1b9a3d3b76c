package io.cardinal.cli.http;

import java.util.Map;

/**
 * One HTTP call. {@code repeatable} says whether sending it twice is harmless (reads, and writes carrying an
 * Idempotency-Key): only then is it retried after a failure that may have happened after the server got it.
 */
public record ApiRequest(String method, String path, String jsonBody, Map<String, String> headers,
    boolean repeatable) {
  public ApiRequest {
    headers = Map.copyOf(headers);
    if (!path.startsWith("/")) {
      throw new IllegalArgumentException("path must start with /: " + path);
    }
  }

  public static ApiRequest get(String path) {
    return new ApiRequest("GET", path, null, Map.of(), true);
  }

  public static ApiRequest post(String path, String jsonBody) {
    return new ApiRequest("POST", path, jsonBody, Map.of(), false);
  }

  public ApiRequest withIdempotencyKey(String key) {
    Map<String, String> h = new java.util.LinkedHashMap<>(headers);
    h.put("Idempotency-Key", key);
    return new ApiRequest(method, path, jsonBody, h, true);
  }
}
