package io.cardinal.bench;

import ch.qos.logback.classic.Level;
import io.cardinal.chaos.harness.LocalCluster;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * The commit benchmark (issue 2): committed commands per second and p50/p99/p99.9 latency of a 3-replica Cardinal
 * cluster on loopback (fsync on), driven through its HTTP/JSON API by closed-loop clients, next to a 3-member etcd
 * cluster on loopback doing puts of the same payload size with the same clients and the same recorder.
 *
 * <pre>
 * --clients 1,16,256       client counts (each a cell)
 * --seconds N              measured seconds per cell (default 10)
 * --warmup-seconds N       unrecorded seconds before each cell (default 3)
 * --workload submit|place|read|all   read: GET of one job, linearizable (leader, follower) and stale
 * --etcd auto|off|PATH     auto: /usr/bin/etcd (or etcd on PATH) if present
 * --out FILE               also write the report (markdown) there
 * --spread-clients N       the extra row: N clients spread over all replicas (default 16; 0 = none)
 * --dir DIR                where clusters keep their data (default: a new temp dir, deleted at the end)
 * --keep                   keep DIR (logs) after the run
 * </pre>
 */
public final class CommitBenchmark {
    /** Cards per node and nodes per supernode of the placement cluster. */
    static final int CARDS_PER_NODE = 8;
    static final int NODES_PER_SUPERNODE = 16;
    /** The placement job: 8 tasks x 8 cards = 64 cards, all in one supernode. */
    static final String PLACE_SPEC = "{\"name\":\"bench-place\",\"tenant\":\"bench\",\"tasks\":8,\"cardsPerTask\":8,"
            + "\"cardModel\":\"H100\",\"topology\":{\"supernode\":\"required\"},\"command\":[\"python\",\"train.py\"]}";
    /** The small command: a job that waits (the submit cluster has no nodes), so each submit is one small entry. */
    static final String SUBMIT_SPEC = "{\"name\":\"bench-submit\",\"tenant\":\"bench\",\"tasks\":1,\"cardsPerTask\":8,"
            + "\"cardModel\":\"H100\",\"command\":[\"python\",\"train.py\"]}";
    /** Reaper threads (GET + cancel of each placed job) and the extra room in jobs beyond one per client. */
    static final int REAPERS = 48;
    static final int EXTRA_JOB_ROOM = 96;

    record Options(List<Integer> clients, int seconds, int warmupSeconds, String workload, String etcd, Path out,
                   int spreadClients, Path dir, boolean keep) {
        static Options parse(String[] args) {
            List<Integer> clients = List.of(1, 16, 256);
            int seconds = 10;
            int warmup = 3;
            String workload = "all";
            String etcd = "auto";
            Path out = null;
            int spread = 16;
            Path dir = null;
            boolean keep = false;
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--clients" -> clients = Arrays.stream(value(args, ++i, a).split(",")).map(String::trim)
                            .map(Integer::parseInt).toList();
                    case "--seconds" -> seconds = Integer.parseInt(value(args, ++i, a));
                    case "--warmup-seconds" -> warmup = Integer.parseInt(value(args, ++i, a));
                    case "--workload" -> workload = value(args, ++i, a);
                    case "--etcd" -> etcd = value(args, ++i, a);
                    case "--out" -> out = Path.of(value(args, ++i, a));
                    case "--spread-clients" -> spread = Integer.parseInt(value(args, ++i, a));
                    case "--dir" -> dir = Path.of(value(args, ++i, a));
                    case "--keep" -> keep = true;
                    case "-h", "--help" -> {
                        System.out.println("usage: CommitBenchmark [--clients 1,16,256] [--seconds N] [--warmup-seconds N] "
                                + "[--workload submit|place|read|all] [--etcd auto|off|PATH] [--out FILE] [--spread-clients N] "
                                + "[--dir DIR] [--keep]");
                        System.exit(0);
                    }
                    default -> throw new IllegalArgumentException("unknown option " + a + " (try --help)");
                }
            }
            if (!List.of("submit", "place", "read", "all").contains(workload)) {
                throw new IllegalArgumentException("--workload: submit|place|read|all, got " + workload);
            }
            for (int c : clients) if (c < 1 || c > 1024) throw new IllegalArgumentException("--clients: each 1..1024, got " + c);
            if (seconds < 1 || seconds > 600) throw new IllegalArgumentException("--seconds: 1..600, got " + seconds);
            if (warmup < 0 || warmup > 120) throw new IllegalArgumentException("--warmup-seconds: 0..120, got " + warmup);
            if (spread < 0 || spread > 1024) throw new IllegalArgumentException("--spread-clients: 0..1024, got " + spread);
            return new Options(clients, seconds, warmup, workload, etcd, out, spread, dir, keep);
        }

        private static String value(String[] args, int i, String name) {
            if (i >= args.length) throw new IllegalArgumentException(name + " needs a value");
            return args[i];
        }
    }

    /** One row of the table. */
    record Row(String system, String workload, String target, int clients, ClosedLoop.Result result, String note) {
    }

    private final Options opt;
    private final List<Row> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private final ExecutorService executor;
    private final int submitBytes = SUBMIT_SPEC.getBytes(StandardCharsets.UTF_8).length;
    private final int placeBytes = PLACE_SPEC.getBytes(StandardCharsets.UTF_8).length;
    private final String runId = Long.toString(System.currentTimeMillis(), 36);

    private CommitBenchmark(Options opt) {
        this.opt = opt;
        AtomicInteger n = new AtomicInteger();
        ThreadFactory tf = r -> {
            Thread t = new Thread(r, "bench-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.executor = Executors.newFixedThreadPool(4, tf);
    }

    public static void main(String[] args) throws Exception {
        quietLogs();
        Options opt = Options.parse(args);
        CommitBenchmark b = new CommitBenchmark(opt);
        Path dir = opt.dir != null ? opt.dir : Files.createTempDirectory("cardinal-bench-");
        Files.createDirectories(dir);
        int status = 0;
        try {
            b.run(dir);
        } catch (Exception | AssertionError e) {
            System.err.println("benchmark failed: " + e);
            e.printStackTrace();
            b.notes.add("The run failed: " + e);
            status = 1;
        } finally {
            String report = b.report();
            System.out.println();
            System.out.println(report);
            if (opt.out != null) {
                Files.createDirectories(opt.out.toAbsolutePath().getParent());
                Files.writeString(opt.out, report);
                System.out.println("report written to " + opt.out);
            }
            b.executor.shutdownNow();
            if (opt.keep || status != 0) {
                System.out.println("data and logs kept under " + dir);
            } else {
                deleteTree(dir);
            }
        }
        System.exit(status);
    }

    private void run(Path dir) throws Exception {
        System.out.printf(Locale.ROOT, "commit benchmark: clients %s, %d s per cell after %d s warm-up, workload %s, etcd %s%n",
                opt.clients, opt.seconds, opt.warmupSeconds, opt.workload, opt.etcd);
        System.out.printf(Locale.ROOT, "payloads: submit spec %d bytes, placement spec %d bytes; etcd value %d bytes%n",
                submitBytes, placeBytes, submitBytes);
        if (opt.workload.equals("submit") || opt.workload.equals("all")) cardinalSubmit(dir.resolve("cardinal-submit"));
        if (opt.workload.equals("place") || opt.workload.equals("all")) cardinalPlace(dir.resolve("cardinal-place"));
        if (opt.workload.equals("read") || opt.workload.equals("all")) cardinalRead(dir.resolve("cardinal-read"));
        Path etcd = etcdBinary();
        if (etcd != null) etcd(etcd, dir.resolve("etcd"));
    }

    // ---- Cardinal: submit (a small command) ----------------------------------------------------------------------

    private void cardinalSubmit(Path dir) throws Exception {
        System.out.println("starting 3 Cardinal replicas (no nodes registered) under " + dir);
        try (LocalCluster c = LocalCluster.start(dir, 3, "")) {
            Thread hook = shutdownHook(c);
            try {
                String leader = c.awaitLeader(90_000);
                CardinalTarget t = new CardinalTarget(c, executor);
                byte[] body = SUBMIT_SPEC.getBytes(StandardCharsets.UTF_8);
                List<String> ids = c.ids();
                List<String> waits = new ArrayList<>();
                for (int clients : opt.clients) {
                    long before = pending(t, leader);
                    double[] timer = t.commandTimer(leader, "submit_job");
                    ClosedLoop.Result r = ClosedLoop.run(clients, (client, seq) -> t.post(leader, "/v1/jobs", body,
                            key("s", clients, client, seq)).thenApply(CardinalTarget.expect(201)), ms(opt.warmupSeconds), ms(opt.seconds), executor);
                    rows.add(new Row("cardinal", "submit", "leader", clients, r, "pending jobs before: " + before + "; "
                            + CardinalTarget.serverMean(timer, t.commandTimer(leader, "submit_job"))));
                    print(rows.get(rows.size() - 1));
                    waits.add(clients + " clients: " + before + " -> " + pending(t, leader) + " pending jobs");
                }
                if (opt.spreadClients > 0) {
                    long before = pending(t, leader);
                    double[] timer = t.commandTimer(leader, "submit_job");
                    int n = opt.spreadClients;
                    ClosedLoop.Result r = ClosedLoop.run(n, (client, seq) -> t.post(ids.get(client % ids.size()), "/v1/jobs", body,
                            key("sx", n, client, seq)).thenApply(CardinalTarget.expect(201)), ms(opt.warmupSeconds), ms(opt.seconds), executor);
                    rows.add(new Row("cardinal", "submit", "all 3 replicas", n, r, "pending jobs before: " + before + "; "
                            + CardinalTarget.serverMean(timer, t.commandTimer(leader, "submit_job"))));
                    print(rows.get(rows.size() - 1));
                }
                // The same single client again, now behind every job the cells above left pending: the controller
                // tries to place all waiting jobs ahead of a new one on each submit.
                long before = pending(t, leader);
                double[] timer = t.commandTimer(leader, "submit_job");
                ClosedLoop.Result again = ClosedLoop.run(1, (client, seq) -> t.post(leader, "/v1/jobs", body,
                        key("sa", 1, client, seq)).thenApply(CardinalTarget.expect(201)), ms(opt.warmupSeconds), ms(opt.seconds), executor);
                rows.add(new Row("cardinal", "submit (queue grown)", "leader", 1, again, "pending jobs before: " + before + "; "
                        + CardinalTarget.serverMean(timer, t.commandTimer(leader, "submit_job"))));
                print(rows.get(rows.size() - 1));
                notes.add("Submit cluster queue depth per cell: " + String.join("; ", waits) + ".");
            } finally {
                removeHook(hook);
            }
        }
    }

    // ---- Cardinal: read one job (linearizable: a read barrier through the log; stale: local) ---------------------

    private void cardinalRead(Path dir) throws Exception {
        System.out.println("starting 3 Cardinal replicas for reads under " + dir);
        try (LocalCluster c = LocalCluster.start(dir, 3, "")) {
            Thread hook = shutdownHook(c);
            try {
                String leader = c.awaitLeader(90_000);
                String follower = c.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();
                CardinalTarget t = new CardinalTarget(c, executor);
                LocalCluster.Reply job = c.post(leader, "/v1/jobs", SUBMIT_SPEC, "Idempotency-Key", "read-bench");
                if (job.status() != 201) throw new IllegalStateException("submit for the read benchmark: " + job.body());
                String path = "/v1/jobs/" + job.body().path("jobId").asText();
                record Cell(String name, String replica, String query) {
                }
                List<Cell> cells = List.of(new Cell("read", leader, ""), new Cell("read", follower, ""),
                        new Cell("read ?stale=true", leader, "?stale=true"));
                for (int clients : opt.clients) {
                    for (Cell cell : cells) {
                        double before = t.counter(leader, "cardinal_read_barriers_total") + t.counter(follower, "cardinal_read_barriers_total");
                        ClosedLoop.Result r = ClosedLoop.run(clients, (client, seq) -> t.get(cell.replica(), path + cell.query())
                                .thenApply(CardinalTarget.expect(200)), ms(opt.warmupSeconds), ms(opt.seconds), executor);
                        double barriers = t.counter(leader, "cardinal_read_barriers_total") + t.counter(follower, "cardinal_read_barriers_total") - before;
                        String target = cell.replica().equals(leader) ? "leader" : "follower";
                        rows.add(new Row("cardinal", cell.name(), target, clients, r, cell.query().isEmpty()
                                ? String.format(Locale.ROOT, "%.0f read barriers for %d reads in the cell incl. warm-up", barriers, r.ok())
                                : ""));
                        print(rows.get(rows.size() - 1));
                    }
                }
            } finally {
                removeHook(hook);
            }
        }
    }

    /** Jobs in the submit cluster's state; it has no nodes, so every one of them is pending. */
    private long pending(CardinalTarget t, String leader) {
        return t.counts(leader).path("jobs").asLong(-1);
    }

    // ---- Cardinal: place a 64-card job --------------------------------------------------------------------------

    private void cardinalPlace(Path dir) throws Exception {
        int maxClients = Math.max(opt.spreadClients, opt.clients.stream().mapToInt(Integer::intValue).max().orElse(1));
        int jobRoom = maxClients + EXTRA_JOB_ROOM;
        int jobsPerSupernode = NODES_PER_SUPERNODE * CARDS_PER_NODE / 64;
        int supernodes = (jobRoom + jobsPerSupernode - 1) / jobsPerSupernode;
        System.out.println("starting 3 Cardinal replicas for placement under " + dir);
        try (LocalCluster c = LocalCluster.start(dir, 3, "")) {
            Thread hook = shutdownHook(c);
            try (PlacedJobReaper reaper = new PlacedJobReaper(new CardinalTarget(c, executor), c.awaitLeader(90_000), REAPERS)) {
                String leader = c.awaitLeader(90_000);
                CardinalTarget t = new CardinalTarget(c, executor);
                long t0 = System.nanoTime();
                int nodes = t.registerNodes(leader, supernodes, NODES_PER_SUPERNODE, CARDS_PER_NODE, "H100", 32);
                System.out.printf(Locale.ROOT, "registered %d nodes (%d supernodes x %d nodes x %d cards = %d cards) in %.1f s%n",
                        nodes, supernodes, NODES_PER_SUPERNODE, CARDS_PER_NODE, nodes * CARDS_PER_NODE, (System.nanoTime() - t0) / 1e9);
                notes.add(String.format(Locale.ROOT, "Placement cluster: %d nodes in %d supernodes of %d nodes x %d cards (%d cards, "
                        + "room for %d 64-card jobs at once). Each client takes one job's room before it submits; a background "
                        + "reaper (%d threads, not measured) reads every acknowledged job back (GET ?stale=true on the leader), "
                        + "counts it as placed only in state PLACED with 8 tasks, cancels it and gives the room back. Its "
                        + "GETs and cancels share the leader, the controller thread and the Raft log with the measured submits.",
                        nodes, supernodes, NODES_PER_SUPERNODE, CARDS_PER_NODE, nodes * CARDS_PER_NODE, supernodes * jobsPerSupernode,
                        REAPERS, maxClients));
                byte[] body = PLACE_SPEC.getBytes(StandardCharsets.UTF_8);
                List<String> ids = c.ids();
                List<int[]> cells = new ArrayList<>();
                for (int clients : opt.clients) cells.add(new int[]{clients, 0});
                if (opt.spreadClients > 0) cells.add(new int[]{opt.spreadClients, 1});
                for (int[] cell : cells) {
                    int clients = cell[0];
                    boolean spread = cell[1] == 1;
                    double[] timer = t.commandTimer(leader, "submit_job");
                    PlacedJobReaper.Slots slots = new PlacedJobReaper.Slots(supernodes * jobsPerSupernode, executor);
                    ClosedLoop.Result r = ClosedLoop.run(clients, (client, seq) -> t.post(spread ? ids.get(client % ids.size()) : leader,
                                    "/v1/jobs", body, key(spread ? "px" : "p", clients, client, seq))
                            .handle((resp, ex) -> {
                                if (ex != null || resp.statusCode() != 201) {
                                    slots.release();
                                    if (ex != null) throw new IllegalStateException(ex);
                                    return CardinalTarget.describe(resp);
                                }
                                reaper.offer(CardinalTarget.json(resp).path("jobId").asText(), slots);
                                return null;
                            }), slots, ms(opt.warmupSeconds), ms(opt.seconds), executor);
                    boolean drained = reaper.drain(120_000);
                    String summary = reaper.takeSummary() + (drained ? "" : " (reaper did not catch up within 120 s)");
                    rows.add(new Row("cardinal", "place 64 cards", spread ? "all 3 replicas" : "leader", clients, r,
                            CardinalTarget.serverMean(timer, t.commandTimer(leader, "submit_job"))
                                    + "; reaper over the cell incl. warm-up: " + summary));
                    print(rows.get(rows.size() - 1));
                }
            } finally {
                removeHook(hook);
            }
        }
    }

    // ---- etcd: puts of the submit payload's size -----------------------------------------------------------------

    private Path etcdBinary() {
        if (opt.etcd.equals("off")) return null;
        if (!opt.etcd.equals("auto")) return Path.of(opt.etcd);
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            Path p = Path.of(d, "etcd");
            if (Files.isExecutable(p)) return p;
        }
        notes.add("etcd not found on PATH: no etcd rows (install Debian's etcd-server, or pass --etcd PATH).");
        return null;
    }

    private void etcd(Path binary, Path dir) throws Exception {
        String version = EtcdCluster.version(binary);
        System.out.println("starting 3 etcd members (" + version + ") under " + dir);
        notes.add("etcd: " + binary + ", " + version + "; 3 members on loopback, default settings (WAL fsync on every "
                + "commit), driven by jetcd " + jarName(Client.class)
                + " (one gRPC channel per client object, requests multiplexed on it).");
        try (EtcdCluster e = EtcdCluster.start(binary, dir, 3)) {
            Thread hook = new Thread(e::close);
            Runtime.getRuntime().addShutdownHook(hook);
            List<Client> open = new ArrayList<>();
            try {
                e.awaitHealthy(60_000);
                String leaderEndpoint = etcdLeader(e, open);
                Client leader = Client.builder().endpoints(leaderEndpoint).build();
                open.add(leader);
                byte[] value = new byte[submitBytes];
                Arrays.fill(value, (byte) 'x');
                ByteSequence v = ByteSequence.from(value);
                for (int clients : opt.clients) {
                    KV kv = leader.getKVClient();
                    ClosedLoop.Result r = ClosedLoop.run(clients, (client, seq) -> kv.put(etcdKey(clients, client, seq), v)
                            .thenApply(x -> (String) null), ms(opt.warmupSeconds), ms(opt.seconds), executor);
                    rows.add(new Row("etcd", "put " + submitBytes + " B", "leader", clients, r, ""));
                    print(rows.get(rows.size() - 1));
                }
                if (opt.spreadClients > 0) {
                    List<KV> kvs = new ArrayList<>();
                    for (String ep : e.endpoints()) {
                        Client cl = Client.builder().endpoints(ep).build();
                        open.add(cl);
                        kvs.add(cl.getKVClient());
                    }
                    int n = opt.spreadClients;
                    ClosedLoop.Result r = ClosedLoop.run(n, (client, seq) -> kvs.get(client % kvs.size())
                            .put(etcdKey(-n, client, seq), v).thenApply(x -> (String) null), ms(opt.warmupSeconds), ms(opt.seconds), executor);
                    rows.add(new Row("etcd", "put " + submitBytes + " B", "all 3 members", n, r, ""));
                    print(rows.get(rows.size() - 1));
                }
            } finally {
                for (Client cl : open) cl.close();
                e.close();
                removeHook(hook);
            }
        }
    }

    /** The client endpoint of the member that leads, asking each member's status. */
    private static String etcdLeader(EtcdCluster e, List<Client> open) throws Exception {
        long deadline = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < deadline) {
            for (String ep : e.endpoints()) {
                Client c = Client.builder().endpoints(ep).build();
                open.add(c);
                try {
                    var s = c.getMaintenanceClient().statusMember(ep).get(5, TimeUnit.SECONDS);
                    if (s.getLeader() != 0 && s.getLeader() == s.getHeader().getMemberId()) return ep;
                } catch (Exception ex) {
                    // not ready yet
                }
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("no etcd leader within 30 s");
    }

    private static ByteSequence etcdKey(int clients, int client, long seq) {
        return ByteSequence.from(("bench/" + clients + "/" + client + "/" + seq).getBytes(StandardCharsets.UTF_8));
    }

    // ---- report ---------------------------------------------------------------------------------------------------

    private String key(String prefix, int clients, int client, long seq) {
        return prefix + "-" + runId + "-" + clients + "-" + client + "-" + seq;
    }

    private static void print(Row r) {
        System.out.println(line(r));
        if (r.result.firstError() != null) System.out.println("    first error: " + r.result.firstError());
        if (!r.note.isEmpty()) System.out.println("    " + r.note);
        System.out.println("    ops per second, each second: " + r.result.perSecondOps().stream()
                .map(d -> String.format(Locale.ROOT, "%.0f", d)).toList());
    }

    private static String line(Row r) {
        ClosedLoop.Result x = r.result;
        return String.format(Locale.ROOT, "| %-8s | %-20s | %-14s | %7d | %9.0f | %8.2f | %8.2f | %8.2f | %6d |",
                r.system, r.workload, r.target, r.clients, x.opsPerSecond(), x.latencies().percentileMillis(50),
                x.latencies().percentileMillis(99), x.latencies().percentileMillis(99.9), x.errors());
    }

    String report() {
        StringBuilder sb = new StringBuilder();
        sb.append("Date: ").append(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)).append('\n');
        sb.append("Machine: ").append(Runtime.getRuntime().availableProcessors()).append(" cores, ")
                .append(memoryGiB()).append(" GiB; Java ").append(System.getProperty("java.vm.version")).append('\n');
        sb.append(String.format(Locale.ROOT, "Cells: %d s measured after %d s warm-up; closed loop (one request in flight "
                + "per client); latency = request issued to reply received.%n", opt.seconds, opt.warmupSeconds));
        sb.append(String.format(Locale.ROOT, "Payloads: submit spec %d B, placement spec %d B, etcd value %d B.%n%n",
                submitBytes, placeBytes, submitBytes));
        sb.append("| system   | workload             | sent to        | clients |     ops/s |  p50 ms  |  p99 ms  | p99.9 ms | errors |\n");
        sb.append("|----------|----------------------|----------------|--------:|----------:|---------:|---------:|---------:|-------:|\n");
        for (Row r : rows) sb.append(line(r)).append('\n');
        sb.append('\n');
        List<String> ratios = ratios();
        if (!ratios.isEmpty()) {
            sb.append("Cardinal / etcd (ops/s, same client count, leader rows):\n\n");
            for (String s : ratios) sb.append("- ").append(s).append('\n');
            sb.append('\n');
        }
        for (Row r : rows) {
            if (!r.note.isEmpty()) sb.append("- ").append(r.system).append(' ').append(r.workload).append(", ")
                    .append(r.clients).append(" clients (").append(r.target).append("): ").append(r.note).append('\n');
        }
        for (String n : notes) sb.append("- ").append(n).append('\n');
        return sb.toString();
    }

    private List<String> ratios() {
        Map<Integer, Row> etcd = new LinkedHashMap<>();
        for (Row r : rows) if (r.system.equals("etcd")) etcd.put(r.target.equals("leader") ? r.clients : -r.clients, r);
        List<String> out = new ArrayList<>();
        for (Row r : rows) {
            if (!r.system.equals("cardinal") || r.workload.contains("queue grown")) continue;
            Row e = etcd.get(r.target.equals("leader") ? r.clients : -r.clients);
            if (e == null || e.result.opsPerSecond() == 0) continue;
            out.add(String.format(Locale.ROOT, "%s, %d clients (%s): %.0f / %.0f = %.2fx", r.workload, r.clients, r.target,
                    r.result.opsPerSecond(), e.result.opsPerSecond(), r.result.opsPerSecond() / e.result.opsPerSecond()));
        }
        return out;
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    private static long ms(int seconds) {
        return seconds * 1000L;
    }

    private static String jarName(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).getFileName().toString();
        } catch (Exception e) {
            return "?";
        }
    }

    private static long memoryGiB() {
        try {
            var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            return Math.round(os.getTotalMemorySize() / (double) (1L << 30));
        } catch (ClassCastException e) {
            return -1;
        }
    }

    private static Thread shutdownHook(LocalCluster c) {
        Thread t = new Thread(c::close);
        Runtime.getRuntime().addShutdownHook(t);
        return t;
    }

    private static void removeHook(Thread t) {
        try {
            Runtime.getRuntime().removeShutdownHook(t);
        } catch (IllegalStateException e) {
            // shutting down already
        }
    }

    private static void quietLogs() {
        var ctx = (ch.qos.logback.classic.LoggerContext) org.slf4j.LoggerFactory.getILoggerFactory();
        for (String name : List.of("io.etcd", "io.grpc", "io.vertx", "io.netty")) ctx.getLogger(name).setLevel(Level.WARN);
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            System.err.println("could not delete " + dir + ": " + e);
        }
    }
}
