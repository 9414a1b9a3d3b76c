package io.cardinal.server.it;

import io.cardinal.chaos.harness.LocalCluster;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three real server processes; 1,000 submissions from 8 concurrent clients through random replicas; the leader is
 * killed with SIGKILL midway. Every acknowledged submission must be on every replica, no key may make two jobs,
 * the survivors must agree on the state hash, and the killed replica must catch up after restart.
 */
class LeaderKillDuringSubmitsTest {
    static final int JOBS = 1000;
    static final int CLIENTS = 8;

    @Test
    void acknowledgedSubmissionsSurviveLeaderKill() throws Exception {
        long seed = Long.getLong("cardinal.seed", System.nanoTime());
        System.out.println("LeaderKillDuringSubmitsTest seed=" + seed + " (rerun with -Dcardinal.seed=" + seed + ")");
        Path dir = LocalCluster.freshDir("leader-kill");
        try (LocalCluster c = LocalCluster.start(dir, 3, "snapshotEveryEntries: 400\n")) {
            String leader = c.awaitLeader(60_000);
            for (int n = 1; n <= 4; n++) {
                LocalCluster.Reply r = c.post(leader, "/v1/nodes", "{\"nodeId\":\"sn" + (n % 2) + "-n" + n
                        + "\",\"supernodeId\":\"sn" + (n % 2) + "\",\"cardCount\":8,\"cardModel\":\"H100\"}");
                assertEquals(200, r.status(), r.body().toString());
            }
            Map<String, String> acked = new ConcurrentHashMap<>();
            AtomicInteger next = new AtomicInteger();
            AtomicInteger gaveUp = new AtomicInteger();
            List<String> ids = c.ids();
            ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
            for (int t = 0; t < CLIENTS; t++) {
                Random rnd = new Random(seed + t);
                pool.submit(() -> {
                    for (int n; (n = next.incrementAndGet()) <= JOBS; ) {
                        String key = "key-" + n;
                        String spec = "{\"name\":\"job-" + n + "\",\"tenant\":\"t" + (n % 3) + "\",\"tasks\":1,\"cardsPerTask\":"
                                + (1 + n % 2) + ",\"command\":[\"true\"]}";
                        boolean ok = false;
                        // Bounded retries with the same key: a retried submit must never make a second job.
                        for (int attempt = 0; attempt < 200 && !ok; attempt++) {
                            LocalCluster.Reply r = c.post(ids.get(rnd.nextInt(ids.size())), "/v1/jobs", spec, "Idempotency-Key", key);
                            if (r.status() == 200 || r.status() == 201) {
                                acked.put(key, r.body().path("jobId").asText());
                                ok = true;
                            } else {
                                sleep(100);
                            }
                        }
                        if (!ok) gaveUp.incrementAndGet();
                    }
                    return null;
                });
            }
            LocalCluster.await("300 acknowledged submissions", 120_000, () -> acked.size() >= 300);
            c.kill9(leader);
            pool.shutdown();
            assertTrue(pool.awaitTermination(5, TimeUnit.MINUTES), "clients did not finish");
            assertEquals(0, gaveUp.get(), "submissions that never got an answer");
            assertEquals(JOBS, acked.size());

            List<String> survivors = new ArrayList<>(ids);
            survivors.remove(leader);
            c.awaitLeader(60_000);
            String hash = c.awaitConverged(survivors, 60_000);
            for (String id : survivors) assertAllPresent(c, id, acked);

            c.start(leader);
            String all = c.awaitConverged(ids, 120_000);
            assertEquals(64, all.length());
            assertAllPresent(c, leader, acked);
            System.out.println("converged hash before restart " + hash + ", after " + all);
        }
    }

    private static void assertAllPresent(LocalCluster c, String id, Map<String, String> acked) {
        LocalCluster.Reply r = c.get(id, "/v1/jobs?limit=10000&stale=true");
        assertEquals(200, r.status(), r.body().toString());
        Set<String> jobIds = new HashSet<>();
        for (JsonNode j : r.body().path("jobs")) jobIds.add(j.path("jobId").asText());
        for (Map.Entry<String, String> e : acked.entrySet()) {
            assertTrue(jobIds.contains(e.getValue()), "replica " + id + " lacks acknowledged job " + e.getValue() + " (" + e.getKey() + ")");
        }
        // Every key was retried until acknowledged, so exactly one job per key exists: no duplicates.
        assertEquals(acked.size(), jobIds.size(), "replica " + id + " has jobs beyond one per idempotency key");
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
