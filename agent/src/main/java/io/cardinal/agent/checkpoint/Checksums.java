package io.cardinal.agent.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.zip.CRC32C;

/**
 * Shard checksums as strings: {@code crc32c:<8 hex>} (fast, the default) or {@code sha256:<64 hex>}
 * (in every language's standard library, for scripts that prefer it). JDK only: the trainer uses it.
 */
public final class Checksums {
  public static final String CRC32C = "crc32c";
  public static final String SHA256 = "sha256";
  private static final int BUFFER_BYTES = 1 << 20;

  private Checksums() {}

  /** An incremental checksum of one algorithm. */
  public interface Hasher {
    void update(byte[] bytes, int offset, int length);

    String result();
  }

  /** The algorithm named by a checksum string; throws for anything else. */
  public static String algorithmOf(String checksum) {
    if (checksum != null) {
      if (checksum.startsWith(CRC32C + ":") && checksum.length() == CRC32C.length() + 1 + 8) {
        return CRC32C;
      }
      if (checksum.startsWith(SHA256 + ":") && checksum.length() == SHA256.length() + 1 + 64) {
        return SHA256;
      }
    }
    throw new IllegalArgumentException("checksum '" + checksum + "' is not crc32c:<8 hex> or sha256:<64 hex>");
  }

  public static Hasher newHasher(String algorithm) {
    if (CRC32C.equals(algorithm)) {
      CRC32C crc = new CRC32C();
      return new Hasher() {
        @Override
        public void update(byte[] bytes, int offset, int length) {
          crc.update(bytes, offset, length);
        }

        @Override
        public String result() {
          return CRC32C + ":" + String.format("%08x", crc.getValue());
        }
      };
    }
    if (SHA256.equals(algorithm)) {
      MessageDigest digest;
      try {
        digest = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
      return new Hasher() {
        @Override
        public void update(byte[] bytes, int offset, int length) {
          digest.update(bytes, offset, length);
        }

        @Override
        public String result() {
          return SHA256 + ":" + HexFormat.of().formatHex(digest.digest());
        }
      };
    }
    throw new IllegalArgumentException("unknown checksum algorithm '" + algorithm + "'");
  }

  /** Checksum of a whole file with the given algorithm. */
  public static String ofFile(Path file, String algorithm) throws IOException {
    Hasher h = newHasher(algorithm);
    byte[] buf = new byte[BUFFER_BYTES];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buf)) > 0; ) {
        h.update(buf, 0, n);
      }
    }
    return h.result();
  }

  public static int crc32c(byte[] bytes) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, bytes.length);
    return (int) crc.getValue();
  }
}
