package io.cardinal.allocator.sim;

import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.SupernodeRule;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TraceReaderTest {
    /** The shared traces live beside the repository ({@code <repo>/../shared}); tests run from a module dir. */
    private static final Path ALIBABA = findTraces();

    private static Path findTraces() {
        String given = System.getProperty("cardinal.traces");
        if (given != null) return Path.of(given);
        Path dir = Path.of("").toAbsolutePath();
        for (int up = 0; up < 4 && dir != null; up++, dir = dir.getParent()) {
            Path candidate = dir.resolve("shared/traces/alibaba-gpu-v2023");
            if (Files.isDirectory(candidate)) return candidate;
        }
        return Path.of("../../shared/traces/alibaba-gpu-v2023");
    }

    @TempDir
    Path dir;

    @Test
    void gangCsvReadsJobsAndReportsBadRowsWithFileAndLine() throws Exception {
        Path f = dir.resolve("jobs.csv");
        Files.writeString(f, String.join("\n", TraceReader.GANG_HEADER + ",supernode,max_supernodes",
                "a,0,3600,8,8,H100|H200,1,research,required,0",
                "b,10,60,1,8,,0,,,",
                "c,20,-5,1,8,,0,t,,",
                "d,30,60,0,8,,0,t,,",
                "e,x,60,1,8,,0,t,,",
                "f,40,60,1,8,,0,t,sideways,"));
        List<String> skipped = new ArrayList<>();
        List<SimJob> jobs = TraceReader.gangCsv(f, TraceReader.OnError.SKIP, skipped);
        assertEquals(2, jobs.size());
        SimJob a = jobs.get(0);
        assertEquals(64, a.cards());
        assertEquals(Set.of("H100", "H200"), a.cardModels());
        assertEquals(SupernodeRule.REQUIRED, a.rule());
        assertEquals(3_600_000, a.durationMillis());
        assertEquals("default", jobs.get(1).tenant());
        assertEquals(4, skipped.size(), skipped.toString());
        assertTrue(skipped.get(0).startsWith(f + ":4: duration_s must be > 0"), skipped.get(0));
        assertTrue(skipped.get(1).contains(":5: tasks must be >= 1"), skipped.get(1));
        assertTrue(skipped.get(2).contains(":6: not a number"), skipped.get(2));
        assertTrue(skipped.get(3).contains(":7: supernode must be"), skipped.get(3));
        TraceException stop = assertThrows(TraceException.class, () -> TraceReader.gangCsv(f, TraceReader.OnError.STOP, new ArrayList<>()));
        assertTrue(stop.getMessage().startsWith(f + ":4:"), stop.getMessage());
    }

    @Test
    void wrongHeaderAndMissingFileAreClearErrors() throws Exception {
        Path f = dir.resolve("x.csv");
        Files.writeString(f, "foo,bar\n1,2\n");
        TraceException e = assertThrows(TraceException.class, () -> TraceReader.gangCsv(f, TraceReader.OnError.SKIP, new ArrayList<>()));
        assertTrue(e.getMessage().contains(":1: expected header"), e.getMessage());
        TraceException m = assertThrows(TraceException.class, () -> TraceReader.gangCsv(dir.resolve("nope.csv"), TraceReader.OnError.SKIP, new ArrayList<>()));
        assertTrue(m.getMessage().startsWith("no such file"), m.getMessage());
    }

    @Test
    void alibabaTraceReads() throws Exception {
        Assumptions.assumeTrue(Files.exists(ALIBABA.resolve(TraceReader.ALIBABA_PODS)),
                "Alibaba trace not found under " + ALIBABA + ": skipping");
        List<String> skipped = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        Inventory inv = TraceReader.alibabaNodes(ALIBABA.resolve(TraceReader.ALIBABA_NODES), 8, TraceReader.OnError.STOP, skipped);
        assertEquals(6212, inv.totalCards());
        assertEquals(1213, inv.nodeIds().size());
        assertEquals(152, inv.supernodeCount());
        List<SimJob> jobs = TraceReader.alibabaPods(ALIBABA.resolve(TraceReader.ALIBABA_PODS), TraceReader.OnError.STOP, skipped, notes);
        assertTrue(skipped.isEmpty(), skipped.toString());
        assertEquals(8152 - 1088, jobs.size() + countNoRuntime(notes));
        assertTrue(notes.get(0).startsWith("1088 CPU-only pods"), notes.get(0));
    }

    private static int countNoRuntime(List<String> notes) {
        String n = notes.get(0);
        String tail = n.substring(n.indexOf("1 card; ") + 8);
        return Integer.parseInt(tail.substring(0, tail.indexOf(' ')));
    }

    @Test
    void commandRejectsBadInputWithOneLineAndExitCode1() throws Exception {
        Path f = dir.resolve("jobs.csv");
        Files.writeString(f, TraceReader.GANG_HEADER + "\na,0,abc,1,8,,0,t\n");
        Path nodes = dir.resolve("nodes.csv");
        Files.writeString(nodes, "sn,cpu_milli,memory_mib,gpu,model\nn0,1000,1000,8,A\n");
        String[][] bad = {
                {"replay", "--trace", f.toString(), "--nodes", nodes.toString()},
                {"replay", "--trace", dir.resolve("missing.csv").toString()},
                {"replay", "--trace", f.toString(), "--nodes", nodes.toString(), "--policy", "magic"},
                {"synthetic", "--cards", "-5"},
                {"synthetic", "--speedup", "0"},
                {"synthetic", "--bogus"},
                {"synthetic", "--jobs", "5", "--typical-request", "1y8"},
                {"synthetic", "--jobs", "5", "--typical-request", "0x8"},
        };
        for (String[] args : bad) {
            Run r = run(args);
            assertEquals(1, r.code(), String.join(" ", args) + " -> " + r.err());
            String msg = r.err().strip();
            assertTrue(msg.startsWith("error: "), msg);
            assertFalse(msg.contains("\tat "), "stack trace in: " + msg);
            assertEquals(1, msg.lines().count(), msg);
        }
    }

    @Test
    void commandLendsSparesWhenAsked() throws Exception {
        // One supernode of 2 nodes, 8 spare cards: a takes the node outside spares, b is lent the spare node.
        Path f = dir.resolve("jobs.csv");
        Files.writeString(f, TraceReader.GANG_HEADER + "\na,0,10,1,8,,0,t\nb,0,10,1,8,,0,t\n");
        Path nodes = dir.resolve("nodes.csv");
        Files.writeString(nodes, "sn,cpu_milli,memory_mib,gpu,model\nn0,1000,1000,8,A\nn1,1000,1000,8,A\n");
        Run r = run("replay", "--trace", f.toString(), "--nodes", nodes.toString(), "--policy", "cardinal", "--spares", "8",
                "--lend-spares", "--typical-request", "1x8", "-o", "json");
        assertEquals(0, r.code(), r.err());
        String json = r.out();
        assertTrue(json.contains("\"lentPlacements\" : 1"), json);
        assertTrue(json.contains("\"lentEvictions\" : 0"), json);
        assertTrue(json.contains("cardinal's typical request 1 x 8"), json);
        assertTrue(json.contains("\"utilizationMean\" : 1.0"), json);
    }

    @Test
    void commandRunsAGangCsvWithSkippedRows() throws Exception {
        Path f = dir.resolve("jobs.csv");
        Files.writeString(f, TraceReader.GANG_HEADER + "\na,0,10,1,8,,0,t\nb,0,10,1,8,,0,t\nbad,0,x,1,8,,0,t\nhuge,0,10,100,8,,0,t\n");
        Path nodes = dir.resolve("nodes.csv");
        Files.writeString(nodes, "sn,cpu_milli,memory_mib,gpu,model\nn0,1000,1000,8,A\nn1,1000,1000,8,A\n");
        Run r = run("replay", "--trace", f.toString(), "--nodes", nodes.toString(), "--on-error", "skip", "-o", "json",
                "--out", dir.resolve("plots").toString());
        assertEquals(0, r.code(), r.err());
        String json = r.out();
        assertTrue(json.contains("\"policy\" : \"cardinal\""), json);
        assertTrue(json.contains("1 job(s) can never run"), json);
        assertTrue(r.err().contains(":4: not a number"), r.err());
        assertTrue(Files.exists(dir.resolve("plots/replay-utilization.png")));
        assertTrue(Files.exists(dir.resolve("plots/replay-delay-cdf.png")));
    }

    /** The sim command's exit code and what it printed. */
    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cl = SimCommand.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }
}
