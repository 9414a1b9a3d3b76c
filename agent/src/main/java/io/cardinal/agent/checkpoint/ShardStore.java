package io.cardinal.agent.checkpoint;

import io.cardinal.agent.config.AgentConfigLoader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * Checkpoint shards on this node's disk: {@code DATA/checkpoints/<job>/<step>/rank-<r>.shard} for the
 * shards this node's workers wrote, {@code DATA/buddy/<job>/<step>/rank-<r>.shard} for the copies other
 * agents replicated here. Each shard has a {@code rank-<r>.meta} (bytes, checksum, attempt) written
 * before the shard is renamed into place, so a visible shard always has its meta.
 *
 * <p>Thread-safe: checksums are computed outside the lock; renames, meta and collection inside it.
 */
public final class ShardStore {
  public enum Kind {
    LOCAL("checkpoints"), BUDDY("buddy");

    final String dirName;

    Kind(String dirName) {
      this.dirName = dirName;
    }
  }

  public record StoredShard(Kind kind, String jobId, int rank, long step, long attempt, long bytes,
      String checksum, Path path) {}

  /** A shard that must not be kept, and why (for the log, the worker and the CHECKPOINT_REJECTED report). */
  public static final class ShardRejectedException extends Exception {
    public ShardRejectedException(String message) {
      super(message);
    }
  }

  private static final int COPY_BUFFER_BYTES = 1 << 20;
  private static final String COMMITTED_DIR = "committed";
  private final Path root;
  private final int keepSteps;
  /** How many times keepSteps a job may keep while its commits lag behind its checkpoints (see collect). */
  static final int UNCOMMITTED_CAP_FACTOR = 4;
  private final boolean fsync;
  private final Object lock = new Object();

  public ShardStore(Path dataDir, int keepSteps, boolean fsync) {
    if (keepSteps < 1) {
      throw new IllegalArgumentException("keepSteps must be >= 1");
    }
    this.root = dataDir;
    this.keepSteps = keepSteps;
    this.fsync = fsync;
  }

  public static void validate(String jobId, int rank, long step) throws ShardRejectedException {
    if (jobId == null || !AgentConfigLoader.ID.matcher(jobId).matches()) {
      throw new ShardRejectedException("bad job id '" + jobId + "'");
    }
    if (rank < 0 || rank > 1_000_000) {
      throw new ShardRejectedException("bad rank " + rank);
    }
    if (step <= 0) {
      throw new ShardRejectedException("bad step " + step + " (steps start at 1)");
    }
  }

  Path jobDir(Kind kind, String jobId) {
    return root.resolve(kind.dirName).resolve(jobId);
  }

  public Path shardPath(Kind kind, String jobId, long step, int rank) {
    return jobDir(kind, jobId).resolve(Long.toString(step)).resolve("rank-" + rank + ".shard");
  }

  private static Path metaPath(Path shard) {
    String name = shard.getFileName().toString();
    return shard.resolveSibling(name.substring(0, name.length() - ".shard".length()) + ".meta");
  }

  /**
   * Verifies a shard a worker wrote and takes it into the local store (the file is moved, not copied,
   * when it is on the same file system).
   */
  public StoredShard storeLocal(String jobId, long attempt, int rank, long step, Path source, long bytes,
      String checksum) throws ShardRejectedException, IOException {
    validate(jobId, rank, step);
    String algorithm;
    try {
      algorithm = Checksums.algorithmOf(checksum);
    } catch (IllegalArgumentException e) {
      throw new ShardRejectedException(e.getMessage());
    }
    if (!Files.isRegularFile(source)) {
      throw new ShardRejectedException("shard file " + source + " does not exist or is not a regular file");
    }
    long size = Files.size(source);
    if (size != bytes) {
      throw new ShardRejectedException("size mismatch: worker said " + bytes + " bytes, file " + source
          + " has " + size);
    }
    String computed = Checksums.ofFile(source, algorithm);
    if (!computed.equals(checksum)) {
      throw new ShardRejectedException("checksum mismatch for " + source + ": worker said " + checksum
          + ", file has " + computed);
    }
    Path target = shardPath(Kind.LOCAL, jobId, step, rank);
    synchronized (lock) {
      Files.createDirectories(target.getParent());
      writeMeta(target, jobId, rank, step, attempt, bytes, checksum);
      Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
      try {
        Files.move(source, tmp, StandardCopyOption.REPLACE_EXISTING);
      } catch (IOException e) {
        Files.copy(source, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.deleteIfExists(source);
      }
      moveIntoPlace(tmp, target);
      collect(Kind.LOCAL, jobId);
    }
    return new StoredShard(Kind.LOCAL, jobId, rank, step, attempt, bytes, checksum, target);
  }

  /** Starts receiving a buddy copy in chunks (ShardPut). One writer per incoming shard. */
  public IncomingShard beginIncoming(Kind kind, String jobId, long attempt, int rank, long step,
      long totalBytes, String checksum) throws ShardRejectedException, IOException {
    validate(jobId, rank, step);
    if (totalBytes < 0) {
      throw new ShardRejectedException("bad total_bytes " + totalBytes);
    }
    String algorithm;
    try {
      algorithm = Checksums.algorithmOf(checksum);
    } catch (IllegalArgumentException e) {
      throw new ShardRejectedException(e.getMessage());
    }
    Path target = shardPath(kind, jobId, step, rank);
    Files.createDirectories(target.getParent());
    Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".part");
    return new IncomingShard(kind, jobId, attempt, rank, step, totalBytes, checksum, algorithm, target, tmp);
  }

  /** Starts downloading a shard from a peer straight to a worker's restore path (not into the store). */
  public IncomingShard beginDownload(String jobId, int rank, long step, long totalBytes, String checksum,
      Path destination) throws ShardRejectedException, IOException {
    validate(jobId, rank, step);
    String algorithm;
    try {
      algorithm = Checksums.algorithmOf(checksum);
    } catch (IllegalArgumentException e) {
      throw new ShardRejectedException(e.getMessage());
    }
    if (totalBytes < 0) {
      throw new ShardRejectedException("bad total_bytes " + totalBytes);
    }
    Files.createDirectories(destination.getParent());
    Path tmp = Files.createTempFile(destination.getParent(), "." + destination.getFileName(), ".part");
    return new IncomingShard(null, jobId, 0, rank, step, totalBytes, checksum, algorithm, destination, tmp);
  }

  /** A shard arriving in chunks; verified chunk by chunk and as a whole before it is made visible. */
  public final class IncomingShard implements AutoCloseable {
    final Kind kind;
    final String jobId;
    final long attempt;
    final int rank;
    final long step;
    final long totalBytes;
    final String checksum;
    final Checksums.Hasher hasher;
    final Path target;
    final Path tmp;
    final FileChannel channel;
    long written;
    boolean done;

    IncomingShard(Kind kind, String jobId, long attempt, int rank, long step, long totalBytes, String checksum,
        String algorithm, Path target, Path tmp) throws IOException {
      this.kind = kind;
      this.jobId = jobId;
      this.attempt = attempt;
      this.rank = rank;
      this.step = step;
      this.totalBytes = totalBytes;
      this.checksum = checksum;
      this.hasher = Checksums.newHasher(algorithm);
      this.target = target;
      this.tmp = tmp;
      this.channel = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
    }

    public boolean matches(String job, int r, long s) {
      return jobId.equals(job) && rank == r && step == s;
    }

    public long written() {
      return written;
    }

    public void write(long offset, byte[] data, int chunkCrc32c) throws ShardRejectedException, IOException {
      if (offset != written) {
        throw new ShardRejectedException("chunk at offset " + offset + " but " + written + " bytes received");
      }
      if (written + data.length > totalBytes) {
        throw new ShardRejectedException("chunks exceed the announced " + totalBytes + " bytes");
      }
      if (Checksums.crc32c(data) != chunkCrc32c) {
        throw new ShardRejectedException("chunk at offset " + offset + " failed its crc32c check");
      }
      ByteBuffer buf = ByteBuffer.wrap(data);
      while (buf.hasRemaining()) {
        channel.write(buf);
      }
      hasher.update(data, 0, data.length);
      written += data.length;
    }

    /** Verifies the whole shard, fsyncs it and makes it visible. */
    public String checksum() {
      return checksum;
    }

    public StoredShard finish() throws ShardRejectedException, IOException {
      if (written != totalBytes) {
        throw new ShardRejectedException("shard ended after " + written + " of " + totalBytes + " bytes");
      }
      String computed = hasher.result();
      if (!computed.equals(checksum)) {
        throw new ShardRejectedException("checksum mismatch: sender said " + checksum + ", received bytes have "
            + computed);
      }
      if (fsync && kind != null) {
        channel.force(true);
      }
      channel.close();
      if (kind == null) {
        moveIntoPlace(tmp, target); // a download to a worker's restore path: not part of the store
      } else {
        synchronized (lock) {
          writeMeta(target, jobId, rank, step, attempt, totalBytes, checksum);
          moveIntoPlace(tmp, target);
          collect(kind, jobId);
        }
      }
      done = true;
      return new StoredShard(kind, jobId, rank, step, attempt, totalBytes, checksum, target);
    }

    @Override
    public void close() {
      try {
        channel.close();
        if (!done) {
          Files.deleteIfExists(tmp);
        }
      } catch (IOException e) {
        // Best effort: a leftover .part file is harmless and never read.
      }
    }
  }

  private void moveIntoPlace(Path tmp, Path target) throws IOException {
    try {
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private void writeMeta(Path shard, String jobId, int rank, long step, long attempt, long bytes,
      String checksum) throws IOException {
    Properties p = new Properties();
    p.setProperty("job", jobId);
    p.setProperty("rank", Integer.toString(rank));
    p.setProperty("step", Long.toString(step));
    p.setProperty("attempt", Long.toString(attempt));
    p.setProperty("bytes", Long.toString(bytes));
    p.setProperty("checksum", checksum);
    Path meta = metaPath(shard);
    Path tmp = meta.resolveSibling(meta.getFileName() + ".tmp");
    try (OutputStream out = Files.newOutputStream(tmp)) {
      p.store(out, null);
    }
    moveIntoPlace(tmp, meta);
  }

  /** The shard for (job, step, rank) if this node holds it: its own copy first, then a buddy copy. */
  public Optional<StoredShard> find(String jobId, long step, int rank) {
    Optional<StoredShard> local = find(Kind.LOCAL, jobId, step, rank);
    return local.isPresent() ? local : find(Kind.BUDDY, jobId, step, rank);
  }

  public Optional<StoredShard> find(Kind kind, String jobId, long step, int rank) {
    try {
      validate(jobId, rank, step);
    } catch (ShardRejectedException e) {
      return Optional.empty();
    }
    Path shard = shardPath(kind, jobId, step, rank);
    Path meta = metaPath(shard);
    if (!Files.isRegularFile(shard) || !Files.isRegularFile(meta)) {
      return Optional.empty();
    }
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(meta)) {
      p.load(in);
      return Optional.of(new StoredShard(kind, jobId, rank, step, Long.parseLong(p.getProperty("attempt", "0")),
          Long.parseLong(p.getProperty("bytes")), p.getProperty("checksum"), shard));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** Recomputes the checksum; null when it matches, else what is wrong. */
  public static String verify(StoredShard shard) {
    try {
      long size = Files.size(shard.path());
      if (size != shard.bytes()) {
        return "size is " + size + ", meta says " + shard.bytes();
      }
      String computed = Checksums.ofFile(shard.path(), Checksums.algorithmOf(shard.checksum()));
      return computed.equals(shard.checksum()) ? null
          : "checksum mismatch: meta says " + shard.checksum() + ", file has " + computed;
    } catch (NoSuchFileException e) {
      return "file vanished: " + shard.path();
    } catch (IOException | IllegalArgumentException e) {
      return e.toString();
    }
  }

  /** Copies (hard-links when possible) a verified shard to a worker's restore path. */
  public static void materialize(StoredShard shard, Path destination) throws IOException {
    Files.createDirectories(destination.getParent());
    Files.deleteIfExists(destination);
    try {
      // A link keeps the bytes even if collection deletes the store entry while the worker reads.
      Files.createLink(destination, shard.path());
    } catch (IOException | UnsupportedOperationException e) {
      Files.copy(shard.path(), destination, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** The steps held for a job, newest first. */
  public List<Long> steps(Kind kind, String jobId) {
    Path dir = jobDir(kind, jobId);
    List<Long> steps = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return steps;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        try {
          steps.add(Long.parseLong(p.getFileName().toString()));
        } catch (NumberFormatException e) {
          // not a step directory
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    steps.sort(Comparator.reverseOrder());
    return steps;
  }

  /** The newest step at or below maxStep for which this node holds the rank's own shard (0 if none). */
  public long latestLocalStep(String jobId, int rank, long belowStep) {
    for (long s : steps(Kind.LOCAL, jobId)) {
      if (s < belowStep && find(Kind.LOCAL, jobId, s, rank).isPresent()) {
        return s;
      }
    }
    return 0;
  }

  /**
   * Keeps the newest keepSteps steps of a job, its committed step, and every step newer than the committed one up
   * to {@link #UNCOMMITTED_CAP_FACTOR} x keepSteps steps; deletes the rest.
   * <ul>
   *   <li>The committed step is the job's restore point: fast ranks can write keepSteps newer steps before the
   *   slowest rank makes any of them durable, and without the pin they would delete the only step every rank has.</li>
   *   <li>A step newer than the pin this agent knows may already be committed: the server commits it once every
   *   rank reported it durable, and the notice arrives later. Deleting it in that window deleted the restore point
   *   of the next restart (an agent IT under load: committed step 60 gone from its node and its buddy, 3 newer
   *   steps kept). So only steps older than the pin are collected, until the cap bounds the disk a stalled
   *   commit can use.</li>
   * </ul>
   */
  private void collect(Kind kind, String jobId) throws IOException {
    List<Long> steps = steps(kind, jobId);
    long pinned = committedStep(jobId);
    int cap = keepSteps * UNCOMMITTED_CAP_FACTOR;
    for (int i = keepSteps; i < steps.size(); i++) {
      long step = steps.get(i);
      if (step != pinned && (step < pinned || i >= cap)) {
        deleteTree(jobDir(kind, jobId).resolve(Long.toString(step)));
      }
    }
  }

  /**
   * Records that {@code step} is the job's committed checkpoint (the server said so, or an Assign restores from
   * it), so collection never deletes it. Only ever moves forward; stored under {@code DATA/committed/<job>} so a
   * restarted agent keeps the pin. Steps older than the new pin and beyond keepSteps are collected at once.
   */
  public void pinCommitted(String jobId, long step) throws ShardRejectedException, IOException {
    validate(jobId, 0, step);
    synchronized (lock) {
      if (step <= committedStep(jobId)) {
        return;
      }
      Path file = root.resolve(COMMITTED_DIR).resolve(jobId);
      Files.createDirectories(file.getParent());
      Path tmp = file.resolveSibling(jobId + ".tmp");
      Files.writeString(tmp, Long.toString(step));
      moveIntoPlace(tmp, file);
      for (Kind kind : Kind.values()) {
        collect(kind, jobId);
      }
    }
  }

  /** The job's committed step as last pinned on this node (0 when none is known). */
  public long committedStep(String jobId) {
    Path file = root.resolve(COMMITTED_DIR).resolve(jobId);
    try {
      return Long.parseLong(Files.readString(file).trim());
    } catch (IOException | NumberFormatException e) {
      // None yet, or unreadable: collection falls back to the newest keepSteps.
      return 0;
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** Reads a shard file chunk by chunk (for ShardPut / ShardData senders). */
  public static long copyChunks(Path file, ChunkSink sink) throws IOException {
    long offset = 0;
    long size = Files.size(file);
    try (InputStream in = Files.newInputStream(file)) {
      do {
        byte[] chunk = in.readNBytes((int) Math.min(io.cardinal.protocol.wire.Frames.SHARD_CHUNK_BYTES,
            size - offset));
        boolean last = offset + chunk.length >= size;
        CRC32C crc = new CRC32C();
        crc.update(chunk, 0, chunk.length);
        sink.accept(offset, chunk, (int) crc.getValue(), last);
        offset += chunk.length;
        if (chunk.length == 0) {
          break;
        }
      } while (offset < size);
    }
    return offset;
  }

  @FunctionalInterface
  public interface ChunkSink {
    void accept(long offset, byte[] data, int crc32c, boolean last) throws IOException;
  }
}
