package io.cardinal.chaos;

import java.nio.file.Path;
import java.util.List;

/**
 * Everything that determines a run; {@link #reproduceCommand()} is the one command that runs it again.
 * {@code agents}: real node agents to run (0: none, the workload registers nodes by hand).
 */
public record RunConfig(String backend, String profile, long timeSeconds, long seed, Path out, String injectBug, int replicas,
                        List<String> nemeses, int clients, int agents) {
    /** A run without agents. */
    public RunConfig(String backend, String profile, long timeSeconds, long seed, Path out, String injectBug, int replicas,
                     List<String> nemeses, int clients) {
        this(backend, profile, timeSeconds, seed, out, injectBug, replicas, nemeses, clients, 0);
    }

    public String reproduceCommand() {
        return "bin/cardinal-chaos --backend " + backend + " --profile " + profile + " --time " + timeSeconds + "s --seed " + seed
                + " --replicas " + replicas + " --clients " + clients + " --agents " + agents
                + (nemeses.isEmpty() ? " --nemesis none" : " --nemesis " + String.join(",", nemeses))
                + (injectBug == null ? "" : " --inject-bug " + injectBug) + " --out " + out;
    }
}
