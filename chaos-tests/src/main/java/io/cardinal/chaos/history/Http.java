package io.cardinal.chaos.history;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A small JSON-over-HTTP client with a bounded timeout on every request. Status -1: no answer (outcome unknown). */
public final class Http {
    public static final ObjectMapper JSON = new ObjectMapper();

    public record Reply(int status, JsonNode body) {
        public boolean ok() {
            return status >= 200 && status < 300;
        }

        /** A definite refusal: the request was rejected and wrote nothing. 503/timeouts are not definite. */
        public boolean definiteFailure() {
            return status == 400 || status == 404 || status == 409 || status == 413;
        }
    }

    private final HttpClient client;
    private final Duration timeout;

    public Http(Duration timeout) {
        this(timeout, Duration.ofSeconds(2));
    }

    /** {@code connectTimeout} matters where a dead host's address gives no RST (a killed container): the connect hangs. */
    public Http(Duration timeout, Duration connectTimeout) {
        this.timeout = timeout;
        this.client = HttpClient.newBuilder().connectTimeout(connectTimeout).build();
    }

    public Reply get(String address, String path) {
        return send(HttpRequest.newBuilder(URI.create("http://" + address + path)).GET());
    }

    public Reply post(String address, String path, String body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + address + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i + 1 < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return send(b);
    }

    private Reply send(HttpRequest.Builder b) {
        try {
            HttpResponse<String> r = client.send(b.timeout(timeout).build(), HttpResponse.BodyHandlers.ofString());
            JsonNode body;
            try {
                body = r.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(r.body());
            } catch (IOException e) {
                body = JSON.createObjectNode().put("raw", r.body());
            }
            return new Reply(r.statusCode(), body);
        } catch (IOException e) {
            return new Reply(-1, JSON.createObjectNode().put("error", e.toString()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Reply(-1, JSON.createObjectNode().put("error", "interrupted"));
        }
    }

    /** Every event of a replica's committed log (stale read: this replica's own applied state), paging by seq. */
    public List<JsonNode> events(String address, int maxPages) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        long after = 0;
        for (int page = 0; page < maxPages; page++) {
            HttpRequest req = HttpRequest.newBuilder(URI.create("http://" + address + "/v1/events?stale=true&limit=10000&after=" + after))
                    .timeout(Duration.ofSeconds(30)).GET().build();
            HttpResponse<InputStream> r;
            try {
                r = client.send(req, HttpResponse.BodyHandlers.ofInputStream());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
            if (r.statusCode() != 200) throw new IOException("GET events from " + address + ": HTTP " + r.statusCode());
            int n = 0;
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    if (line.isBlank()) continue;
                    JsonNode e = JSON.readTree(line);
                    if (!e.has("seq")) continue;
                    out.add(e);
                    after = Math.max(after, e.path("seq").asLong());
                    n++;
                }
            }
            if (n == 0) return out;
        }
        throw new IOException("more than " + maxPages + " pages of events from " + address);
    }
}
