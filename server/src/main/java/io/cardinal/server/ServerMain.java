package io.cardinal.server;

import io.cardinal.allocator.policy.Policies;
import io.cardinal.consensus.Replica;
import io.cardinal.server.config.ServerConfig;
import io.cardinal.server.gateway.AgentGateway;
import io.cardinal.server.http.Api;
import io.cardinal.server.http.HttpServer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/** The cardinal-server daemon: {@code cardinal-server --config FILE} (docs/server-config.md). */
public final class ServerMain {
    private static final Logger LOG = LoggerFactory.getLogger(ServerMain.class);
    /** Exit code when the replica stops itself rather than diverge. */
    public static final int EXIT_FATAL = 70;
    public static final int EXIT_CONFIG = 1;

    private ServerMain() {
    }

    public static void main(String[] args) throws Exception {
        Path configFile = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) configFile = Path.of(args[++i]);
            else if (args[i].equals("--help") || args[i].equals("-h")) {
                System.out.println("usage: cardinal-server --config FILE   (see docs/server-config.md)");
                return;
            } else {
                System.err.println("cardinal-server: unknown argument " + args[i] + "; usage: cardinal-server --config FILE");
                System.exit(EXIT_CONFIG);
            }
        }
        if (configFile == null) {
            System.err.println("cardinal-server: --config FILE is required (see docs/server-config.md)");
            System.exit(EXIT_CONFIG);
        }
        ServerConfig config;
        try {
            config = ServerConfig.load(configFile);
        } catch (ServerConfig.ConfigException e) {
            System.err.println("cardinal-server: " + e.getMessage());
            System.exit(EXIT_CONFIG);
            return;
        }
        Path dataDir = Path.of(config.dataDir).toAbsolutePath();
        Files.createDirectories(dataDir);
        Path fatalFile = dataDir.resolve("FATAL");
        if (Files.exists(fatalFile)) {
            System.err.println("cardinal-server: replica " + config.id + " stopped itself earlier: "
                    + Files.readString(fatalFile).trim() + "\nInvestigate, then remove " + fatalFile + " to start it again.");
            System.exit(EXIT_FATAL);
        }
        PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(metrics);
        new JvmGcMetrics().bindTo(metrics);
        new JvmThreadMetrics().bindTo(metrics);
        new ProcessorMetrics().bindTo(metrics);
        Replica.Settings settings = new Replica.Settings(config.id, dataDir, config.members(), config.snapshotEveryEntries,
                config.electionTimeoutMinMillis, config.electionTimeoutMaxMillis, config.minFreeDiskMiB, config.readTimeoutMillis,
                config.logSegmentSizeKiB);
        Replica replica = Replica.start(settings, () -> Policies.byName(config.placementPolicy), config.lendSpares, (message, cause) -> {
            LOG.error("FATAL: {}", message, cause);
            try {
                Files.writeString(fatalFile, message + "\n", StandardCharsets.UTF_8);
            } catch (IOException e) {
                LOG.error("cannot write {}", fatalFile, e);
            }
            // halt, not exit: shutdown hooks could try to use the state that just broke.
            Runtime.getRuntime().halt(EXIT_FATAL);
        });
        Gauge.builder("cardinal.raft.term", replica, Replica::term).register(metrics);
        Gauge.builder("cardinal.raft.commit.index", replica, Replica::commitIndex).register(metrics);
        Gauge.builder("cardinal.applied.index", replica, r -> r.stateMachine().appliedIndex()).register(metrics);
        Gauge.builder("cardinal.leader", replica, r -> r.controller().ready() ? 1 : 0).register(metrics);
        io.micrometer.core.instrument.FunctionCounter.builder("cardinal.read.barriers", replica, Replica::readBarriersSent)
                .description("read barriers this replica appended (one per batch of concurrent linearizable reads)").register(metrics);
        Api api = new Api(replica, config, metrics, metrics::scrape);
        AgentGateway gateway = new AgentGateway(replica, api::members, metrics, config.heartbeatTtlMillis, config.lostNodeHoldMillis);
        api.attachGateway(gateway);
        replica.stateMachine().addListener(gateway);
        String agentAddress = config.self().agentAddress;
        if (agentAddress != null && !agentAddress.isEmpty()) {
            int a = agentAddress.lastIndexOf(':');
            gateway.start(new InetSocketAddress(agentAddress.substring(0, a), Integer.parseInt(agentAddress.substring(a + 1))));
        } else {
            LOG.info("no agentAddress configured for {}: agents cannot connect to this replica", config.id);
        }
        HttpServer http = new HttpServer(api);
        replica.stateMachine().addListener(http);
        replica.stateMachine().addListener((index, events) -> metrics.counter("cardinal.events.applied").increment(events.size()));
        String httpAddress = config.self().httpAddress;
        int i = httpAddress.lastIndexOf(':');
        http.start(new InetSocketAddress(httpAddress.substring(0, i), Integer.parseInt(httpAddress.substring(i + 1))));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            LOG.info("replica {} shutting down", config.id);
            http.close();
            gateway.close();
            try {
                replica.close();
            } catch (IOException e) {
                LOG.warn("close failed", e);
            }
            stopped.countDown();
        }, "shutdown"));
        LOG.info("cardinal-server {} up: raft {}, http {}, data {}", config.id, config.self().raftAddress, httpAddress, dataDir);
        stopped.await();
    }
}
