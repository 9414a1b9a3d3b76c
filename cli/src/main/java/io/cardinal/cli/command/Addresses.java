package io.cardinal.cli.command;

import io.cardinal.cli.CliException;

/** host:port flags are checked here so a typo fails fast with exit 1 instead of as a server-side error. */
final class Addresses {
  private Addresses() {}

  static void check(String flag, String value) {
    int colon = value.lastIndexOf(':');
    int port = -1;
    if (colon > 0 && colon < value.length() - 1) {
      try {
        port = Integer.parseInt(value.substring(colon + 1));
      } catch (NumberFormatException e) {
        port = -1;
      }
    }
    if (port < 1 || port > 65535) {
      throw CliException.invalid(flag + ": \"" + value + "\" is not host:port (for example 127.0.0.1:7004)");
    }
  }
}
