package io.cardinal.server.config;

import java.nio.file.Files;
import java.nio.file.Path;

/** A one-replica server config in {@code dir} with {@code extra} YAML lines appended, loaded as the server does. */
final class ConfigFiles {
    private ConfigFiles() {
    }

    static ServerConfig load(Path dir, String extra) throws Exception {
        Path f = dir.resolve("server.yaml");
        Files.writeString(f, "id: n1\ndataDir: " + dir.resolve("data") + "\npeers:\n"
                + "  - {id: n1, raftAddress: 127.0.0.1:7001, httpAddress: 127.0.0.1:8001, agentAddress: 127.0.0.1:9001}\n" + extra);
        return ServerConfig.load(f);
    }
}
