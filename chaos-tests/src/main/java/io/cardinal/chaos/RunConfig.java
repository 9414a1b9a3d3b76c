package io.cardinal.chaos;

import java.nio.file.Path;
import java.util.List;

/** Everything that determines a run; {@link #reproduceCommand()} is the one command that runs it again. */
public record RunConfig(String backend, String profile, long timeSeconds, long seed, Path out, String injectBug, int replicas,
                        List<String> nemeses, int clients) {
    public String reproduceCommand() {
        return "bin/cardinal-chaos --backend " + backend + " --profile " + profile + " --time " + timeSeconds + "s --seed " + seed
                + " --replicas " + replicas + " --clients " + clients + (nemeses.isEmpty() ? " --nemesis none" : " --nemesis " + String.join(",", nemeses))
                + (injectBug == null ? "" : " --inject-bug " + injectBug) + " --out " + out;
    }
}
