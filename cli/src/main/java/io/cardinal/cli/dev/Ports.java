package io.cardinal.cli.dev;

import io.cardinal.cli.CliException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/** Loopback ports for a dev cluster. */
public final class Ports {
  static final int MAX_PORTS = 64;

  private Ports() {}

  /**
   * {@code count} distinct free loopback ports. All are held open together so the OS cannot hand the same one out
   * twice, then released; another process could take one before the replica binds it, which a dev cluster can
   * live with (rerun `dev up`).
   */
  public static List<Integer> free(int count) {
    if (count < 1 || count > MAX_PORTS) {
      throw new IllegalArgumentException("count must be 1.." + MAX_PORTS + ", got " + count);
    }
    List<ServerSocket> held = new ArrayList<>(count);
    try {
      List<Integer> ports = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        ServerSocket s = new ServerSocket();
        held.add(s);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        ports.add(s.getLocalPort());
      }
      return List.copyOf(ports);
    } catch (IOException e) {
      throw CliException.invalid("cannot find free loopback ports: " + e.getMessage());
    } finally {
      for (ServerSocket s : held) {
        try {
          s.close();
        } catch (IOException ignored) {
          // Closing a listening socket we own does not fail in a way that matters here.
        }
      }
    }
  }

  /** Whether a loopback port can be bound right now. */
  public static boolean isFree(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(false);
      s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
