package io.cardinal.chaos.host;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** The YAML config of one replica (docs/server-config.md). */
final class ServerConfigs {
    private ServerConfigs() {
    }

    /** {@code peers}: id -> {raftAddress, httpAddress}. */
    static String yaml(String id, String dataDir, Map<String, List<String>> peers) {
        StringBuilder y = new StringBuilder();
        y.append("id: ").append(id).append('\n');
        y.append("dataDir: ").append(dataDir).append('\n');
        y.append("peers:\n");
        for (Map.Entry<String, List<String>> e : peers.entrySet()) {
            y.append("  - {id: ").append(e.getKey()).append(", raftAddress: ").append(e.getValue().get(0))
                    .append(", httpAddress: ").append(e.getValue().get(1)).append("}\n");
        }
        y.append("snapshotEveryEntries: 2000\n");
        return y.toString();
    }

    /** The server classpath: -Dcardinal.server.classpath, else dist/target/cardinal/lib under cardinal.home, else ours. */
    static String serverClasspath() {
        String cp = System.getProperty("cardinal.server.classpath");
        if (cp != null) return cp;
        String home = System.getProperty("cardinal.home");
        if (home != null && Files.isDirectory(Path.of(home, "dist", "target", "cardinal", "lib"))) {
            return Path.of(home, "dist", "target", "cardinal", "lib").toAbsolutePath() + "/*";
        }
        return System.getProperty("java.class.path");
    }

    static final List<String> JVM_FLAGS = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Xshare:auto", "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "-Dchronicle.analytics.disable=true");
}
