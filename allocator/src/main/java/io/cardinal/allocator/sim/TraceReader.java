package io.cardinal.allocator.sim;

import io.cardinal.allocator.model.CardSpec;
import io.cardinal.allocator.model.Inventory;
import io.cardinal.allocator.model.NodeSpec;
import io.cardinal.allocator.model.SupernodeRule;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Reads workloads: the Alibaba GPU v2023 trace (node list + pod list) and Cardinal's own gang-job CSV. A bad row is
 * reported as {@code file:line: what} and either skipped (collected into {@code skipped}) or stops the read,
 * as the user chose.
 */
public final class TraceReader {
    public static final String ALIBABA_NODES = "openb_node_list_gpu_node.csv";
    public static final String ALIBABA_PODS = "openb_pod_list_default.csv";
    /** The header of the gang-job CSV; {@code supernode} and {@code max_supernodes} columns are optional. */
    public static final String GANG_HEADER = "job,submit_s,duration_s,tasks,cards_per_task,card_model,priority,tenant";
    private static final long MAX_ROWS = 10_000_000;

    public enum OnError { SKIP, STOP }

    private TraceReader() {
    }

    /**
     * The Alibaba node list as a cluster: {@code nodesPerSupernode} consecutive nodes (file order) form a
     * supernode, and 8 consecutive supernodes a pod tier. Node ids are the trace's {@code sn} names.
     */
    public static Inventory alibabaNodes(Path file, int nodesPerSupernode, OnError onError, List<String> skipped) throws TraceException {
        try {
            return alibabaNodes0(file, nodesPerSupernode, onError, skipped);
        } catch (StopException e) {
            throw new TraceException(e.getMessage());
        }
    }

    private static Inventory alibabaNodes0(Path file, int nodesPerSupernode, OnError onError, List<String> skipped) throws TraceException {
        if (nodesPerSupernode < 1) throw new TraceException("--supernode-nodes must be >= 1, got " + nodesPerSupernode);
        Inventory inv = new Inventory();
        List<String[]> rows = read(file, "sn,cpu_milli,memory_mib,gpu,model", 5, onError, skipped);
        int index = 0;
        Set<String> seen = new HashSet<>();
        for (String[] r : rows) {
            String where = r[r.length - 1];
            try {
                String id = r[0].trim();
                int gpus = Integer.parseInt(r[3].trim());
                String model = r[4].trim();
                if (id.isEmpty() || model.isEmpty()) throw new IllegalArgumentException("empty node id or model");
                if (gpus < 1 || gpus > 1024) throw new IllegalArgumentException("gpu count " + gpus + " out of 1..1024");
                if (!seen.add(id)) throw new IllegalArgumentException("duplicate node " + id);
                long memMib = Long.parseLong(r[2].trim());
                List<CardSpec> cards = new ArrayList<>();
                for (int i = 0; i < gpus; i++) cards.add(new CardSpec(i, model, memMib / gpus, true));
                int sn = index / nodesPerSupernode;
                inv.upsertNode(new NodeSpec(id, String.format("sn%04d", sn), List.of(String.format("pod%03d", sn / 8)), cards));
                index++;
            } catch (StopException e) {
                throw e;
            } catch (NumberFormatException e) {
                bad(where, "not a number: " + e.getMessage().replace("For input string: ", ""), onError, skipped);
            } catch (IllegalArgumentException e) {
                bad(where, e.getMessage(), onError, skipped);
            }
        }
        if (inv.totalCards() == 0) throw new TraceException(file + ": no usable GPU node rows");
        return inv;
    }

    /**
     * Alibaba pods as one-task jobs. A pod runs from {@code scheduled_time} (or {@code creation_time} when empty) to
     * {@code deletion_time} and is submitted at {@code creation_time}. CPU-only pods (num_gpu 0) are left out; a
     * fractional share of one card ({@code gpu_milli} < 1000) is taken as one whole card, as Cardinal gives whole
     * cards. Pods with no run time (deletion <= start) are left out and counted in {@code notes}.
     */
    public static List<SimJob> alibabaPods(Path file, OnError onError, List<String> skipped, List<String> notes) throws TraceException {
        try {
            return alibabaPods0(file, onError, skipped, notes);
        } catch (StopException e) {
            throw new TraceException(e.getMessage());
        }
    }

    private static List<SimJob> alibabaPods0(Path file, OnError onError, List<String> skipped, List<String> notes) throws TraceException {
        List<String[]> rows = read(file, "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time",
                11, onError, skipped);
        List<SimJob> jobs = new ArrayList<>();
        int cpuOnly = 0;
        int fractional = 0;
        int noRuntime = 0;
        for (String[] r : rows) {
            String where = r[r.length - 1];
            try {
                String name = r[0].trim();
                int gpus = Integer.parseInt(r[3].trim());
                if (gpus < 0) throw new IllegalArgumentException("num_gpu " + gpus + " < 0");
                if (gpus == 0) {
                    cpuOnly++;
                    continue;
                }
                int milli = r[4].isBlank() ? 1000 : Integer.parseInt(r[4].trim());
                if (gpus == 1 && milli < 1000) fractional++;
                Set<String> models = new HashSet<>();
                for (String m : r[5].split("\\|")) if (!m.isBlank()) models.add(m.trim());
                long created = Long.parseLong(r[8].trim());
                if (r[9].isBlank()) throw new IllegalArgumentException("empty deletion_time");
                long deleted = Long.parseLong(r[9].trim());
                long start = r[10].isBlank() ? created : Long.parseLong(r[10].trim());
                if (created < 0) throw new IllegalArgumentException("creation_time < 0");
                if (deleted <= start) {
                    noRuntime++;
                    continue;
                }
                jobs.add(new SimJob(name, created * 1000, (deleted - start) * 1000, 1, gpus, models, 0, "default",
                        SupernodeRule.PREFERRED, 0));
            } catch (StopException e) {
                throw e;
            } catch (NumberFormatException e) {
                bad(where, "not a number: " + e.getMessage().replace("For input string: ", ""), onError, skipped);
            } catch (IllegalArgumentException e) {
                bad(where, e.getMessage(), onError, skipped);
            }
        }
        notes.add(cpuOnly + " CPU-only pods left out; " + fractional + " fractional-card pods taken as 1 card; "
                + noRuntime + " pods with no run time left out");
        return jobs;
    }

    /**
     * Cardinal's gang-job CSV. Header {@value #GANG_HEADER}, then optionally {@code ,supernode,max_supernodes}.
     * {@code card_model} may be empty (any) or several models joined by {@code |}. {@code supernode} is
     * required|preferred|any (default preferred); {@code max_supernodes} 0 = no cap. Lines starting with # are comments.
     */
    public static List<SimJob> gangCsv(Path file, OnError onError, List<String> skipped) throws TraceException {
        try {
            return gangCsv0(file, onError, skipped);
        } catch (StopException e) {
            throw new TraceException(e.getMessage());
        }
    }

    private static List<SimJob> gangCsv0(Path file, OnError onError, List<String> skipped) throws TraceException {
        List<String[]> rows = read(file, GANG_HEADER, 8, onError, skipped);
        List<SimJob> jobs = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (String[] r : rows) {
            String where = r[r.length - 1];
            try {
                String id = r[0].trim();
                if (id.isEmpty()) throw new IllegalArgumentException("empty job id");
                if (!ids.add(id)) throw new IllegalArgumentException("duplicate job " + id);
                double submit = Double.parseDouble(r[1].trim());
                double duration = Double.parseDouble(r[2].trim());
                int tasks = Integer.parseInt(r[3].trim());
                int perTask = Integer.parseInt(r[4].trim());
                if (!(submit >= 0)) throw new IllegalArgumentException("submit_s must be >= 0, got " + r[1].trim());
                if (!(duration > 0)) throw new IllegalArgumentException("duration_s must be > 0, got " + r[2].trim());
                if (tasks < 1) throw new IllegalArgumentException("tasks must be >= 1, got " + tasks);
                if (perTask < 1) throw new IllegalArgumentException("cards_per_task must be >= 1, got " + perTask);
                if ((long) tasks * perTask > 10_000_000) throw new IllegalArgumentException("more than 10,000,000 cards");
                Set<String> models = new HashSet<>();
                for (String m : r[5].split("\\|")) if (!m.isBlank()) models.add(m.trim());
                int priority = r[6].isBlank() ? 0 : Integer.parseInt(r[6].trim());
                String tenant = r[7].isBlank() ? "default" : r[7].trim();
                SupernodeRule rule = SupernodeRule.PREFERRED;
                int cap = 0;
                int extra = r.length - 1; // last element is the location
                if (extra > 8 && !r[8].isBlank()) {
                    try {
                        rule = SupernodeRule.valueOf(r[8].trim().toUpperCase(Locale.ROOT));
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("supernode must be required|preferred|any, got " + r[8].trim());
                    }
                }
                if (extra > 9 && !r[9].isBlank()) cap = Integer.parseInt(r[9].trim());
                if (cap < 0) throw new IllegalArgumentException("max_supernodes must be >= 0");
                jobs.add(new SimJob(id, Math.round(submit * 1000), Math.max(1, Math.round(duration * 1000)), tasks, perTask, models,
                        priority, tenant, rule, cap));
            } catch (StopException e) {
                throw e;
            } catch (NumberFormatException e) {
                bad(where, "not a number: " + e.getMessage().replace("For input string: ", ""), onError, skipped);
            } catch (IllegalArgumentException e) {
                bad(where, e.getMessage(), onError, skipped);
            }
        }
        return jobs;
    }

    /** Rows after the header, each with its "file:line" appended as the last element. */
    private static List<String[]> read(Path file, String header, int minColumns, OnError onError, List<String> skipped) throws TraceException {
        List<String[]> rows = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String first = in.readLine();
            while (first != null && (first.isBlank() || first.startsWith("#"))) first = in.readLine();
            if (first == null) throw new TraceException(file + ": empty file");
            String h = first.strip();
            if (h.startsWith("\uFEFF")) h = h.substring(1);
            if (!h.startsWith(header)) throw new TraceException(file + ":1: expected header '" + header + "', got '" + abbreviate(h) + "'");
            String line;
            long lineNo = 1;
            while ((line = in.readLine()) != null) {
                lineNo++;
                if (lineNo > MAX_ROWS) throw new TraceException(file + ": more than " + MAX_ROWS + " lines");
                if (line.isBlank() || line.startsWith("#")) continue;
                String[] cols = line.split(",", -1);
                String where = file + ":" + lineNo;
                if (cols.length < minColumns) {
                    try {
                        bad(where, "expected " + minColumns + " columns, got " + cols.length, onError, skipped);
                    } catch (IllegalArgumentException e) {
                        throw new TraceException(e.getMessage());
                    }
                    continue;
                }
                String[] withWhere = java.util.Arrays.copyOf(cols, cols.length + 1);
                withWhere[cols.length] = where;
                rows.add(withWhere);
            }
        } catch (NoSuchFileException e) {
            throw new TraceException("no such file: " + file);
        } catch (IOException e) {
            throw new TraceException("cannot read " + file + ": " + e.getMessage());
        } catch (StopException e) {
            throw new TraceException(e.getMessage());
        }
        return rows;
    }

    private static void bad(String where, String what, OnError onError, List<String> skipped) {
        String msg = where + ": " + what;
        if (onError == OnError.STOP) throw new StopException(msg);
        skipped.add(msg);
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 77) + "..." : s;
    }

    /** Carries a stop-on-error message out of row parsing (unchecked so row loops stay simple). */
    static final class StopException extends IllegalArgumentException {
        StopException(String m) {
            super(m);
        }
    }
}
