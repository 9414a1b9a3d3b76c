package io.cardinal.cli.dev;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Waits until a cluster can serve: some replica reports role LEADER and a majority answers /healthz ok. */
public final class Readiness {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(1);
  private static final Duration POLL = Duration.ofMillis(250);

  /** What the last probe saw. */
  public record State(Optional<String> leaderId, int healthy, int total) {
    public boolean ready() {
      return leaderId.isPresent() && healthy > total / 2;
    }
  }

  private final HttpClient http = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(PROBE_TIMEOUT)
      .build();

  /**
   * Polls until ready, {@code timeout} passes, or {@code keepWaiting} says there is no point (every replica died).
   * Returns the last state seen either way.
   */
  public State await(List<String> httpAddresses, Duration timeout, BooleanSupplier keepWaiting) {
    long deadline = System.nanoTime() + timeout.toNanos();
    State state = probe(httpAddresses);
    while (!state.ready() && System.nanoTime() < deadline && keepWaiting.getAsBoolean()) {
      try {
        TimeUnit.MILLISECONDS.sleep(POLL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return state;
      }
      state = probe(httpAddresses);
    }
    return state;
  }

  public State probe(List<String> httpAddresses) {
    int healthy = 0;
    Optional<String> leader = Optional.empty();
    List<String> seen = new ArrayList<>();
    for (String address : httpAddresses) {
      Optional<JsonNode> health = getJson(address, "/healthz");
      if (health.isPresent() && "ok".equals(health.get().path("status").asText())) {
        healthy++;
      }
      if (leader.isEmpty()) {
        Optional<JsonNode> status = getJson(address, "/v1/status");
        if (status.isPresent() && "LEADER".equals(status.get().path("role").asText())) {
          leader = Optional.of(status.get().path("id").asText(address));
        }
      }
      seen.add(address);
    }
    return new State(leader, healthy, seen.size());
  }

  private Optional<JsonNode> getJson(String address, String path) {
    try {
      HttpRequest req = HttpRequest.newBuilder(URI.create("http://" + address + path)).timeout(PROBE_TIMEOUT)
          .GET().build();
      HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        return Optional.empty();
      }
      return Optional.of(JSON.readTree(r.body()));
    } catch (IOException | IllegalArgumentException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }
}
