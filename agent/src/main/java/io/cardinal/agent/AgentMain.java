package io.cardinal.agent;

import io.cardinal.agent.config.AgentConfig;
import io.cardinal.agent.config.AgentConfigLoader;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code cardinal-agent --config FILE}: runs the node agent until it is stopped (SIGTERM) or the
 * server refuses its protocol version. Exit codes: 0 stopped, 2 bad usage or config, 3 refused by
 * the server (incompatible version), 1 anything else.
 */
public final class AgentMain {
  private AgentMain() {}

  public static void main(String[] args) {
    // A named config (not logback.xml) so the agent's jar does not fight other modules' on one classpath.
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "io/cardinal/agent/logback-agent.xml");
    }
    Logger log = LoggerFactory.getLogger(AgentMain.class);
    Path configFile = null;
    for (int i = 0; i < args.length; i++) {
      if ((args[i].equals("--config") || args[i].equals("-c")) && i + 1 < args.length) {
        configFile = Path.of(args[++i]);
      } else if (args[i].startsWith("--config=")) {
        configFile = Path.of(args[i].substring("--config=".length()));
      } else if (args[i].equals("--help") || args[i].equals("-h")) {
        System.out.println("usage: cardinal-agent --config FILE   (see agent/README.md for the keys)");
        return;
      } else {
        System.err.println("cardinal-agent: unknown argument '" + args[i] + "'; usage: cardinal-agent --config FILE");
        System.exit(2);
      }
    }
    if (configFile == null) {
      System.err.println("cardinal-agent: --config FILE is required (see agent/README.md)");
      System.exit(2);
    }
    AgentConfig config;
    try {
      config = AgentConfigLoader.load(configFile);
    } catch (AgentConfigLoader.ConfigException e) {
      System.err.println("cardinal-agent: " + e.getMessage());
      System.exit(2);
      return;
    }
    Agent agent = new Agent(config);
    Runtime.getRuntime().addShutdownHook(new Thread(agent::close, "agent-shutdown"));
    try {
      agent.start();
    } catch (Exception e) {
      log.error("cardinal-agent failed to start: {}", e.getMessage(), e);
      System.exit(1);
    }
    String reason = agent.fatal().join();
    log.error("cardinal-agent exiting: {}", reason);
    System.exit(3);
  }
}
