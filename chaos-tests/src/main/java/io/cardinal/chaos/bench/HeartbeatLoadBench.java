package io.cardinal.chaos.bench;

import io.cardinal.chaos.harness.LocalCluster;
import io.cardinal.protocol.v1.AgentFrame;
import io.cardinal.protocol.v1.CardInfo;
import io.cardinal.protocol.v1.Heartbeat;
import io.cardinal.protocol.v1.Hello;
import io.cardinal.protocol.v1.Inventory;
import io.cardinal.protocol.wire.Frames;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Benchmark A (issue 4): one leader (of 3 real replicas) with N simulated agents, all from this one process over
 * Netty, each speaking the agent protocol: Hello -> Welcome -> Inventory -> a Heartbeat every second (8 cards, no
 * tasks), nothing else answered (a silent node does not answer Probes either). Prints registration rate, the
 * leader's CPU (from /proc/PID/stat) and heap (from /metrics), the client-side Heartbeat->Ack round trip p50/p99,
 * and how long the leader takes to declare K silenced nodes lost (from each node's last heartbeat to the NodeLost
 * event's timestamp, and to when this process saw the event).
 *
 * <pre>HeartbeatLoadBench [--agents 10000] [--silence 20] [--measure-seconds 30] [--dir target/bench/heartbeats]</pre>
 */
public final class HeartbeatLoadBench {
    static final int CARDS = 8;

    static final class SimAgent {
        final String nodeId;
        final String supernodeId;
        volatile Channel channel;
        volatile boolean welcomed;
        volatile boolean acked;
        volatile boolean silent;
        volatile long lastHeartbeatMillis;
        ScheduledFuture<?> beat;
        long seq;
        final Map<Long, Long> sentNanos = new ConcurrentHashMap<>();

        SimAgent(String nodeId, String supernodeId) {
            this.nodeId = nodeId;
            this.supernodeId = supernodeId;
        }
    }

    public static void main(String[] args) throws Exception {
        int n = 10_000, silence = 20, measureSeconds = 30;
        Path dir = Path.of("target", "bench", "heartbeats");
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--agents" -> n = Integer.parseInt(args[i + 1]);
                case "--silence" -> silence = Integer.parseInt(args[i + 1]);
                case "--measure-seconds" -> measureSeconds = Integer.parseInt(args[i + 1]);
                case "--dir" -> dir = Path.of(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        dir = dir.toAbsolutePath();
        AgentRestartBench.cleanDir(dir);
        System.out.printf("HeartbeatLoadBench: %d simulated agents (%d cards each, 64 per supernode), heartbeat 1 s, TTL 3 s; "
                + "%d silenced; dir %s%n", n, CARDS, silence, dir);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        try (LocalCluster c = LocalCluster.start(dir.resolve("servers"), 3, "snapshotEveryEntries: 5000\n", true)) {
            String leader = c.awaitLeader(60_000);
            String[] hp = c.agentAddress(leader).split(":");
            long leaderPid = c.get(leader, "/v1/status").body().path("pid").asLong(c.pid(leader));
            AtomicLongArray rtt = new AtomicLongArray(1 << 22);
            AtomicInteger rttCount = new AtomicInteger();
            boolean[] recording = {false};
            List<SimAgent> agents = new ArrayList<>();
            for (int i = 0; i < n; i++) agents.add(new SimAgent(String.format("ld-%05d", i), String.format("lsn-%03d", i / 64)));
            Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class).option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000);

            long t0 = System.currentTimeMillis();
            AtomicInteger welcomed = new AtomicInteger();
            // A heartbeat is acked only once the node's registration is committed: the first ack means registered.
            AtomicInteger registered = new AtomicInteger();
            // Connect in waves so registration (one Raft write per node) is not a thundering herd.
            int wave = 250;
            for (int from = 0; from < n; from += wave) {
                for (int i = from; i < Math.min(n, from + wave); i++) {
                    SimAgent a = agents.get(i);
                    Bootstrap ab = b.clone().handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            Frames.addCodec(ch.pipeline());
                            ch.pipeline().addLast(new SimpleChannelInboundHandler<AgentFrame>() {
                                @Override
                                public void channelActive(ChannelHandlerContext ctx) {
                                    ctx.writeAndFlush(AgentFrame.newBuilder().setHello(Hello.newBuilder()
                                            .setProtocolVersion(Frames.PROTOCOL_VERSION).setNodeId(a.nodeId).setSupernodeId(a.supernodeId)
                                            .setAgentAddress("127.0.0.1:9").setAgentVersion("bench")).build());
                                }

                                @Override
                                protected void channelRead0(ChannelHandlerContext ctx, AgentFrame f) {
                                    switch (f.getBodyCase()) {
                                        case WELCOME -> {
                                            ctx.writeAndFlush(AgentFrame.newBuilder().setInventory(inventory()).build());
                                            if (!a.welcomed) welcomed.incrementAndGet();
                                            a.welcomed = true;
                                            long delay = ThreadLocalRandom.current().nextLong(1000);
                                            a.beat = ctx.channel().eventLoop().scheduleAtFixedRate(() -> beat(a, ctx.channel()), delay, 1000,
                                                    TimeUnit.MILLISECONDS);
                                        }
                                        case ACK -> {
                                            long s = f.getAck().getHeartbeatSequence();
                                            if (s > 0 && !a.acked) {
                                                a.acked = true;
                                                registered.incrementAndGet();
                                            }
                                            Long sent = s > 0 ? a.sentNanos.remove(s) : null;
                                            if (sent != null && recording[0]) {
                                                int k = rttCount.getAndIncrement();
                                                if (k < rtt.length()) rtt.set(k, System.nanoTime() - sent);
                                            }
                                        }
                                        default -> {
                                        }
                                    }
                                }
                            });
                        }
                    });
                    a.channel = ab.connect(hp[0], Integer.parseInt(hp[1])).channel();
                }
                int target = Math.min(n, from + wave);
                long deadline = System.currentTimeMillis() + 120_000;
                // Next wave once this one is registered (bar a few stragglers), so registrations do not pile up.
                while (registered.get() < target - 10 && System.currentTimeMillis() < deadline) Thread.sleep(20);
                if (registered.get() < target - 10) {
                    System.out.printf("only %d of %d agents registered after 120 s; stopping the ramp there%n", registered.get(), target);
                    break;
                }
            }
            long regDeadline = System.currentTimeMillis() + 120_000;
            while (registered.get() < welcomed.get() && System.currentTimeMillis() < regDeadline) Thread.sleep(50);
            int connected = registered.get();
            System.out.printf("%d agents welcomed, %d registered (heartbeat acked) %.1f s after the first connect (%.0f registrations/s)%n",
                    welcomed.get(), connected, (System.currentTimeMillis() - t0) / 1000.0, connected * 1000.0 / (System.currentTimeMillis() - t0));
            Api api = new Api(c, leader);
            Thread.sleep(5_000); // settle
            int falseLost = 0;
            for (long after = 0; ; ) {
                List<JsonNode> page = api.events(after);
                if (page.isEmpty()) break;
                for (JsonNode e : page) {
                    after = Math.max(after, e.path("seq").asLong());
                    if (e.path("type").asText().equals("NodeLost")) falseLost++;
                }
            }
            System.out.printf("nodes declared lost while every simulated agent was heartbeating (false positives): %d%n", falseLost);

            // Steady state: RTT, leader CPU and heap over the window.
            long[] cpu0 = cpuTicks(leaderPid);
            long w0 = System.nanoTime();
            recording[0] = true;
            Thread.sleep(measureSeconds * 1000L);
            recording[0] = false;
            long[] cpu1 = cpuTicks(leaderPid);
            double wall = (System.nanoTime() - w0) / 1e9;
            double cores = (cpu1[0] + cpu1[1] - cpu0[0] - cpu0[1]) / 100.0 / wall;
            int count = Math.min(rttCount.get(), rtt.length());
            long[] r = new long[count];
            for (int i = 0; i < count; i++) r[i] = rtt.get(i);
            Arrays.sort(r);
            String heap = api.heap();
            System.out.printf("steady state over %.0f s: %d heartbeats acked (%.0f/s); Heartbeat->Ack p50 %.2f ms, p99 %.2f ms, "
                            + "max %.2f ms; leader CPU %.2f cores (user %.1f s, sys %.1f s); leader RSS %s; %s%n", wall, count, count / wall,
                    pct(r, 50) / 1e6, pct(r, 99) / 1e6, count == 0 ? 0 : r[count - 1] / 1e6, cores, (cpu1[0] - cpu0[0]) / 100.0,
                    (cpu1[1] - cpu0[1]) / 100.0, rss(leaderPid), heap);

            // Detection: silence K nodes (keep their connections open, answer nothing) and watch for NodeLost.
            long lastSeq = api.lastSeq();
            Map<String, SimAgent> silenced = new HashMap<>();
            for (int i = 0; silenced.size() < silence && i < agents.size(); i += Math.max(1, agents.size() / silence / 2)) {
                SimAgent a = agents.get(i);
                if (!a.acked || a.channel == null || !a.channel.isActive()) continue; // lost already (see above)
                a.silent = true;
                silenced.put(a.nodeId, a);
            }
            Map<String, long[]> lostAt = new HashMap<>();
            long deadline = System.currentTimeMillis() + 60_000;
            while (lostAt.size() < silenced.size() && System.currentTimeMillis() < deadline) {
                for (JsonNode e : api.events(lastSeq)) {
                    lastSeq = Math.max(lastSeq, e.path("seq").asLong());
                    if (e.path("type").asText().equals("NodeLost") && silenced.containsKey(e.path("nodeId").asText())) {
                        lostAt.putIfAbsent(e.path("nodeId").asText(), new long[]{e.path("timeMs").asLong(), System.currentTimeMillis()});
                    }
                }
                Thread.sleep(50);
            }
            List<Long> stamped = new ArrayList<>();
            List<Long> seen = new ArrayList<>();
            for (Map.Entry<String, long[]> e : lostAt.entrySet()) {
                long last = silenced.get(e.getKey()).lastHeartbeatMillis;
                stamped.add(e.getValue()[0] - last);
                seen.add(e.getValue()[1] - last);
            }
            stamped.sort(null);
            seen.sort(null);
            System.out.printf("detection: %d of %d silenced nodes declared lost; last heartbeat -> NodeLost (leader stamp) min %d, "
                            + "p50 %d, max %d ms; -> seen by this client (polling 50 ms) p50 %d, max %d ms; target TTL + 500 = 3500 ms%n",
                    lostAt.size(), silenced.size(), stamped.isEmpty() ? -1 : stamped.get(0), stamped.isEmpty() ? -1 : stamped.get(stamped.size() / 2),
                    stamped.isEmpty() ? -1 : stamped.get(stamped.size() - 1), seen.isEmpty() ? -1 : seen.get(seen.size() / 2),
                    seen.isEmpty() ? -1 : seen.get(seen.size() - 1));
            System.out.printf("RESULT agents=%d heartbeat-rtt-p99-ms=%.2f leader-cpu-cores=%.2f detect-max-ms=%d%n", connected,
                    pct(r, 99) / 1e6, cores, stamped.isEmpty() ? -1 : stamped.get(stamped.size() - 1));
            for (SimAgent a : agents) if (a.channel != null) a.channel.close();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    static void beat(SimAgent a, Channel ch) {
        if (a.silent || !ch.isActive()) return;
        long s = ++a.seq;
        a.sentNanos.put(s, System.nanoTime());
        if (a.sentNanos.size() > 16) a.sentNanos.keySet().removeIf(k -> k < s - 16);
        a.lastHeartbeatMillis = System.currentTimeMillis();
        Heartbeat.Builder hb = Heartbeat.newBuilder().setSequence(s).setSentAtMillis(a.lastHeartbeatMillis);
        for (int i = 0; i < CARDS; i++) hb.addCards(card(i));
        ch.writeAndFlush(AgentFrame.newBuilder().setHeartbeat(hb).build());
    }

    static CardInfo card(int i) {
        return CardInfo.newBuilder().setIndex(i).setModel("H100").setMemoryMib(81920).setHealthy(true).build();
    }

    static Inventory inventory() {
        Inventory.Builder b = Inventory.newBuilder().setAgentAddress("127.0.0.1:9").setHostname("bench").setDiscovery("simulated");
        for (int i = 0; i < CARDS; i++) b.addCards(card(i));
        return b.build();
    }

    static long pct(long[] sorted, int p) {
        if (sorted.length == 0) return 0;
        int idx = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, idx))];
    }

    /** utime and stime of the process, in clock ticks (USER_HZ = 100). */
    static long[] cpuTicks(long pid) throws java.io.IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return new long[]{Long.parseLong(f[11]), Long.parseLong(f[12])};
    }

    static String rss(long pid) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (l.startsWith("VmRSS:")) return l.substring(6).trim();
            }
        } catch (java.io.IOException e) {
            // fall through
        }
        return "?";
    }

    /** HTTP to the leader: JSON reads, NDJSON events, heap from /metrics. */
    static final class Api {
        private final LocalCluster c;
        private final String leader;
        private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

        Api(LocalCluster c, String leader) {
            this.c = c;
            this.leader = leader;
        }

        JsonNode json(String path) {
            LocalCluster.Reply r = c.get(leader, path);
            return r.status() == 200 ? r.body() : null;
        }

        String text(String path) throws Exception {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://" + c.httpAddress(leader) + path))
                    .timeout(Duration.ofSeconds(20)).GET().build(), HttpResponse.BodyHandlers.ofString());
            return r.body();
        }

        long lastSeq() {
            JsonNode s = json("/v1/status");
            return s == null ? 0 : s.path("lastEventSeq").asLong();
        }

        List<JsonNode> events(long after) throws Exception {
            List<JsonNode> out = new ArrayList<>();
            for (String line : text("/v1/events?after=" + after + "&limit=10000&stale=true").split("\n")) {
                if (!line.isBlank()) out.add(LocalCluster.JSON.readTree(line));
            }
            return out;
        }

        String heap() {
            try {
                double used = 0;
                double max = 0;
                for (String l : text("/metrics").split("\n")) {
                    if (l.startsWith("jvm_memory_used_bytes{") && l.contains("area=\"heap\"")) used += Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1));
                    if (l.startsWith("jvm_memory_max_bytes{") && l.contains("area=\"heap\"")) {
                        double v = Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1));
                        if (v > 0) max += v;
                    }
                }
                return used == 0 ? "heap: not in /metrics" : String.format("heap used %.0f MiB of max %.0f MiB", used / (1 << 20), max / (1 << 20));
            } catch (Exception e) {
                return "heap: " + e.getMessage();
            }
        }
    }
}
