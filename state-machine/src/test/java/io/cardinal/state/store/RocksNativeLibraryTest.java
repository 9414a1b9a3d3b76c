package io.cardinal.state.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shared native-library copy: written once, reused, and what actually serves the store. */
class RocksNativeLibraryTest {
    @TempDir
    Path tmp;

    @Test
    void extractsOnceAndReusesTheCopy() throws IOException {
        Path dir = RocksNativeLibrary.extract(tmp);
        List<Path> files = list(dir);
        assertEquals(1, files.size(), "one library file and no partial copies: " + files);
        Path lib = files.get(0);
        assertTrue(Files.size(lib) > 1_000_000, "the copy holds the library, not a stub: " + Files.size(lib));

        FileTime old = FileTime.fromMillis(1_000_000L);
        Files.setLastModifiedTime(lib, old);
        assertEquals(dir, RocksNativeLibrary.extract(tmp), "same jar, same directory");
        assertEquals(old, Files.getLastModifiedTime(lib), "an intact copy is not written again");
    }

    @Test
    void replacesATruncatedCopyAndClearsStalePartials() throws IOException {
        Path dir = RocksNativeLibrary.extract(tmp);
        Path lib = list(dir).get(0);
        long sizeBytes = Files.size(lib);
        Files.write(lib, new byte[] {1, 2, 3});
        Path stale = Files.createFile(dir.resolve("extract-dead.partial"));
        Files.setLastModifiedTime(stale, FileTime.fromMillis(System.currentTimeMillis() - 3_600_000L));

        RocksNativeLibrary.extract(tmp);
        assertEquals(sizeBytes, Files.size(lib), "a truncated copy (a crash mid-write elsewhere) is replaced");
        assertEquals(List.of(lib), list(dir), "a partial copy a dead JVM left behind is removed");
    }

    @Test
    void theStoreLoadsTheSharedCopy() throws IOException {
        try (StateStore store = StateStore.open(tmp.resolve("db"))) {
            assertEquals(RocksNativeLibrary.Source.SHARED_COPY, RocksNativeLibrary.load(),
                "RocksDB fell back to its own loader, which leaks a copy per killed process");
        }
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }
}
