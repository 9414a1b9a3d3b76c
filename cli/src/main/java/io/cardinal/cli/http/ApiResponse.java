package io.cardinal.cli.http;

import java.net.URI;

/** A response that is not 503 (a 503 makes the client try another server). */
public record ApiResponse(int status, String body, URI server) {
  public boolean ok() {
    return status >= 200 && status < 300;
  }
}
