package io.cardinal.chaos.history;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** The run's history: every operation (and every nemesis action, f = "nemesis") appended as one JSON line. */
public final class History implements AutoCloseable {
    private final long startNs = System.nanoTime();
    private final long startMs = System.currentTimeMillis();
    private final AtomicLong next = new AtomicLong();
    private final List<Op> ops = new ArrayList<>();
    private final BufferedWriter out;

    public History(Path file) throws IOException {
        this.out = file == null ? null : Files.newBufferedWriter(file, StandardCharsets.UTF_8);
    }

    public long nowNs() {
        return System.nanoTime() - startNs;
    }

    public long startMs() {
        return startMs;
    }

    /** Records an operation that was invoked at {@code invokeNs}/{@code invokeMs} and has just completed. */
    public Op record(String process, String f, String type, String replica, long invokeNs, long invokeMs, JsonNode args, JsonNode result) {
        Op op = new Op(next.incrementAndGet(), process, f, type, replica, invokeNs, nowNs(), invokeMs, System.currentTimeMillis(), args, result);
        synchronized (this) {
            ops.add(op);
            if (out != null) {
                try {
                    out.write(op.toJson().toString());
                    out.write('\n');
                } catch (IOException e) {
                    throw new IllegalStateException("cannot write the history: " + e.getMessage(), e);
                }
            }
        }
        return op;
    }

    public synchronized List<Op> ops() {
        return new ArrayList<>(ops);
    }

    public static List<Op> read(Path file) throws IOException {
        List<Op> ops = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            JsonNode n = Http.JSON.readTree(line);
            ops.add(Op.fromJson(n));
        }
        return ops;
    }

    @Override
    public synchronized void close() throws IOException {
        if (out != null) out.close();
    }
}
