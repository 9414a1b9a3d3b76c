package io.cardinal.consensus;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import io.cardinal.protocol.v1.EventBatch;
import io.cardinal.protocol.v1.Query;
import io.cardinal.state.ClusterState;
import io.cardinal.state.apply.Applier;
import io.cardinal.state.apply.ApplyResult;
import io.cardinal.state.apply.InvariantViolation;
import io.cardinal.state.query.QueryEngine;
import io.cardinal.state.query.Views;
import io.cardinal.state.store.StateStore;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;

/**
 * The Ratis adapter: committed entries (event batches) are applied to {@link ClusterState} and written to RocksDB;
 * reads run against the applied state under a read lock; snapshots are RocksDB checkpoints packed in one file.
 *
 * <p>Ratis resumes applying after its latest snapshot, which may be behind what RocksDB already holds, so entries at
 * or below the store's applied index are acknowledged without being applied twice.
 */
public final class CardinalStateMachine extends BaseStateMachine {
    private static final Logger LOG = LoggerFactory.getLogger(CardinalStateMachine.class);
    static final String APPLIED = "ok";
    static final String SKIPPED_PREFIX = "skipped:";
    /** Reads waiting for the applied index ({@link #awaitApplied}); more are refused rather than queued. */
    static final int MAX_APPLIED_WAITERS = 10_000;
    /** Between two tries of a store write that failed (disk full, I/O error). */
    private static final long WRITE_RETRY_MILLIS = 1000;

    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final List<AppliedListener> listeners = new CopyOnWriteArrayList<>();
    private final FatalHandler fatal;
    private final LeaderHooks leaderHooks;
    private volatile ClusterState state = new ClusterState();
    private volatile StateStore store;
    private volatile String stalled;
    private volatile boolean closing;
    private Path smDir;
    /** Futures waiting for the applied index to reach their key; guarded by itself. */
    private final NavigableMap<Long, List<CompletableFuture<Void>>> appliedWaiters = new TreeMap<>();
    private int appliedWaiterCount;

    /** Leader life-cycle callbacks for the controller service. */
    public interface LeaderHooks {
        /** On the apply thread, after the new leader applied every entry before its term's first one. */
        void leaderReady(ClusterState committed, long term);

        void notLeader();
    }

    public CardinalStateMachine(FatalHandler fatal, LeaderHooks leaderHooks) {
        this.fatal = fatal;
        this.leaderHooks = leaderHooks;
    }

    public void addListener(AppliedListener l) {
        listeners.add(l);
    }

    /** Non-null while applying is stuck (e.g. the disk is full): the replica is unhealthy. */
    public String stalled() {
        return stalled;
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        storage.init(raftStorage);
        smDir = raftStorage.getStorageDir().getStateMachineDir().toPath();
        Path db = smDir.resolve("db");
        getLifeCycle().startAndTransition(() -> {
            if (!Files.exists(db) && storage.getLatestSnapshot() != null) {
                restoreFromSnapshot();
            } else {
                openStore();
            }
        });
    }

    /** Ratis pauses the state machine before it installs a leader's snapshot, then calls {@link #reinitialize()}. */
    @Override
    public void pause() {
        if (getLifeCycleState() == LifeCycle.State.RUNNING) {
            getLifeCycle().transition(LifeCycle.State.PAUSING);
            getLifeCycle().transition(LifeCycle.State.PAUSED);
        }
    }

    @Override
    public void reinitialize() throws IOException {
        // A snapshot was installed from the leader: replace the store with it.
        getLifeCycle().transition(LifeCycle.State.STARTING);
        restoreFromSnapshot();
        getLifeCycle().transition(LifeCycle.State.RUNNING);
    }

    private void restoreFromSnapshot() throws IOException {
        SingleFileSnapshotInfo snap = storage.loadLatestSnapshot();
        if (snap == null) throw new IOException("no snapshot to restore from in " + smDir);
        lock.writeLock().lock();
        try {
            if (store != null) {
                store.close();
                store = null;
            }
            Path db = smDir.resolve("db");
            Path fresh = smDir.resolve("db.restoring");
            SnapshotFiles.deleteTree(fresh);
            SnapshotFiles.unpack(snap.getFile().getPath(), fresh);
            SnapshotFiles.deleteTree(db);
            Files.move(fresh, db, StandardCopyOption.ATOMIC_MOVE);
            LOG.info("restored state from snapshot {}", snap.getFile().getPath());
            openStoreLocked();
            // Entries up to the snapshot index are in it even when the last ones were Raft's own (no state change).
            TermIndex ti = snap.getTermIndex();
            setLastAppliedTermIndex(ti);
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void openStore() throws IOException {
        lock.writeLock().lock();
        try {
            openStoreLocked();
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void openStoreLocked() throws IOException {
        store = StateStore.open(smDir.resolve("db"));
        state = store.load();
        if (state.appliedIndex() > 0) setLastAppliedTermIndex(TermIndex.valueOf(state.appliedTerm(), state.appliedIndex()));
        LOG.info("state loaded at index {} (term {}), {} nodes, {} jobs, hash {}", state.appliedIndex(), state.appliedTerm(),
                state.nodes().size(), state.jobs().size(), state.stateHash());
    }

    @Override
    public SingleFileSnapshotInfo getLatestSnapshot() {
        return storage.getLatestSnapshot();
    }

    @Override
    public SimpleStateMachineStorage getStateMachineStorage() {
        return storage;
    }

    @Override
    public void notifyTermIndexUpdated(long term, long index) {
        // Raft's own entries (configuration, the leader's first entry) change no state, but move the applied index.
        // During replay after restart they can be at or below what the store already holds: never go back.
        TermIndex cur = getLastAppliedTermIndex();
        if (cur == null || index > cur.getIndex()) updateLastAppliedTermIndex(term, index);
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        var entry = trx.getLogEntry();
        long term = entry.getTerm();
        long index = entry.getIndex();
        if (index <= state.appliedIndex()) {
            return CompletableFuture.completedFuture(Message.valueOf(APPLIED));
        }
        EventBatch batch;
        try {
            batch = EventBatch.parseFrom(entry.getStateMachineLogEntry().getLogData().asReadOnlyByteBuffer());
        } catch (InvalidProtocolBufferException e) {
            // Every replica sees the same bytes; the controller never writes this: stop rather than guess.
            fatal.fatal("log entry " + term + ":" + index + " is not an event batch: " + e.getMessage(), e);
            return CompletableFuture.failedFuture(e);
        }
        ApplyResult result;
        lock.writeLock().lock();
        try {
            try {
                result = Applier.apply(state, batch, term, index);
            } catch (InvariantViolation v) {
                fatal.fatal("apply stopped at log entry " + term + ":" + index + " (" + batch.getCommandKind() + "): "
                        + v.getMessage(), v);
                return CompletableFuture.failedFuture(v);
            }
            writeWithRetry(result, index);
            updateLastAppliedTermIndex(term, index);
        } finally {
            lock.writeLock().unlock();
        }
        if (!result.events().isEmpty()) {
            for (AppliedListener l : listeners) {
                try {
                    l.onApplied(index, result.events());
                } catch (RuntimeException e) {
                    LOG.warn("applied-listener failed at index {}", index, e);
                }
            }
        }
        return CompletableFuture.completedFuture(Message.valueOf(result.skipped() ? SKIPPED_PREFIX + result.skipReason() : APPLIED));
    }

    /**
     * A failed store write (disk full) cannot be skipped without diverging, so applying waits here, the replica
     * reports itself unhealthy, and the write is retried until it succeeds or the replica shuts down.
     */
    private void writeWithRetry(ApplyResult result, long index) {
        for (int attempt = 1; ; attempt++) {
            try {
                store.write(state, result);
                if (stalled != null) LOG.info("store write at index {} succeeded after {} tries; applying resumes", index, attempt);
                stalled = null;
                return;
            } catch (IOException e) {
                stalled = "applying is stalled at index " + index + ": " + e.getMessage() + " (free disk space in the data dir)";
                if (attempt == 1 || attempt % 30 == 0) LOG.error(stalled);
                if (closing) throw new IllegalStateException(stalled, e);
                try {
                    Thread.sleep(WRITE_RETRY_MILLIS);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(stalled, e);
                }
            }
        }
    }

    @Override
    public long takeSnapshot() throws IOException {
        TermIndex ti = getLastAppliedTermIndex();
        if (ti == null || ti.getIndex() <= 0) return -1;
        java.io.File finalFile = storage.getSnapshotFile(ti.getTerm(), ti.getIndex());
        if (finalFile.exists()) return ti.getIndex();
        Path checkpoint = smDir.resolve("checkpoint." + ti.getIndex());
        Path tmp = smDir.resolve("tmp.snapshot." + ti.getTerm() + "_" + ti.getIndex());
        try {
            SnapshotFiles.deleteTree(checkpoint);
            Files.deleteIfExists(tmp);
            lock.readLock().lock();
            try {
                store.checkpoint(checkpoint);
            } finally {
                lock.readLock().unlock();
            }
            SnapshotFiles.pack(checkpoint, tmp);
            Files.move(tmp, finalFile.toPath(), StandardCopyOption.ATOMIC_MOVE);
            var md5 = MD5FileUtil.computeAndSaveMd5ForFile(finalFile);
            // Registered only now, after the file is complete and durable: Ratis purges the log behind it.
            storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(finalFile.toPath(), md5), ti));
            LOG.info("snapshot at {} written to {} ({} bytes)", ti, finalFile, Files.size(finalFile.toPath()));
            return ti.getIndex();
        } catch (IOException | RuntimeException e) {
            LOG.error("snapshot at {} failed and is not registered: {}", ti, e.toString());
            Files.deleteIfExists(tmp);
            Files.deleteIfExists(finalFile.toPath());
            throw e instanceof IOException io ? io : new IOException(e);
        } finally {
            SnapshotFiles.deleteTree(checkpoint);
        }
    }

    @Override
    public CompletableFuture<Message> query(Message request) {
        try {
            Query q = Query.parseFrom(request.getContent().asReadOnlyByteBuffer());
            return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(Views.JSON.writeValueAsBytes(queryLocal(q)))));
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Answers {@code q} from the applied state under the read lock (as current as this replica is). */
    public ObjectNode queryLocal(Query q) throws IOException {
        lock.readLock().lock();
        try {
            return QueryEngine.run(state, store, q);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Runs {@code reader} against the applied state under the read lock (local, possibly stale). */
    public void read(Consumer<ClusterState> reader) {
        lock.readLock().lock();
        try {
            reader.accept(state);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** A copy of the applied state (for the controller after a failed write). */
    public ClusterState committedCopy() {
        lock.readLock().lock();
        try {
            return state.copy();
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Completes once this replica has applied the log up to {@code index} (at once if it has). Completion happens on
     * the apply thread: callers move heavy work elsewhere. Refused when {@value #MAX_APPLIED_WAITERS} already wait.
     */
    public CompletableFuture<Void> awaitApplied(long index) {
        if (appliedIndex() >= index) return CompletableFuture.completedFuture(null);
        CompletableFuture<Void> f = new CompletableFuture<>();
        synchronized (appliedWaiters) {
            if (appliedWaiterCount >= MAX_APPLIED_WAITERS) {
                return CompletableFuture.failedFuture(new ReadUnavailableException(MAX_APPLIED_WAITERS
                        + " reads already wait for this replica to catch up (applied " + appliedIndex() + ")", null));
            }
            appliedWaiters.computeIfAbsent(index, k -> new ArrayList<>(2)).add(f);
            appliedWaiterCount++;
        }
        // The applied index may have moved between the check above and the registration.
        releaseAppliedWaiters();
        f.whenComplete((v, ex) -> {
            if (ex == null) return;
            // Timed out or cancelled by the caller: forget it now rather than when the index is reached.
            synchronized (appliedWaiters) {
                List<CompletableFuture<Void>> l = appliedWaiters.get(index);
                if (l != null && l.remove(f)) {
                    appliedWaiterCount--;
                    if (l.isEmpty()) appliedWaiters.remove(index);
                }
            }
        });
        return f;
    }

    private void releaseAppliedWaiters() {
        // BaseStateMachine's constructor sets the applied index before this class's fields exist.
        if (appliedWaiters == null) return;
        long applied = appliedIndex();
        List<CompletableFuture<Void>> ready = new ArrayList<>();
        synchronized (appliedWaiters) {
            while (!appliedWaiters.isEmpty() && appliedWaiters.firstKey() <= applied) {
                Map.Entry<Long, List<CompletableFuture<Void>>> e = appliedWaiters.pollFirstEntry();
                ready.addAll(e.getValue());
                appliedWaiterCount -= e.getValue().size();
            }
        }
        for (CompletableFuture<Void> f : ready) {
            // Runs on the apply thread: whatever a waiter's continuation does must not stop applying.
            try {
                f.complete(null);
            } catch (RuntimeException e) {
                LOG.warn("a read waiting for index {} failed to continue", applied, e);
            }
        }
    }

    @Override
    protected void setLastAppliedTermIndex(TermIndex newTI) {
        super.setLastAppliedTermIndex(newTI);
        releaseAppliedWaiters();
    }

    @Override
    protected boolean updateLastAppliedTermIndex(TermIndex newTI) {
        boolean changed = super.updateLastAppliedTermIndex(newTI);
        releaseAppliedWaiters();
        return changed;
    }

    /** The last applied log index, counting Raft's own entries (equals the commit index once caught up). */
    public long appliedIndex() {
        TermIndex ti = getLastAppliedTermIndex();
        return ti == null ? 0 : ti.getIndex();
    }

    public String stateHash() {
        lock.readLock().lock();
        try {
            return state.stateHash();
        } finally {
            lock.readLock().unlock();
        }
    }

    public long lastEventSeq() {
        return state.lastEventSeq();
    }

    public StateStore store() {
        return store;
    }

    @Override
    public void notifyLeaderReady() {
        // Called on the apply thread right after this term's first entry was applied: the state is complete.
        long term;
        try {
            term = getServer().join().getDivision(getGroupId()).getInfo().getCurrentTerm();
        } catch (IOException e) {
            LOG.error("leader ready but the division is gone; the controller stays stopped", e);
            return;
        }
        leaderHooks.leaderReady(state.copy(), term);
    }

    @Override
    public void notifyNotLeader(java.util.Collection<TransactionContext> pendingEntries) {
        leaderHooks.notLeader();
    }

    @Override
    public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
        if (!groupMemberId.getPeerId().equals(newLeaderId)) leaderHooks.notLeader();
    }

    @Override
    public void close() throws IOException {
        closing = true;
        super.close();
        lock.writeLock().lock();
        try {
            if (store != null) store.close();
            store = null;
        } finally {
            lock.writeLock().unlock();
        }
    }

    static boolean isSkipped(Message m) {
        return m != null && m.getContent().toString(StandardCharsets.UTF_8).startsWith(SKIPPED_PREFIX);
    }
}
