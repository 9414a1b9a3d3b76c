package io.cardinal.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cardinal.cli.CardinalCli;
import io.cardinal.cli.CliContext;
import io.cardinal.cli.http.ApiClient;
import io.cardinal.cli.http.ApiRequest;
import io.cardinal.cli.http.ApiResponse;
import io.cardinal.cli.output.Output;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** What every leaf command shares: the root's options, the API client and the output. */
public abstract class BaseCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  private ApiClient client;

  protected CardinalCli cli() {
    return (CardinalCli) spec.root().userObject();
  }

  protected CliContext context() {
    return cli().context();
  }

  protected Output output() {
    return cli().output();
  }

  protected ApiClient client() {
    if (client == null) {
      client = cli().client();
    }
    return client;
  }

  @Override
  public final Integer call() throws Exception {
    run();
    return 0;
  }

  /** Does the work; reports errors by throwing {@link io.cardinal.cli.CliException}. */
  protected abstract void run() throws Exception;

  protected JsonNode get(String path) {
    return Output.parse(ApiClient.requireOk(client().send(ApiRequest.get(path))).body());
  }

  protected JsonNode post(String path, JsonNode body) {
    ApiResponse r = client().send(ApiRequest.post(path, body == null ? "{}" : Output.compact(body)));
    return Output.parse(ApiClient.requireOk(r).body());
  }

  protected static ObjectNode object() {
    return Output.JSON.createObjectNode();
  }

  /** One path segment: ids are plain, but a stray '/' or space must not change the route. */
  protected static String seg(String id) {
    return URLEncoder.encode(id, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** "?k=v&..." of the non-null values, or "". */
  protected static String query(Map<String, ?> params) {
    StringJoiner j = new StringJoiner("&", "?", "");
    j.setEmptyValue("");
    params.forEach((k, v) -> {
      if (v != null) {
        j.add(k + "=" + URLEncoder.encode(v.toString(), StandardCharsets.UTF_8));
      }
    });
    return j.toString();
  }
}
