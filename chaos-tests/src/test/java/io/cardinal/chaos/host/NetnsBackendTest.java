package io.cardinal.chaos.host;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The startup sweep's choice of what to remove: only this backend's names, only of JVMs that are gone. */
class NetnsBackendTest {
    @Test
    void sweepPicksOnlyOurNamesOfDeadJvms() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        long dead = p.pid();
        long live = ProcessHandle.current().pid();
        String netns = String.join("\n",
                "cch-" + dead + "-17-n1 (id: 4)",
                "cch-" + dead + "-17-br",
                "cch-" + live + "-18-n1 (id: 5)",
                "someone-elses-ns",
                "cch-notapid-3-n1",
                "");
        assertEquals(List.of("cch-" + dead + "-17-n1", "cch-" + dead + "-17-br"), NetnsBackend.staleNamespaces(netns));
        String links = String.join("\n",
                "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN",
                "5: docker0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500",
                "364: cch" + dead + "-216@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500",
                "365: cch" + live + "-17@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500",
                "366: vethb3eabc9@if282: <BROADCAST> mtu 1500");
        assertEquals(List.of("cch" + dead + "-216"), NetnsBackend.staleLinks(links));
    }
}
