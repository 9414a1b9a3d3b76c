package io.cardinal.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A fake Cardinal server on 127.0.0.1:0. Each route ("GET /v1/nodes", matched without the query) answers from a
 * queue of scripted responses; the last one repeats. Every request is recorded.
 */
final class StubServer implements AutoCloseable {
  record Request(String method, String path, String query, Map<String, List<String>> headers, String body) {
    String header(String name) {
      for (Map.Entry<String, List<String>> e : headers.entrySet()) {
        if (e.getKey().equalsIgnoreCase(name)) {
          return e.getValue().get(0);
        }
      }
      return null;
    }
  }

  /** A response; {@code lines} (for NDJSON) are written one by one and flushed, then the stream ends. */
  record Response(int status, String body, List<String> lines) {
    static Response json(int status, String body) {
      return new Response(status, body, null);
    }

    static Response ndjson(String... lines) {
      return new Response(200, null, List.of(lines));
    }
  }

  private final HttpServer server;
  private final Map<String, Deque<Response>> routes = new ConcurrentHashMap<>();
  private final List<Request> requests = new CopyOnWriteArrayList<>();

  StubServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    server.createContext("/", this::handle);
    server.start();
  }

  String address() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  StubServer on(String route, Response... responses) {
    routes.put(route, new ArrayDeque<>(List.of(responses)));
    return this;
  }

  StubServer on(String route, int status, String body) {
    return on(route, Response.json(status, body));
  }

  List<Request> requests() {
    return new ArrayList<>(requests);
  }

  Request only() {
    if (requests.size() != 1) {
      throw new AssertionError("expected one request, got " + requests);
    }
    return requests.get(0);
  }

  private void handle(HttpExchange ex) throws IOException {
    String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    String path = ex.getRequestURI().getRawPath();
    requests.add(new Request(ex.getRequestMethod(), path, ex.getRequestURI().getRawQuery(),
        Map.copyOf(ex.getRequestHeaders()), body));
    Deque<Response> queue = routes.get(ex.getRequestMethod() + " " + path);
    Response r;
    if (queue == null) {
      r = Response.json(404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no route " + path + "\"}}");
    } else {
      synchronized (queue) {
        r = queue.size() > 1 ? queue.poll() : queue.peek();
      }
    }
    if (r.lines() != null) {
      ex.getResponseHeaders().add("Content-Type", "application/x-ndjson");
      ex.sendResponseHeaders(200, 0);
      try (OutputStream out = ex.getResponseBody()) {
        for (String line : r.lines()) {
          out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
          out.flush();
        }
      }
      return;
    }
    byte[] bytes = r.body().getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", "application/json");
    ex.sendResponseHeaders(r.status(), bytes.length == 0 ? -1 : bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
