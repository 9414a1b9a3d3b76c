#!/usr/bin/env bash
# A light simulated trainer for benchmarks (bash only, no JVM): steps advance with wall time at STEPS_PER_SEC;
# every CHECKPOINT_EVERY steps it writes a shard into CARDINAL_CHECKPOINT_DIR and registers it through the agent's
# checkpoint API (JSON lines over CARDINAL_AGENT_SOCKET); twice a second it reports progress. On restore it checks
# that CARDINAL_RESTORE_PATH exists and resumes from RESTORE_STEP. SIGTERM exits 143.
set -u
rate=${TRAINER_STEPS_PER_SEC:-10}; every=${TRAINER_CHECKPOINT_EVERY:-10}   # shards are a few bytes
step0=${RESTORE_STEP:-0}
if [ "$step0" -gt 0 ]; then
  [ -f "${CARDINAL_RESTORE_PATH:-/nonexistent}" ] || { echo "restore shard missing: ${CARDINAL_RESTORE_PATH:-}" >&2; exit 4; }
  echo "restored step $step0 from $CARDINAL_RESTORE_PATH"
fi
trap 'exit 143' TERM
exec 3<>"/dev/tcp/${CARDINAL_AGENT_SOCKET%:*}/${CARDINAL_AGENT_SOCKET##*:}" || exit 5
start=${EPOCHREALTIME/./}; last_ckpt=$step0
id="\"job\":\"$CARDINAL_JOB_ID\",\"attempt\":$CARDINAL_ATTEMPT,\"rank\":$RANK"
while true; do
  now=${EPOCHREALTIME/./}
  step=$(( step0 + (now - start) * rate / 1000000 ))
  ck=$(( step / every * every ))
  if [ "$ck" -gt "$last_ckpt" ]; then
    # Every multiple of CHECKPOINT_EVERY gets a shard, even when this loop ran late: a step is committed only when
    # every rank has it.
    for (( c = last_ckpt + every; c <= ck; c += every )); do
      f="$CARDINAL_CHECKPOINT_DIR/step-$c.shard"
      body="$CARDINAL_JOB_ID/$RANK/$c"
      printf '%s' "$body" > "$f"
      sum=$(sha256sum "$f"); sum=${sum%% *}
      echo "{\"op\":\"checkpoint\",$id,\"step\":$c,\"path\":\"$f\",\"bytes\":${#body},\"checksum\":\"sha256:$sum\"}" >&3
      read -r reply <&3 || exit 6
    done
    last_ckpt=$ck
  else
    echo "{\"op\":\"progress\",$id,\"step\":$step}" >&3
    read -r reply <&3 || exit 6
  fi
  sleep 0.5
done
