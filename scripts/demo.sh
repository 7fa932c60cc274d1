#!/usr/bin/env bash
# make demo: the README's main job on a fresh machine. It ships the bundled
# example audit log (examples/audit.log) through the path a Fluent Bit
# deployment uses, then reads the topics back and prints what arrived per
# topic, level and rule beside what `auditstream simulate` predicted.
#
#   - FLUENT_BIT_BIN unset: the plugin .so is driven by the project's own
#     loader (plugin/harness), exactly as Fluent Bit's Go proxy drives it.
#   - FLUENT_BIT_BIN set: the real Fluent Bit tails the log with the plugin.
#
# It starts the local Kafka broker if it is not running, and stops it again
# at the end in that case: everything it starts, it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/kafka/common.sh

LOG=examples/audit.log
POLICY=examples/policy.yaml
WORK="$(mktemp -d)"
started_kafka=0
cleanup() {
  rm -rf "$WORK"
  if [ "$started_kafka" = 1 ]; then bash scripts/kafka/down.sh; fi
}
trap cleanup EXIT

if [ -z "$(broker_pid)" ]; then
  started_kafka=1
fi
bash scripts/kafka/up.sh
# shellcheck disable=SC1090,SC1091
source "$RUN_DIR/env"
BROKERS="$AUDITSTREAM_KAFKA_BROKERS"
# A topic set of its own, so that the read-back sees this run's events only.
TOPIC="demo-$(date +%s)-$$.{stage}"
CLI=build/auditstream
KEYS=(policy_file="$POLICY" brokers="$BROKERS" topic="$TOPIC" auto_create_topics=on cluster_name=demo summary_interval=0)

echo
echo "== What the policy will keep (auditstream simulate)"
"$CLI" simulate --policy "$POLICY" --topic "$TOPIC" "$LOG" 2>/dev/null | sed -n '1,3p;/^TOPIC/,/^$/p'

if [ -n "${FLUENT_BIT_BIN:-}" ]; then
  echo "== Shipping $LOG with Fluent Bit ($("$FLUENT_BIT_BIN" --version | head -n 1))"
  mkdir -p "$WORK/storage"
  cp "$LOG" "$WORK/audit.log"
  {
    echo "service:"
    echo "  flush: 1"
    echo "  grace: 5"
    echo "  storage.path: $WORK/storage"
    echo "plugins:"
    echo "  - $PWD/build/out_auditstream.so"
    echo "pipeline:"
    echo "  inputs:"
    echo "    - name: tail"
    echo "      path: $WORK/audit.log"
    echo "      read_from_head: true"
    echo "      db: $WORK/tail.db"
    echo "      buffer_chunk_size: 1M"
    echo "      buffer_max_size: 16M"
    echo "      storage.type: filesystem"
    echo "  outputs:"
    echo "    - name: auditstream"
    echo "      match: '*'"
    echo "      retry_limit: no_limits"
    for kv in "${KEYS[@]}"; do echo "      ${kv%%=*}: '${kv#*=}'"; done
  } > "$WORK/fluent-bit.yaml"
  "$FLUENT_BIT_BIN" -c "$WORK/fluent-bit.yaml" > "$WORK/fluent-bit.log" 2>&1 &
  fb=$!
  # The tail input reads the whole file within a few seconds; the plugin
  # acknowledges each chunk before Fluent Bit moves on.
  for _ in $(seq 1 60); do
    sleep 1
    "$CLI" verify --policy "$POLICY" --brokers "$BROKERS" --topic "$TOPIC" "$LOG" > /dev/null 2>&1 && break
  done
  kill -TERM "$fb"
  wait "$fb" || true
  grep -E '\[output:auditstream' "$WORK/fluent-bit.log" | tail -n 3 || true
else
  echo "== Shipping $LOG through build/out_auditstream.so, driven as Fluent Bit's Go proxy drives it"
  # Four chunks of 250 events each, as the tail input would hand them over.
  split -l 250 -d "$LOG" "$WORK/part-"
  {
    echo "load build/out_auditstream.so"
    echo "register v511"
    echo "init demo ${KEYS[*]}"
    for part in "$WORK"/part-*; do
      echo "chunk c v2 fix raw $part $(wc -l < "$part")"
      echo "flush demo c"
    done
    echo "exit demo"
    echo "unregister"
  } > "$WORK/script"
  build/flbharness < "$WORK/script" 2> "$WORK/plugin.log" | grep '^flush'
  grep -E 'summary|sink closed' "$WORK/plugin.log" | sed 's/^/  /' || true
fi

echo
echo "== What arrived in Kafka, beside the prediction (auditstream verify)"
"$CLI" verify --policy "$POLICY" --brokers "$BROKERS" --topic "$TOPIC" "$LOG"
