#!/usr/bin/env bash
# Issue 4 benchmarks against real processes on loopback (see docs/benchmarks.md, "Agents: heartbeats, failure
# detection and restart"). Builds the classes (never installs), then runs:
#   B  AgentRestartBench   card failure -> all ranks running again (64 ranks over 8 agents, 20 repetitions)
#   A  HeartbeatLoadBench  one leader with N simulated agents heartbeating at 1 Hz; silent-node detection
# Usage: chaos-tests/run-agent-benchmarks.sh [A|B|all] [extra args for the bench main...]
#   e.g. chaos-tests/run-agent-benchmarks.sh B --worker shell
#        chaos-tests/run-agent-benchmarks.sh A --agents 5000
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WHICH="${1:-all}"; shift || true
# 10,000 agent connections need ~10k fds on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mvn -o -q -DskipTests compile -pl server -am
CPFILE="$ROOT/chaos-tests/target/agent-bench.classpath"
# Reactor modules resolve to their target/classes here because the same build compiled them.
mvn -o -q compile dependency:build-classpath -pl server -am -Dmdep.includeScope=test -Dmdep.outputFile="$CPFILE" >/dev/null
CP="$ROOT/server/target/classes:$ROOT/chaos-tests/target/classes:$ROOT/agent/target/classes:$(cat "$CPFILE")"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
# The servers get a larger heap for 10,000 sessions (LocalCluster appends these flags).
JOPTS=(-Xmx1g "-Dcardinal.server.classpath=$CP" "-Dcardinal.agent.classpath=$CP"
  "-Dcardinal.trainer.classpath=$ROOT/agent/target/classes" "-Dcardinal.server.jvmFlags=-Xmx2g")
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM, ulimit -n $(ulimit -n), $(date -u +%FT%TZ)"
case "$WHICH" in
  B|b) "$JAVA" "${JOPTS[@]}" -cp "$CP" io.cardinal.chaos.bench.AgentRestartBench "$@" ;;
  A|a) "$JAVA" "${JOPTS[@]}" -cp "$CP" io.cardinal.chaos.bench.HeartbeatLoadBench "$@" ;;
  all) "$JAVA" "${JOPTS[@]}" -cp "$CP" io.cardinal.chaos.bench.AgentRestartBench
       "$JAVA" "${JOPTS[@]}" -cp "$CP" io.cardinal.chaos.bench.HeartbeatLoadBench ;;
  *) echo "usage: $0 [A|B|all] [args...]" >&2; exit 2 ;;
esac
