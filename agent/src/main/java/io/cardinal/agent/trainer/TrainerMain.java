package io.cardinal.agent.trainer;

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import java.util.zip.CRC32C;

/**
 * {@code cardinal-trainer}: a simulated training worker. It reads the launcher environment the agent
 * sets (RANK, WORLD_SIZE, CARDINAL_JOB_ID, CARDINAL_ATTEMPT, RESTORE_STEP, CARDINAL_RESTORE_PATH,
 * CARDINAL_CHECKPOINT_DIR, CARDINAL_AGENT_SOCKET), advances steps at a fixed rate, writes a checkpoint
 * shard every N steps through the agent's local checkpoint API, resumes from RESTORE_STEP, and fails
 * when told to. Shard bytes are a pure function of (job, rank, step), so a restore can be verified.
 *
 * <p>Knobs (environment, or {@code --name=value} flags with the TRAINER_ prefix dropped and lower case,
 * e.g. {@code --steps-per-sec=20}): TRAINER_STEPS_PER_SEC (10), TRAINER_TOTAL_STEPS (0: forever; exit 0
 * when reached), TRAINER_CHECKPOINT_EVERY (0: never), TRAINER_SHARD_BYTES (1048576),
 * TRAINER_FAIL_AT_STEP (exit 3 at that step), TRAINER_FAIL_ON_ATTEMPT (1: which attempt fails; 0: every
 * one), TRAINER_FAIL_RANK (-1: every rank), TRAINER_FAIL_FILE (exit 3 as soon as this file exists),
 * TRAINER_CORRUPT_AT_STEP (report a wrong checksum for that step's shard).
 *
 * <p>JDK classes only, and no logging framework: it must start fast.
 */
public final class TrainerMain {
  static final String SHARD_MAGIC = "CARDINAL-SHARD v1";
  private static final long PROGRESS_EVERY_NANOS = 250_000_000L;
  private static final int BUFFER_BYTES = 1 << 16;

  private final Map<String, String> opts;
  private final String job;
  private final long attempt;
  private final int rank;
  private final int worldSize;
  private AgentClient agent;
  private volatile long currentStep;
  private volatile boolean finished;

  private TrainerMain(Map<String, String> opts) {
    this.opts = opts;
    this.job = opts.getOrDefault("CARDINAL_JOB_ID", "local");
    this.attempt = num("CARDINAL_ATTEMPT", 1);
    this.rank = (int) num("RANK", 0);
    this.worldSize = (int) num("WORLD_SIZE", 1);
  }

  public static void main(String[] args) {
    Map<String, String> opts = new HashMap<>(System.getenv());
    for (String a : args) {
      if (!a.startsWith("--") || a.indexOf('=') < 0) {
        System.err.println("cardinal-trainer: bad argument '" + a + "'; use --name=value (e.g. --steps-per-sec=20)");
        System.exit(2);
      }
      String name = a.substring(2, a.indexOf('=')).toUpperCase().replace('-', '_');
      opts.put("TRAINER_" + name, a.substring(a.indexOf('=') + 1));
    }
    int code;
    TrainerMain trainer = new TrainerMain(opts);
    // SIGTERM (the agent stopping a superseded attempt) runs shutdown hooks; say where we were.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      if (!trainer.finished) {
        say("terminated at step " + trainer.currentStep + " (SIGTERM)");
      }
    }));
    try {
      code = trainer.run();
    } catch (IllegalArgumentException e) {
      say("cardinal-trainer: " + e.getMessage());
      code = 2;
    } catch (IOException e) {
      say("cardinal-trainer: I/O error: " + e);
      code = 1;
    }
    trainer.finished = true;
    System.exit(code);
  }

  private long num(String key, long dflt) {
    String v = opts.get(key);
    if (v == null || v.isBlank()) {
      return dflt;
    }
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " must be an integer, got '" + v + "'");
    }
  }

  private static void say(String line) {
    System.out.println(line);
    System.out.flush();
  }

  private int run() throws IOException {
    double stepsPerSec = Double.parseDouble(opts.getOrDefault("TRAINER_STEPS_PER_SEC", "10"));
    if (!(stepsPerSec > 0) || stepsPerSec > 100_000) {
      throw new IllegalArgumentException("TRAINER_STEPS_PER_SEC must be in (0, 100000]");
    }
    long totalSteps = num("TRAINER_TOTAL_STEPS", 0);
    long every = num("TRAINER_CHECKPOINT_EVERY", 0);
    long shardBytes = num("TRAINER_SHARD_BYTES", 1 << 20);
    long failAt = num("TRAINER_FAIL_AT_STEP", 0);
    long failOnAttempt = num("TRAINER_FAIL_ON_ATTEMPT", 1);
    long failRank = num("TRAINER_FAIL_RANK", -1);
    long corruptAt = num("TRAINER_CORRUPT_AT_STEP", 0);
    String failFile = opts.get("TRAINER_FAIL_FILE");
    long restoreStep = num("RESTORE_STEP", 0);
    boolean failsHere = failAt > 0 && (failOnAttempt == 0 || failOnAttempt == attempt)
        && (failRank < 0 || failRank == rank);
    if (shardBytes < 0) {
      throw new IllegalArgumentException("TRAINER_SHARD_BYTES must be >= 0");
    }
    Path ckptDir = Path.of(opts.getOrDefault("CARDINAL_CHECKPOINT_DIR", "checkpoints"));
    String socket = opts.get("CARDINAL_AGENT_SOCKET");
    if (socket != null && !socket.isBlank()) {
      agent = new AgentClient(socket);
    }
    say("trainer job=" + job + " attempt=" + attempt + " rank=" + rank + "/" + worldSize + " pid="
        + ProcessHandle.current().pid() + " restore_step=" + restoreStep + " devices="
        + opts.getOrDefault("CUDA_VISIBLE_DEVICES", ""));
    long step = 0;
    if (restoreStep > 0) {
      String restorePath = opts.get("CARDINAL_RESTORE_PATH");
      if (restorePath == null || restorePath.isBlank()) {
        say("restore failed: RESTORE_STEP=" + restoreStep + " but CARDINAL_RESTORE_PATH is not set");
        return 4;
      }
      String bad = verifyShard(Path.of(restorePath), job, rank, restoreStep, -1);
      if (bad != null) {
        say("restore failed: " + bad);
        return 4;
      }
      say("restored step " + restoreStep + " from " + restorePath);
      step = restoreStep;
      currentStep = step;
    }
    long periodNanos = (long) (1e9 / stepsPerSec);
    long next = System.nanoTime();
    long lastProgress = 0;
    while (totalSteps == 0 || step < totalSteps) {
      next += periodNanos;
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      step++;
      currentStep = step;
      if (failsHere && step == failAt) {
        say("failing at step " + step + " as told (TRAINER_FAIL_AT_STEP)");
        return 3;
      }
      if (failFile != null && !failFile.isBlank() && Files.exists(Path.of(failFile))) {
        say("failing at step " + step + ": found " + failFile);
        return 3;
      }
      if (step == 1 || step % 100 == 0) {
        say("step " + step);
      }
      if (agent != null && System.nanoTime() - lastProgress > PROGRESS_EVERY_NANOS) {
        lastProgress = System.nanoTime();
        agent.call("{\"op\":\"progress\"," + ids() + ",\"step\":" + step + "}");
      }
      if (every > 0 && step % every == 0) {
        checkpoint(ckptDir, step, shardBytes, step == corruptAt);
      }
    }
    say("done at step " + step);
    return 0;
  }

  private String ids() {
    return "\"job\":" + quote(job) + ",\"attempt\":" + attempt + ",\"rank\":" + rank;
  }

  private void checkpoint(Path dir, long step, long shardBytes, boolean corrupt) throws IOException {
    Files.createDirectories(dir);
    Path file = dir.resolve("step-" + step + ".rank-" + rank + ".shard");
    CRC32C crc = new CRC32C();
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE), BUFFER_BYTES)) {
      ShardBytes gen = new ShardBytes(job, rank, step, shardBytes);
      byte[] buf = new byte[BUFFER_BYTES];
      for (int n; (n = gen.read(buf)) > 0; ) {
        out.write(buf, 0, n);
        crc.update(buf, 0, n);
      }
    }
    long value = crc.getValue();
    if (corrupt) {
      value ^= 0x1; // what a torn write or a bit flip looks like to the agent
      say("corrupting the checksum of step " + step + " as told (TRAINER_CORRUPT_AT_STEP)");
    }
    String checksum = "crc32c:" + hex8(value);
    if (agent == null) {
      say("checkpoint step " + step + " written to " + file + " (no agent socket: kept locally)");
      return;
    }
    String reply = agent.call("{\"op\":\"checkpoint\"," + ids() + ",\"step\":" + step + ",\"path\":"
        + quote(file.toAbsolutePath().toString()) + ",\"bytes\":" + shardBytes + ",\"checksum\":\"" + checksum + "\"}");
    if (reply != null && reply.contains("\"ok\":true")) {
      say("checkpoint step " + step + " stored (" + shardBytes + " bytes, " + checksum + ")");
    } else {
      say("checkpoint step " + step + " rejected: " + reply);
    }
  }

  /** Null when the file holds exactly the shard of (job, rank, step), else what is wrong. */
  static String verifyShard(Path file, String job, int rank, long step, long expectBytes) throws IOException {
    if (!Files.isRegularFile(file)) {
      return file + " does not exist";
    }
    long size = Files.size(file);
    if (expectBytes >= 0 && size != expectBytes) {
      return file + " has " + size + " bytes, expected " + expectBytes;
    }
    ShardBytes gen = new ShardBytes(job, rank, step, size);
    byte[] want = new byte[BUFFER_BYTES];
    byte[] got = new byte[BUFFER_BYTES];
    long offset = 0;
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = gen.read(want)) > 0; ) {
        int m = in.readNBytes(got, 0, n);
        for (int i = 0; i < n; i++) {
          if (i >= m || want[i] != got[i]) {
            return file + " is not the shard of job " + job + " rank " + rank + " step " + step
                + " (first difference at byte " + (offset + i) + ")";
          }
        }
        offset += n;
      }
    }
    return null;
  }

  /** The deterministic bytes of a shard: a header line, then xorshift64 output seeded by (job, rank, step). */
  static final class ShardBytes {
    private final byte[] header;
    private final long total;
    private long pos;
    private long x;
    private long word;
    private int wordLeft;

    ShardBytes(String job, int rank, long step, long total) {
      this.header = (SHARD_MAGIC + " job=" + job + " rank=" + rank + " step=" + step + "\n")
          .getBytes(StandardCharsets.UTF_8);
      this.total = total;
      long h = 0xcbf29ce484222325L; // FNV-1a over the identity
      for (byte b : (job + "/" + rank + "/" + step).getBytes(StandardCharsets.UTF_8)) {
        h = (h ^ (b & 0xff)) * 0x100000001b3L;
      }
      this.x = h == 0 ? 1 : h;
    }

    int read(byte[] buf) {
      int n = (int) Math.min(buf.length, total - pos);
      for (int i = 0; i < n; i++, pos++) {
        if (pos < header.length) {
          buf[i] = header[(int) pos];
          continue;
        }
        if (wordLeft == 0) {
          x ^= x << 13;
          x ^= x >>> 7;
          x ^= x << 17;
          word = x;
          wordLeft = 8;
        }
        buf[i] = (byte) word;
        word >>>= 8;
        wordLeft--;
      }
      return n;
    }
  }

  private static String hex8(long v) {
    String s = Long.toHexString(v & 0xffffffffL);
    return "00000000".substring(s.length()) + s;
  }

  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        default -> {
          if (c < 0x20) {
            b.append("\\u00").append(c < 0x10 ? "0" : "").append(Integer.toHexString(c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }

  /** One connection to the agent's checkpoint API; request line, reply line. */
  private static final class AgentClient {
    private final String address;
    private Socket socket;
    private Writer out;
    private BufferedReader in;

    AgentClient(String address) {
      this.address = address;
    }

    String call(String json) {
      for (int tryNo = 0; tryNo < 2; tryNo++) {
        try {
          if (socket == null) {
            int colon = address.lastIndexOf(':');
            socket = new Socket();
            socket.connect(new InetSocketAddress(address.substring(0, colon),
                Integer.parseInt(address.substring(colon + 1))), 5000);
            socket.setSoTimeout(120_000);
            out = new OutputStreamWriter(socket.getOutputStream(), StandardCharsets.UTF_8);
            in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
          }
          out.write(json + "\n");
          out.flush();
          String reply = in.readLine();
          if (reply != null) {
            return reply;
          }
        } catch (IOException | RuntimeException e) {
          say("agent checkpoint API " + address + " failed: " + e.getMessage());
        }
        close();
      }
      return null;
    }

    private void close() {
      try {
        if (socket != null) {
          socket.close();
        }
      } catch (IOException e) {
        // reconnect next time
      }
      socket = null;
    }
  }
}
