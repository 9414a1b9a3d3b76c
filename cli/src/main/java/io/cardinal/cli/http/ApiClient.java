package io.cardinal.cli.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cardinal.cli.CliException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodySubscribers;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The CLI's client of the HTTP API. Any replica serves any request, so it tries the servers in order and moves
 * to the next one when a server cannot be reached or answers 503. A request that may already have reached a
 * server is only repeated when it is {@linkplain ApiRequest#repeatable() repeatable}.
 */
public final class ApiClient {
  static final String HINT_UNREACHABLE =
      "Is the cluster up? Try 'cardinal dev up --dir DIR' or set CARDINAL_SERVERS.";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_ERROR_CHARS = 300;

  private final List<URI> servers;
  private final HttpClient http;
  private final Duration connectTimeout;
  private final Duration requestTimeout;

  public ApiClient(List<URI> servers, Duration connectTimeout, Duration requestTimeout) {
    if (servers.isEmpty()) {
      throw new IllegalArgumentException("no servers");
    }
    this.servers = List.copyOf(servers);
    this.connectTimeout = connectTimeout;
    this.requestTimeout = requestTimeout;
    // HTTP/1.1: the server is plain Netty HTTP/1.1, and an h2c upgrade attempt only adds a round of headers.
    this.http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(connectTimeout)
        .followRedirects(HttpClient.Redirect.NEVER)
        .build();
  }

  public List<URI> servers() {
    return servers;
  }

  /** Sends with one try per server. */
  public ApiResponse send(ApiRequest request) {
    return send(request, RetryPolicy.onePass(servers.size()));
  }

  /**
   * Sends until a server gives a non-503 answer, within the policy's limits. Returns that answer whatever its
   * status (callers turn 4xx into errors with {@link #requireOk}); throws exit-2 errors when nobody answered.
   */
  public ApiResponse send(ApiRequest request, RetryPolicy policy) {
    Failures failures = new Failures();
    long deadlineNanos = System.nanoTime() + policy.budget().toNanos();
    Duration backoff = policy.initialBackoff();
    int attempts = 0;
    while (true) {
      for (URI server : servers) {
        if (attempts >= policy.maxAttempts() || (attempts > 0 && System.nanoTime() >= deadlineNanos)) {
          throw failures.toException();
        }
        attempts++;
        ApiResponse response = tryOnce(server, request, failures);
        if (response != null) {
          return response;
        }
      }
      if (attempts >= policy.maxAttempts()) {
        throw failures.toException();
      }
      long leftNanos = deadlineNanos - System.nanoTime();
      if (leftNanos <= 0) {
        throw failures.toException();
      }
      sleep(Math.min(backoff.toNanos(), leftNanos));
      backoff = backoff.multipliedBy(2).compareTo(policy.maxBackoff()) > 0 ? policy.maxBackoff() : backoff.multipliedBy(2);
    }
  }

  /** One request to one server; null (with the reason recorded) when the next server should be tried. */
  private ApiResponse tryOnce(URI server, ApiRequest request, Failures failures) {
    HttpRequest.Builder b = HttpRequest.newBuilder(server.resolve(request.path()))
        .timeout(requestTimeout)
        .header("Accept", "application/json");
    request.headers().forEach(b::header);
    if (request.jsonBody() != null) {
      b.header("Content-Type", "application/json");
      b.method(request.method(), HttpRequest.BodyPublishers.ofString(request.jsonBody(), StandardCharsets.UTF_8));
    } else {
      b.method(request.method(), HttpRequest.BodyPublishers.noBody());
    }
    try {
      HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      if (r.statusCode() == 503) {
        failures.add(server, "503 " + errorMessage(r.body()), true);
        return null;
      }
      return new ApiResponse(r.statusCode(), r.body(), server);
    } catch (HttpConnectTimeoutException e) {
      failures.add(server, "no connection within " + seconds(connectTimeout), false);
      return null;
    } catch (ConnectException e) {
      failures.add(server, connectReason(e), false);
      return null;
    } catch (HttpTimeoutException e) {
      return afterSent(server, request, failures, "no answer within " + seconds(requestTimeout));
    } catch (IOException e) {
      return afterSent(server, request, failures, "connection failed: " + reason(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw CliException.unreachable("interrupted while waiting for " + ServerList.display(server));
    } catch (IllegalArgumentException e) {
      // UnresolvedAddressException is one of these.
      failures.add(server, "unknown host", false);
      return null;
    }
  }

  private ApiResponse afterSent(URI server, ApiRequest request, Failures failures, String why) {
    if (request.repeatable()) {
      failures.add(server, why, false);
      return null;
    }
    // Repeating it elsewhere could apply it twice (members add, cordon...): let the person look first.
    throw CliException.unreachable(ServerList.display(server) + ": " + why
        + "; the request may or may not have taken effect. Check the cluster state before retrying.");
  }

  /** Turns a non-2xx answer into the one-line error the CLI prints (exit 1). */
  public static ApiResponse requireOk(ApiResponse response) {
    if (response.ok()) {
      return response;
    }
    String code = errorCode(response.body());
    throw CliException.invalid(errorMessage(response.body()) + " (HTTP " + response.status()
        + (code.isEmpty() ? "" : " " + code) + " from " + ServerList.display(response.server()) + ")");
  }

  /** The {@code error.message} of an error body, or the body itself, shortened, on one line. */
  public static String errorMessage(String body) {
    JsonNode error = errorNode(body);
    String message = error != null && error.path("message").isTextual() ? error.path("message").asText()
        : (body == null || body.isBlank() ? "(empty response)" : body);
    message = message.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
    return message.length() > MAX_ERROR_CHARS ? message.substring(0, MAX_ERROR_CHARS) + "..." : message;
  }

  private static String errorCode(String body) {
    JsonNode error = errorNode(body);
    return error != null && error.path("code").isTextual() ? error.path("code").asText() : "";
  }

  private static JsonNode errorNode(String body) {
    if (body == null || body.isBlank()) {
      return null;
    }
    try {
      JsonNode n = JSON.readTree(body).path("error");
      return n.isObject() ? n : null;
    } catch (IOException e) {
      return null;
    }
  }

  // ---- streaming ----

  /**
   * Opens an NDJSON stream (GET) on the first server that answers 200. Non-stream answers (4xx) are errors
   * with exit 1; nobody answering is exit 2.
   */
  public LineStream openStream(String path) {
    Failures failures = new Failures();
    for (URI server : servers) {
      LineStream stream = tryOpen(server, path, failures);
      if (stream != null) {
        return stream;
      }
    }
    throw failures.toException();
  }

  private LineStream tryOpen(URI server, String path, Failures failures) {
    HttpRequest req = HttpRequest.newBuilder(server.resolve(path))
        .header("Accept", "application/x-ndjson")
        .GET()
        .build();
    LineStream lines = new LineStream(server);
    CompletableFuture<Integer> status = new CompletableFuture<>();
    // The status arrives with the headers, long before a followed stream ends.
    CompletableFuture<HttpResponse<String>> response = http.sendAsync(req, info -> {
      status.complete(info.statusCode());
      return info.statusCode() == 200
          ? BodySubscribers.fromLineSubscriber(lines, s -> null, StandardCharsets.UTF_8, null)
          : BodySubscribers.ofString(StandardCharsets.UTF_8);
    });
    response.whenComplete((r, t) -> lines.finished(t));
    lines.attach(response);
    long waitMillis = connectTimeout.plus(requestTimeout).toMillis();
    try {
      CompletableFuture.anyOf(status, response).get(waitMillis, TimeUnit.MILLISECONDS);
      if (!status.isDone()) {
        response.join(); // completed without headers: rethrows its failure
      }
      int code = status.join();
      if (code == 200) {
        return lines;
      }
      HttpResponse<String> r = response.get(waitMillis, TimeUnit.MILLISECONDS);
      if (code == 503) {
        failures.add(server, "503 " + errorMessage(r.body()), true);
        return null;
      }
      requireOk(new ApiResponse(code, r.body(), server));
      throw new IllegalStateException("unreachable: requireOk throws for " + code);
    } catch (TimeoutException e) {
      lines.close();
      failures.add(server, "no answer within " + waitMillis / 1000 + "s", false);
      return null;
    } catch (ExecutionException | java.util.concurrent.CompletionException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      if (cause instanceof HttpConnectTimeoutException) {
        failures.add(server, "no connection within " + seconds(connectTimeout), false);
      } else if (cause instanceof ConnectException) {
        failures.add(server, connectReason(cause), false);
      } else {
        failures.add(server, "connection failed: " + reason(cause), false);
      }
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      lines.close();
      throw CliException.unreachable("interrupted while connecting to " + ServerList.display(server));
    }
  }

  // ---- failures ----

  /** The last reason each server failed, for the one-line "cannot reach" message. */
  private static final class Failures {
    private final Map<String, String> lastReason = new LinkedHashMap<>();
    private boolean sawUnavailable;

    void add(URI server, String reason, boolean unavailable) {
      lastReason.put(ServerList.display(server), reason);
      sawUnavailable |= unavailable;
    }

    CliException toException() {
      List<String> parts = new ArrayList<>();
      lastReason.forEach((server, reason) -> parts.add(server + ": " + reason));
      String detail = "(" + String.join("; ", parts) + ")";
      if (sawUnavailable) {
        return CliException.unreachable("the cluster cannot serve this request now " + detail
            + ". It may be electing a leader or lack a quorum: retry shortly, or check 'cardinal cluster status'.");
      }
      return CliException.unreachable("cannot reach any server " + detail + ". " + HINT_UNREACHABLE);
    }
  }

  private static String connectReason(Throwable e) {
    String m = e.getMessage();
    if (m == null || m.isBlank() || m.contains("Connection refused")) {
      return "connection refused";
    }
    return reason(e);
  }

  private static String reason(Throwable e) {
    Throwable t = e;
    for (int depth = 0; depth < 5 && t.getCause() != null && (t.getMessage() == null || t.getMessage().isBlank());
        depth++) {
      t = t.getCause();
    }
    String m = t.getMessage();
    return m == null || m.isBlank() ? t.getClass().getSimpleName() : m.strip();
  }

  private static String seconds(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
  }

  private static void sleep(long nanos) {
    try {
      TimeUnit.NANOSECONDS.sleep(nanos);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw CliException.unreachable("interrupted while retrying");
    }
  }
}
