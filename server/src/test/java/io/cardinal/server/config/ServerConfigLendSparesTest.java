package io.cardinal.server.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** lendSpares turns spare lending on in the controller; off unless the config says so, and only a boolean is taken. */
class ServerConfigLendSparesTest {
    private static ServerConfig load(Path dir, String extra) throws Exception {
        return ConfigFiles.load(dir, extra);
    }

    @Test
    void offByDefault(@TempDir Path dir) throws Exception {
        assertFalse(load(dir, "").lendSpares);
    }

    @Test
    void parsesTrueAndFalse(@TempDir Path dir) throws Exception {
        assertTrue(load(dir, "lendSpares: true\n").lendSpares);
        assertFalse(load(dir, "lendSpares: false\n").lendSpares);
    }

    @Test
    void nonBooleanIsRefused(@TempDir Path dir) {
        ServerConfig.ConfigException e = assertThrows(ServerConfig.ConfigException.class, () -> load(dir, "lendSpares: sometimes\n"));
        assertTrue(e.getMessage().contains("lendSpares"), e.getMessage());
    }
}
