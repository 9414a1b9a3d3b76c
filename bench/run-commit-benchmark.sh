#!/usr/bin/env bash
# Builds what the commit benchmark needs (bench and the modules it depends on; never `mvn install`) and runs it.
# Every argument goes to io.cardinal.bench.CommitBenchmark, e.g.:
#   bench/run-commit-benchmark.sh --clients 1,16,256 --seconds 10 --warmup-seconds 3 --workload all --etcd auto \
#       --out bench/target/commit-benchmark.md
# Set SKIP_BUILD=1 to reuse the last build. etcd rows need /usr/bin/etcd (Debian: apt-get install -y etcd-server).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  mvn -q -B -ntp -DskipTests package -pl bench -am
fi
cp="$root/bench/target/classes:$(cat "$root/bench/target/classpath.txt")"
# The server JVMs that LocalCluster starts use this same classpath (ServerMain comes from cardinal-server).
# Server JVMs get the flags bin/cardinal-server uses in production (C2, default GC, 1 GiB), not the tests' fast-start ones.
exec java -Xmx1g -XX:+UseParallelGC -Dcardinal.server.classpath="$cp" \
  -Dcardinal.server.jvmFlags="${CARDINAL_BENCH_SERVER_JVM_FLAGS:--Xmx1g}" -cp "$cp" io.cardinal.bench.CommitBenchmark "$@"
