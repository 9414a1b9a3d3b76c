package io.cardinal.cli.dev;

import java.nio.file.Path;

/** One replica of a dev cluster: its addresses and its directory DIR/&lt;id&gt;/ (config, data, log, pid). */
public record Replica(String id, String raftAddress, String httpAddress, String agentAddress, Path dir) {
  public Path configFile() {
    return dir.resolve("server.yaml");
  }

  public Path dataDir() {
    return dir.resolve("data");
  }

  public Path logFile() {
    return dir.resolve("server.log");
  }

  public Path pidFile() {
    return dir.resolve("pid");
  }
}
