#!/usr/bin/env bash
# Runs a bounded series of seeded chaos schedules one after another and prints one table row per schedule
# (seed, the faults the schedule ran, the verdict, the failing checkers). Used for the "zero violations across
# >= 50 schedules" figure in docs/benchmarks.md.
#
#   chaos-tests/run-schedules.sh --from 2001 --count 50 --time 25s --out /tmp/chaos-sched [-- extra cardinal-chaos flags]
#
# Each schedule is a fresh cluster; its directory under --out keeps verdict.json, history and logs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
from=1001; count=50; time=25s; out=/tmp/chaos-sched
while [ $# -gt 0 ]; do
  case "$1" in
    --from) from="$2"; shift 2 ;;
    --count) count="$2"; shift 2 ;;
    --time) time="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "run-schedules: unknown option $1 (see the header of this script)" >&2; exit 2 ;;
  esac
done
if ! [[ "$count" =~ ^[0-9]+$ ]] || [ "$count" -lt 1 ] || [ "$count" -gt 1000 ]; then
  echo "run-schedules: --count must be 1..1000, got $count" >&2; exit 2
fi
mkdir -p "$out"
table="$out/schedules.md"
echo "| seed | backend | faults the schedule ran | ops | verdict | failing checkers |" > "$table"
echo "|---|---|---|---|---|---|" >> "$table"
valid=0; invalid=0; broken=0
for ((i = 0; i < count; i++)); do
  seed=$((from + i))
  dir="$out/$seed"
  rc=0
  "$here/bin/cardinal-chaos" --time "$time" --seed "$seed" --out "$dir" "$@" > "$out/$seed.log" 2>&1 || rc=$?
  if [ -f "$dir/verdict.json" ]; then
    row=$(python3 - "$dir/verdict.json" "$dir/history.jsonl" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))
faults = []
try:
    for line in open(sys.argv[2]):
        op = json.loads(line)
        if op.get("f") == "nemesis":
            faults.append(str(op.get("args", {}).get("fault", "?")))
except FileNotFoundError:
    pass
ops = v.get("ops", "?")
if isinstance(ops, dict):
    ops = sum(ops.values())
bad = [k for k, c in v.get("checkers", {}).items() if not c.get("valid")]
print("|".join([v.get("backend", "?"), ", ".join(faults) or "-", str(ops),
                "valid" if v.get("valid") else "INVALID", ", ".join(bad) or "-"]))
EOF
)
    IFS='|' read -r be faults ops verdict bad <<< "$row"
  else
    be="?"; faults="?"; ops="?"; verdict="could not run (exit $rc)"; bad="see $out/$seed.log"
  fi
  case "$verdict" in valid) valid=$((valid + 1)) ;; INVALID) invalid=$((invalid + 1)) ;; *) broken=$((broken + 1)) ;; esac
  echo "| $seed | $be | $faults | $ops | $verdict | $bad |" | tee -a "$table"
done
echo "schedules: $count run, $valid valid, $invalid invalid, $broken could not run; table in $table"
[ "$invalid" -eq 0 ] && [ "$broken" -eq 0 ]
