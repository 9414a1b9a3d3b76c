package io.cardinal.consensus;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * A snapshot is a RocksDB checkpoint directory packed into one file, so Ratis can ship it to a lagging follower
 * as a single file with its MD5. Entries are stored flat (a checkpoint has no subdirectories).
 */
final class SnapshotFiles {
    /** A checkpoint with more files than this is not something this code wrote. */
    private static final int MAX_FILES = 100_000;

    private SnapshotFiles() {
    }

    /** Packs {@code dir} into {@code file} and fsyncs it. */
    static void pack(Path dir, Path file) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.sorted().toList();
        }
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(file, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)); ZipOutputStream zip = new ZipOutputStream(os)) {
            zip.setLevel(1);
            for (Path f : files) {
                if (!Files.isRegularFile(f)) throw new IOException("unexpected non-file in checkpoint: " + f);
                zip.putNextEntry(new ZipEntry(f.getFileName().toString()));
                Files.copy(f, zip);
                zip.closeEntry();
            }
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    /** Unpacks {@code file} into {@code dir}, which must not exist. */
    static void unpack(Path file, Path dir) throws IOException {
        Files.createDirectories(dir);
        int count = 0;
        try (InputStream is = new BufferedInputStream(Files.newInputStream(file)); ZipInputStream zip = new ZipInputStream(is)) {
            for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
                if (++count > MAX_FILES) throw new IOException("snapshot " + file + " has more than " + MAX_FILES + " files");
                String name = e.getName();
                if (name.contains("/") || name.contains("\\") || name.equals("..") || name.isEmpty()) {
                    throw new IOException("snapshot " + file + " has a bad entry name: " + name);
                }
                Files.copy(zip, dir.resolve(name));
            }
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(x);
        }
    }
}
