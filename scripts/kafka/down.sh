#!/usr/bin/env bash
# Stop the broker started by scripts/kafka/up.sh: `make kafka-down`.
# Waits (bounded) for it to exit. Keeps the jars in .cache/kafka/libs so the
# next kafka-up starts without Maven, and keeps the logs for reading.
set -euo pipefail
# shellcheck source=scripts/kafka/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

take_lock

if ! pid="$(broker_pid)"; then
  rm -f "$PID_FILE" "$ENV_FILE"
  log "not running"
  exit 0
fi

# The env file goes first: tests starting now should skip, not connect to a
# broker that is going away.
rm -f "$ENV_FILE"

# SIGTERM lets the broker shut down cleanly (it flushes and closes its logs);
# a single node has nobody to hand leadership to, so this takes seconds.
log "stopping the broker (pid $pid)"
kill -TERM "$pid" 2>/dev/null || true
deadline=$((SECONDS + STOP_TIMEOUT))
while broker_pid >/dev/null && ((SECONDS < deadline)); do
  sleep 0.5
done

if broker_pid >/dev/null; then
  log "still running after ${STOP_TIMEOUT}s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 10))
  while broker_pid >/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  broker_pid >/dev/null && die "pid $pid survived SIGKILL"
fi

rm -f "$PID_FILE"
log "stopped (logs kept in $LOG_DIR, jars in $LIBS_DIR)"
