package io.cardinal.state.store;

import com.google.protobuf.InvalidProtocolBufferException;
import io.cardinal.protocol.v1.Event;
import io.cardinal.protocol.v1.JobRecord;
import io.cardinal.protocol.v1.Member;
import io.cardinal.protocol.v1.MembersRecord;
import io.cardinal.protocol.v1.MetaRecord;
import io.cardinal.protocol.v1.NodeRecord;
import io.cardinal.protocol.v1.QuotaRecord;
import io.cardinal.protocol.v1.SpareRuleRecord;
import io.cardinal.state.ClusterState;
import io.cardinal.state.apply.ApplyResult;
import org.rocksdb.Checkpoint;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The durable applied view in RocksDB. Each applied batch is one {@link WriteBatch}: the records it touched, its
 * events, their index entries and the applied term-index together, so the store never holds a change without the
 * position it belongs to. The WAL is not fsynced: the Raft log is (fsync on) and replays whatever a crash lost.
 *
 * <p>Keys: {@code m} meta, {@code M} members, {@code n/<node>}, {@code j/<job>}, {@code q/<tenant>},
 * {@code s/<supernode>}, {@code k/<idempotency key>} -> job id, {@code e/<seq:020>} -> event,
 * {@code ej/<job>/<seq>} and {@code en/<node>/<seq>} -> empty (indexes).
 */
public final class StateStore implements AutoCloseable {
    static {
        RocksNativeLibrary.load();
    }

    private static final byte[] META = bytes("m");
    private static final byte[] MEMBERS = bytes("M");
    /** Bounds one query's scan however the caller sets its limit. */
    public static final int MAX_EVENTS_PER_QUERY = 10_000;

    private final Path dir;
    private final Options options;
    private final RocksDB db;
    private final WriteOptions writeOptions = new WriteOptions().setSync(false);

    private StateStore(Path dir, Options options, RocksDB db) {
        this.dir = dir;
        this.options = options;
        this.db = db;
    }

    public static StateStore open(Path dir) throws IOException {
        Files.createDirectories(dir);
        Options options = new Options().setCreateIfMissing(true).setMaxOpenFiles(256).setKeepLogFileNum(3);
        try {
            return new StateStore(dir, options, RocksDB.open(options, dir.toString()));
        } catch (RocksDBException e) {
            options.close();
            throw new IOException("cannot open RocksDB at " + dir + ": " + e.getMessage(), e);
        }
    }

    public Path dir() {
        return dir;
    }

    /** Reads every record back into a state. An empty store gives an empty state at index 0. */
    public ClusterState load() throws IOException {
        try {
            byte[] m = db.get(META);
            MetaRecord meta = m == null ? MetaRecord.getDefaultInstance() : MetaRecord.parseFrom(m);
            byte[] mem = db.get(MEMBERS);
            List<Member> members = mem == null ? List.of() : MembersRecord.parseFrom(mem).getMembersList();
            List<NodeRecord> nodes = new ArrayList<>();
            for (byte[] v : values("n/")) nodes.add(NodeRecord.parseFrom(v));
            List<JobRecord> jobs = new ArrayList<>();
            for (byte[] v : values("j/")) jobs.add(JobRecord.parseFrom(v));
            List<QuotaRecord> quotas = new ArrayList<>();
            for (byte[] v : values("q/")) quotas.add(QuotaRecord.parseFrom(v));
            List<SpareRuleRecord> spares = new ArrayList<>();
            for (byte[] v : values("s/")) spares.add(SpareRuleRecord.parseFrom(v));
            Map<String, String> keys = new TreeMap<>();
            try (RocksIterator it = db.newIterator()) {
                byte[] prefix = bytes("k/");
                for (it.seek(prefix); it.isValid() && startsWith(it.key(), prefix); it.next()) {
                    keys.put(new String(it.key(), 2, it.key().length - 2, StandardCharsets.UTF_8), string(it.value()));
                }
            }
            return ClusterState.load(meta, members, nodes, jobs, quotas, spares, keys);
        } catch (RocksDBException e) {
            throw new IOException("cannot read RocksDB at " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Writes what one applied batch changed, with the state's applied position, atomically. */
    public void write(ClusterState s, ApplyResult r) throws IOException {
        try (WriteBatch b = new WriteBatch()) {
            for (String id : r.nodes()) b.put(bytes("n/" + id), s.nodes().get(id).toByteArray());
            for (String id : r.jobs()) b.put(bytes("j/" + id), s.jobs().get(id).toByteArray());
            for (String id : r.quotas()) b.put(bytes("q/" + id), s.quotas().get(id).toByteArray());
            for (String id : r.spareRules()) b.put(bytes("s/" + id), s.spareRules().get(id).toByteArray());
            if (r.members()) b.put(MEMBERS, MembersRecord.newBuilder().addAllMembers(s.members()).build().toByteArray());
            for (Map.Entry<String, String> k : r.newKeys().entrySet()) b.put(bytes("k/" + k.getKey()), bytes(k.getValue()));
            for (Event e : r.events()) {
                String seq = seqKey(e.getSeq());
                b.put(bytes("e/" + seq), e.toByteArray());
                String job = EventKeys.jobId(e);
                if (!job.isEmpty()) b.put(bytes("ej/" + job + "/" + seq), new byte[0]);
                for (String node : EventKeys.nodeIds(e)) b.put(bytes("en/" + node + "/" + seq), new byte[0]);
            }
            b.put(META, s.meta().toByteArray());
            db.write(writeOptions, b);
        } catch (RocksDBException e) {
            throw new IOException("cannot write applied index " + s.appliedIndex() + " to RocksDB at " + dir + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * Events after {@code afterSeq}, optionally only those of one job and/or one node (both given: events about
     * that job that also name that node), at most {@code limit}.
     */
    public List<Event> events(String jobId, String nodeId, long afterSeq, int limit) throws IOException {
        int max = Math.max(1, Math.min(limit <= 0 ? 1000 : limit, MAX_EVENTS_PER_QUERY));
        List<Event> out = new ArrayList<>();
        try (ReadOptions ro = new ReadOptions(); RocksIterator it = db.newIterator(ro)) {
            boolean byJob = jobId != null && !jobId.isEmpty();
            boolean byNode = nodeId != null && !nodeId.isEmpty();
            if (byJob || byNode) {
                String p = byJob ? "ej/" + jobId + "/" : "en/" + nodeId + "/";
                byte[] prefix = bytes(p);
                for (it.seek(bytes(p + seqKey(afterSeq + 1))); it.isValid() && startsWith(it.key(), prefix) && out.size() < max; it.next()) {
                    String seq = new String(it.key(), prefix.length, it.key().length - prefix.length, StandardCharsets.UTF_8);
                    byte[] v = db.get(bytes("e/" + seq));
                    if (v == null) continue;
                    Event e = Event.parseFrom(v);
                    if (byJob && byNode && !EventKeys.nodeIds(e).contains(nodeId)) continue;
                    out.add(e);
                }
            } else {
                byte[] prefix = bytes("e/");
                for (it.seek(bytes("e/" + seqKey(afterSeq + 1))); it.isValid() && startsWith(it.key(), prefix) && out.size() < max; it.next()) {
                    out.add(Event.parseFrom(it.value()));
                }
            }
        } catch (RocksDBException | InvalidProtocolBufferException e) {
            throw new IOException("cannot read events from RocksDB at " + dir + ": " + e.getMessage(), e);
        }
        return out;
    }

    /** A RocksDB checkpoint (hard links where possible) of the current contents into {@code target}, which must not exist. */
    public void checkpoint(Path target) throws IOException {
        try (Checkpoint cp = Checkpoint.create(db)) {
            cp.createCheckpoint(target.toString());
        } catch (RocksDBException e) {
            throw new IOException("cannot create RocksDB checkpoint at " + target + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        db.close();
        options.close();
        writeOptions.close();
    }

    private List<byte[]> values(String prefix) {
        List<byte[]> out = new ArrayList<>();
        byte[] p = bytes(prefix);
        try (RocksIterator it = db.newIterator()) {
            for (it.seek(p); it.isValid() && startsWith(it.key(), p); it.next()) out.add(it.value());
        }
        return out;
    }

    static String seqKey(long seq) {
        return String.format("%020d", seq);
    }

    private static boolean startsWith(byte[] key, byte[] prefix) {
        return key.length >= prefix.length && Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String string(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
