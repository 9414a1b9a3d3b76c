package io.cardinal.cli.http;

import io.cardinal.cli.CliException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/** Parses {@code host:port,host:port} (an {@code http://} prefix is allowed) into base URIs, in order. */
public final class ServerList {
  private static final int MAX_SERVERS = 64;

  private ServerList() {}

  public static List<URI> parse(String spec, String source) {
    List<URI> uris = new ArrayList<>();
    for (String raw : spec.split(",")) {
      String s = raw.strip();
      if (s.isEmpty()) {
        continue;
      }
      uris.add(parseOne(s, source));
    }
    if (uris.isEmpty()) {
      throw CliException.invalid(source + " is empty; give host:port[,host:port...]");
    }
    if (uris.size() > MAX_SERVERS) {
      throw CliException.invalid(source + " lists " + uris.size() + " servers; at most " + MAX_SERVERS);
    }
    return List.copyOf(uris);
  }

  private static URI parseOne(String s, String source) {
    String hostPort = s.startsWith("http://") ? s.substring("http://".length()) : s;
    if (hostPort.endsWith("/")) {
      hostPort = hostPort.substring(0, hostPort.length() - 1);
    }
    int colon = hostPort.lastIndexOf(':');
    if (colon <= 0 || colon == hostPort.length() - 1 || hostPort.contains("/")) {
      throw CliException.invalid(source + ": \"" + s + "\" is not host:port (for example 127.0.0.1:8001)");
    }
    int port;
    try {
      port = Integer.parseInt(hostPort.substring(colon + 1));
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (port < 1 || port > 65535) {
      throw CliException.invalid(source + ": \"" + s + "\" has no valid port (1..65535)");
    }
    try {
      return URI.create("http://" + hostPort);
    } catch (IllegalArgumentException e) {
      throw CliException.invalid(source + ": \"" + s + "\" is not host:port");
    }
  }

  /** host:port of a base URI, as people write it. */
  public static String display(URI server) {
    return server.getHost() + ":" + server.getPort();
  }
}
