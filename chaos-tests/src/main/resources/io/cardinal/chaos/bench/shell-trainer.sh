#!/usr/bin/env bash
# A light simulated trainer for benchmarks (bash only, no JVM): steps advance with wall time at STEPS_PER_SEC;
# every CHECKPOINT_EVERY steps it writes a shard into CARDINAL_CHECKPOINT_DIR and registers it through the agent's
# checkpoint API (JSON lines over CARDINAL_AGENT_SOCKET); twice a second it reports progress. On restore it checks
# that CARDINAL_RESTORE_PATH exists and resumes from RESTORE_STEP. SIGTERM exits 143.
set -u
rate=${TRAINER_STEPS_PER_SEC:-10}; every=${TRAINER_CHECKPOINT_EVERY:-10}; bytes=${TRAINER_SHARD_BYTES:-4096}
step0=${RESTORE_STEP:-0}
if [ "$step0" -gt 0 ]; then
  [ -f "${CARDINAL_RESTORE_PATH:-/nonexistent}" ] || { echo "restore shard missing: ${CARDINAL_RESTORE_PATH:-}" >&2; exit 4; }
  echo "restored step $step0 from $CARDINAL_RESTORE_PATH"
fi
trap 'exit 143' TERM
exec 3<>"/dev/tcp/${CARDINAL_AGENT_SOCKET%:*}/${CARDINAL_AGENT_SOCKET##*:}" || exit 5
start=$(date +%s%N); last_ckpt=$step0
id="\"job\":\"$CARDINAL_JOB_ID\",\"attempt\":$CARDINAL_ATTEMPT,\"rank\":$RANK"
while true; do
  now=$(date +%s%N)
  step=$(( step0 + (now - start) * rate / 1000000000 ))
  ck=$(( step / every * every ))
  if [ "$ck" -gt "$last_ckpt" ]; then
    f="$CARDINAL_CHECKPOINT_DIR/step-$ck.shard"
    printf '%s' "$CARDINAL_JOB_ID/$RANK/$ck" | head -c "$bytes" > "$f"
    sum=$(sha256sum "$f"); sum=${sum%% *}
    echo "{\"op\":\"checkpoint\",$id,\"step\":$ck,\"path\":\"$f\",\"bytes\":$(stat -c %s "$f"),\"checksum\":\"sha256:$sum\"}" >&3
    read -r reply <&3 || exit 6
    last_ckpt=$ck
  else
    echo "{\"op\":\"progress\",$id,\"step\":$step}" >&3
    read -r reply <&3 || exit 6
  fi
  sleep 0.5
done
