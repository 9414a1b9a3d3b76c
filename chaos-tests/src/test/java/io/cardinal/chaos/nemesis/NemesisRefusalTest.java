package io.cardinal.chaos.nemesis;

import io.cardinal.chaos.host.Backend;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A nemesis a backend cannot run is refused with a message that says what it needs. */
class NemesisRefusalTest {
    static final Set<String> LOCAL = Set.of(Backend.KILL, Backend.PAUSE);
    static final Set<String> CONTAINERS = Set.of(Backend.KILL, Backend.PAUSE, Backend.NETWORK, Backend.SHAPE);

    @Test
    void unsupportedFaultsAreRefusedClearly() {
        String slow = Nemesis.refusal("slow-link", "local", LOCAL);
        assertTrue(slow != null && slow.contains("tc") && slow.contains("netem"), slow);
        String disk = Nemesis.refusal("disk-full", "containers", CONTAINERS);
        assertTrue(disk != null && disk.contains("loop-mounted"), disk);
        String unknown = Nemesis.refusal("meteor", "local", LOCAL);
        assertTrue(unknown != null && unknown.contains("known"), unknown);
    }

    @Test
    void supportedFaultsFollowTheCapabilities() {
        assertNull(Nemesis.refusal("clock-skew", "local", LOCAL));
        assertTrue(Nemesis.supported(LOCAL).contains("clock-skew"));
        assertFalse(Nemesis.supported(LOCAL).contains("partition-halves"));
        assertTrue(Nemesis.supported(CONTAINERS).contains("slow-link"));
        assertFalse(Nemesis.supported(CONTAINERS).contains("disk-stall"));
        Set<String> withDisk = new java.util.HashSet<>(CONTAINERS);
        withDisk.add(Backend.DISK);
        assertFalse(Nemesis.supported(withDisk).contains("agent-crash"));
        withDisk.add(Backend.AGENTS);
        withDisk.add(Backend.AGENT_NETWORK);
        assertTrue(Nemesis.supported(withDisk).containsAll(Nemesis.ALL));
    }

    @Test
    void agentFaultsNeedAgentsAndAgentPartitionsAnAddressPerAgent() {
        Set<String> localAgents = new java.util.HashSet<>(LOCAL);
        localAgents.add(Backend.AGENTS);
        assertNull(Nemesis.refusal("agent-crash", "local", localAgents));
        String partition = Nemesis.refusal("agent-partition", "local", localAgents);
        assertTrue(partition != null && partition.contains("loopback"), partition);
        String noAgents = Nemesis.refusal("agent-crash", "containers", CONTAINERS);
        assertTrue(noAgents != null && noAgents.contains("--agents"), noAgents);
    }

    @Test
    void netnsAndContainersWithAgentsCutAgentsOffButLocalDoesNot() {
        for (String be : new String[]{"netns", "containers"}) {
            Set<String> caps = io.cardinal.chaos.ChaosMain.capabilities(be, 4);
            assertNull(Nemesis.refusal("agent-partition", be, caps), be + " " + caps);
            assertNull(Nemesis.refusal("agent-crash", be, caps), be + " " + caps);
            assertFalse(io.cardinal.chaos.ChaosMain.capabilities(be, 0).contains(Backend.AGENTS), be + " without agents");
        }
        Set<String> local = io.cardinal.chaos.ChaosMain.capabilities("local", 4);
        assertTrue(local.contains(Backend.AGENTS));
        String partition = Nemesis.refusal("agent-partition", "local", local);
        assertTrue(partition != null && partition.contains("netns"), partition);
    }
}
