package io.cardinal.server.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** lostNodeHoldMillis is the node lease agents fence by: its default follows the TTL and bad values are refused. */
class ServerConfigLeaseTest {
    private static ServerConfig load(Path dir, String extra) throws Exception {
        return ConfigFiles.load(dir, extra);
    }

    @Test
    void defaultLeaseIsFourTtls(@TempDir Path dir) throws Exception {
        assertEquals(12_000L, load(dir, "").lostNodeHoldMillis);
        assertEquals(8_000L, load(dir, "heartbeatTtlMillis: 2000\n").lostNodeHoldMillis);
    }

    @Test
    void explicitValuesAndZeroAreKept(@TempDir Path dir) throws Exception {
        assertEquals(60_000L, load(dir, "lostNodeHoldMillis: 60000\n").lostNodeHoldMillis);
        assertEquals(0L, load(dir, "lostNodeHoldMillis: 0\n").lostNodeHoldMillis);
    }

    @Test
    void leaseWithinTheTtlOrNegativeOrHugeIsRefused(@TempDir Path dir) {
        for (String bad : new String[]{"lostNodeHoldMillis: 3000\n", "lostNodeHoldMillis: 2999\n", "lostNodeHoldMillis: -1\n",
                "lostNodeHoldMillis: 3600001\n", "heartbeatTtlMillis: 20000\nlostNodeHoldMillis: 12000\n"}) {
            ServerConfig.ConfigException e = assertThrows(ServerConfig.ConfigException.class, () -> load(dir, bad), bad);
            assertTrue(e.getMessage().contains("lostNodeHoldMillis: must be 0 (no lease) or above heartbeatTtlMillis"), e.getMessage());
        }
    }
}
