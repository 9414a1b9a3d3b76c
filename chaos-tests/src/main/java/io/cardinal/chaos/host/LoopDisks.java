package io.cardinal.chaos.host;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Disk faults at the OS level, shared by the backends: each replica's data dir is its own small ext4 filesystem
 * (a sparse image file, loop-mounted), so that
 * <ul>
 *   <li>disk full is real: a ballast file (fallocate) leaves only a few MiB free, and the server's own
 *   {@code minFreeDiskMiB} check sees it through the file system, with no hook in the server;</li>
 *   <li>disk stall is real: the cgroup v1 blkio throttle ({@code blkio.throttle.write_iops_device}, bytes too) of
 *   the replica's process is set for the loop device, so its fsyncs crawl. Writes the page cache absorbs are not
 *   slowed, fsync (which Ratis does for every append) is.</li>
 * </ul>
 * Needs root, losetup/mount, mkfs.ext4, fallocate and the cgroup v1 blkio hierarchy; {@link #unavailable()} says
 * what is missing. Every command is bounded in time.
 */
public final class LoopDisks implements AutoCloseable {
    public static final long IMAGE_MIB = 512;
    static final Path BLKIO = Path.of("/sys/fs/cgroup/blkio");
    /** A stalled disk: one write op and 4 KiB a second. */
    static final long STALL_WRITE_IOPS = 1;
    static final long STALL_WRITE_BPS = 4096;

    private record Disk(Path image, Path mount, String majMin) {
    }

    private final Map<String, Disk> disks = new LinkedHashMap<>();
    private record Throttle(String id, Path cgroup, long writesBefore, long sinceMs) {
    }

    private final List<Throttle> throttled = new ArrayList<>();

    /** Null when disk faults can run here, else why not. */
    public static String unavailable() {
        if (!"root".equals(System.getProperty("user.name"))) return "disk faults need root (loop mounts, blkio cgroups)";
        for (String tool : List.of("/usr/sbin/losetup", "/usr/sbin/mkfs.ext4", "/usr/bin/fallocate", "/usr/bin/mount", "/usr/bin/umount")) {
            if (!Files.isExecutable(Path.of(tool))) return "disk faults need " + tool;
        }
        if (!Files.isWritable(BLKIO.resolve("cgroup.procs"))) return "disk faults need the cgroup v1 blkio hierarchy at " + BLKIO;
        return null;
    }

    /** Null without disk faults; otherwise a new LoopDisks, or a clear error when this machine cannot have them. */
    static LoopDisks forFaults(boolean diskFaults) {
        if (!diskFaults) return null;
        String why = unavailable();
        if (why != null) throw new IllegalArgumentException("disk faults are not possible here: " + why);
        return new LoopDisks();
    }

    /** Creates a {@link #IMAGE_MIB} MiB ext4 image beside {@code mount} and mounts it there. */
    public synchronized void create(String id, Path mount) throws IOException {
        Path image = mount.resolveSibling(mount.getFileName() + ".img");
        Files.createDirectories(mount);
        try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(IMAGE_MIB << 20); // sparse: the host only pays for what is written
        }
        run("/usr/sbin/mkfs.ext4", "-q", "-F", image.toString());
        run("/usr/bin/mount", "-o", "loop", image.toString(), mount.toString());
        String dev = run("/usr/bin/findmnt", "-n", "-o", "SOURCE", mount.toString()).trim();
        String majMin = Files.readString(Path.of("/sys/block", Path.of(dev).getFileName().toString(), "dev")).trim();
        disks.put(id, new Disk(image, mount, majMin));
    }

    public synchronized boolean has(String id) {
        return disks.containsKey(id);
    }

    /** Fills the replica's filesystem until {@code leaveFreeMiB} MiB are left. */
    public synchronized void fill(String id, long leaveFreeMiB) throws IOException {
        Disk d = disk(id);
        long free = Files.getFileStore(d.mount()).getUsableSpace();
        long ballast = free - (leaveFreeMiB << 20);
        if (ballast <= 0) return;
        run("/usr/bin/fallocate", "-l", Long.toString(ballast), d.mount().resolve("ballast").toString());
    }

    /** Throttles writes to the replica's device for every process in the blkio cgroup {@code cgroup}. */
    public synchronized void throttle(String id, Path cgroup) throws IOException {
        Disk d = disk(id);
        Files.writeString(cgroup.resolve("blkio.throttle.write_iops_device"), d.majMin() + " " + STALL_WRITE_IOPS);
        Files.writeString(cgroup.resolve("blkio.throttle.write_bps_device"), d.majMin() + " " + STALL_WRITE_BPS);
        throttled.add(new Throttle(id, cgroup, writes(cgroup, d.majMin()), System.currentTimeMillis()));
    }

    /** Write requests the cgroup has sent to the device so far (blkio.throttle.io_serviced), -1 if unreadable. */
    static long writes(Path cgroup, String majMin) {
        try {
            for (String line : Files.readAllLines(cgroup.resolve("blkio.throttle.io_serviced"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length == 3 && f[0].equals(majMin) && f[1].equals("Write")) return Long.parseLong(f[2]);
            }
            return 0;
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    /**
     * Removes every throttle and ballast file; returns, per throttled replica, how many writes reached its device
     * while throttled (evidence the throttle held: at most about one a second), or null when nothing was throttled.
     */
    public synchronized String heal() throws IOException {
        IOException first = null;
        StringBuilder report = new StringBuilder();
        for (Throttle t : throttled) {
            Disk d = disks.get(t.id());
            try {
                if (Files.isDirectory(t.cgroup())) {
                    long after = writes(t.cgroup(), d.majMin());
                    if (report.length() > 0) report.append("; ");
                    report.append(t.id()).append(": ").append(after < 0 || t.writesBefore() < 0 ? "?" : Long.toString(after - t.writesBefore()))
                            .append(" writes in ").append(System.currentTimeMillis() - t.sinceMs()).append(" ms while throttled");
                    // "MAJ:MIN 0" deletes the rule
                    Files.writeString(t.cgroup().resolve("blkio.throttle.write_iops_device"), d.majMin() + " 0");
                    Files.writeString(t.cgroup().resolve("blkio.throttle.write_bps_device"), d.majMin() + " 0");
                }
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        throttled.clear();
        for (Disk d : disks.values()) Files.deleteIfExists(d.mount().resolve("ballast"));
        if (first != null) throw first;
        return report.length() == 0 ? null : report.toString();
    }

    /** A blkio cgroup of this harness for one local process (created if needed), with {@code pid} moved into it. */
    public static Path localCgroup(String id, long pid) throws IOException {
        Path cg = BLKIO.resolve("cardinal-chaos-" + ProcessHandle.current().pid() + "-" + id);
        Files.createDirectories(cg);
        Files.writeString(cg.resolve("cgroup.procs"), Long.toString(pid));
        return cg;
    }

    private Disk disk(String id) {
        Disk d = disks.get(id);
        if (d == null) throw new IllegalStateException("replica " + id + " has no loop-mounted data dir (disk faults were not enabled at start)");
        return d;
    }

    /** Unmounts every filesystem (its processes must be dead) and removes the images and this harness's cgroups. */
    @Override
    public synchronized void close() {
        try {
            heal();
        } catch (IOException e) {
            // best effort: the cgroups and mounts go below anyway
        }
        for (Disk d : disks.values()) {
            try {
                run("/usr/bin/umount", "-d", d.mount().toString());
            } catch (IOException e) {
                try {
                    // still busy (a process that did not die yet): detach lazily, the kernel frees it when idle
                    run("/usr/bin/umount", "-l", "-d", d.mount().toString());
                } catch (IOException e2) {
                    System.err.println("chaos: could not unmount " + d.mount() + ": " + e2.getMessage());
                }
            }
            try {
                Files.deleteIfExists(d.image());
            } catch (IOException e) {
                // left in the run's hosts/ dir
            }
        }
        disks.clear();
        String prefix = "cardinal-chaos-" + ProcessHandle.current().pid() + "-";
        try (var s = Files.list(BLKIO)) {
            for (Path cg : s.filter(p -> p.getFileName().toString().startsWith(prefix)).toList()) {
                try {
                    Files.delete(cg); // rmdir of a cgroup: fails while it has processes
                } catch (IOException e) {
                    System.err.println("chaos: could not remove cgroup " + cg + ": " + e.getMessage());
                }
            }
        } catch (IOException e) {
            // no blkio hierarchy: nothing was created
        }
    }

    static String run(String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": no exit within 60 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted: " + String.join(" ", cmd));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out.trim());
        return out;
    }
}
