package io.cardinal.state.store;

import org.rocksdb.RocksDB;
import org.rocksdb.util.Environment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLConnection;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Loads RocksDB's native library from one extracted copy per library build that every JVM on the host shares.
 *
 * <p>Why: RocksDB's own loader copies the 17 MB library into a fresh temp file on every start and deletes it only
 * at a clean exit. Replicas that are killed (crash tests, chaos runs, operators' {@code kill -9}) never exit cleanly,
 * so each kill left 17 MB in the temp dir; chaos sessions filled a host disk this way. Here the copy's directory is
 * named by the jar it came from and its size, it is written once (a temp file renamed into place, so a reader never
 * sees a partial copy), and every later start loads the same file.
 *
 * <p>If the shared directory cannot be used (not writable, another user's), RocksDB's own loader runs instead: the
 * server still starts, it just leaks again.
 */
public final class RocksNativeLibrary {
    private static final Logger LOG = LoggerFactory.getLogger(RocksNativeLibrary.class);
    /** A partial copy older than this belongs to a JVM that died while extracting. */
    private static final long STALE_PARTIAL_MILLIS = 10 * 60 * 1000L;

    /** How the library was loaded; tests check that the shared copy is what served. */
    public enum Source { SHARED_COPY, ROCKSDB_LOADER }

    private static Source source;

    private RocksNativeLibrary() {
    }

    /** Loads the library once per JVM; later calls return how the first one did it. */
    public static synchronized Source load() {
        if (source != null) {
            return source;
        }
        Path root = Path.of(System.getProperty("java.io.tmpdir"), "cardinal-native");
        try {
            Path dir = extract(root);
            RocksDB.loadLibrary(List.of(dir.toString()));
            source = Source.SHARED_COPY;
        } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
            LOG.warn("could not load RocksDB's library from a shared copy under {} ({}); using RocksDB's own loader,"
                + " which leaves a 17 MB copy in the temp dir whenever this process is killed", root, e.toString());
            RocksDB.loadLibrary();
            source = Source.ROCKSDB_LOADER;
        }
        return source;
    }

    /**
     * Makes sure {@code root/<key>/} holds the library under the file name {@link RocksDB#loadLibrary(List)} looks
     * for, and returns that directory. The key names the jar the library came from and its size, so a new RocksDB
     * version never loads an old copy.
     */
    static Path extract(Path root) throws IOException {
        String resource = Environment.getJniLibraryFileName("rocksdb");
        URL url = RocksDB.class.getClassLoader().getResource(resource);
        if (url == null) {
            throw new IOException(resource + " is not on the classpath");
        }
        URLConnection connection = url.openConnection();
        connection.setUseCaches(false);
        long sizeBytes = connection.getContentLengthLong();
        Path dir = root.resolve(key(url + "#" + sizeBytes));
        // The name RocksDB.loadLibrary(List) loads from a directory (in 11.x it differs from the jar entry's name).
        Path target = dir.resolve(Environment.getJniLibraryFileName("rocksdbjni"));
        if (Files.isRegularFile(target) && Files.size(target) == sizeBytes) {
            connection.getInputStream().close();
            return dir;
        }
        Files.createDirectories(dir);
        removeStalePartials(dir);
        Path partial = Files.createTempFile(dir, "extract-", ".partial");
        try (InputStream in = connection.getInputStream()) {
            long copied = Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
            if (sizeBytes >= 0 && copied != sizeBytes) {
                throw new IOException("copied " + copied + " bytes of " + resource + ", expected " + sizeBytes);
            }
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(partial);
        }
        return dir;
    }

    private static void removeStalePartials(Path dir) throws IOException {
        long cutoffMillis = System.currentTimeMillis() - STALE_PARTIAL_MILLIS;
        try (DirectoryStream<Path> partials = Files.newDirectoryStream(dir, "*.partial")) {
            for (Path p : partials) {
                try {
                    if (Files.getLastModifiedTime(p).toMillis() < cutoffMillis) {
                        Files.deleteIfExists(p);
                    }
                } catch (IOException e) {
                    // Another JVM may have removed or renamed it in between; nothing to do.
                }
            }
        }
    }

    private static String key(String s) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }
}
