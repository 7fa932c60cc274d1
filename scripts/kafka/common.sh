# shellcheck shell=bash disable=SC2034 # the variables are used by the scripts that source this
# Shared settings for scripts/kafka/*.sh; sourced, never run.
# Everything lives under .cache/kafka/ (git-ignored) in the repository root:
#   libs/  jars resolved from Maven Central by pom.xml (kept by kafka-down)
#   run/   config, TLS material, KRaft data, pid file and the env file tests read
#   logs/  broker, storage-tool and mvn output, kept for debugging
#
# KAFKA_INSTANCE=NAME selects another broker beside the default one, with its
# own state in .cache/kafka-NAME/ (run/, logs/, lock) and its own ports, so
# that tests which kill or freeze a broker (make test-chaos) never touch the
# broker other tests share. All instances use the jars of .cache/kafka/libs.
# Ports are KAFKA_PORT_BASE (PLAINTEXT), +1 (SASL_SSL) and +2 (CONTROLLER);
# the instance "chaos" defaults to 39192, any other name must set it.

# Work from the repository root whatever the caller's directory, so that
# every path below is relative to it and nothing names this machine.
KAFKA_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$KAFKA_SCRIPTS_DIR/../.." || exit 1
REPO_ROOT="$(pwd)"

log() { printf 'kafka%s: %s\n' "${KAFKA_INSTANCE:+ ($KAFKA_INSTANCE)}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

KAFKA_INSTANCE="${KAFKA_INSTANCE:-}"
[[ "$KAFKA_INSTANCE" == default ]] && KAFKA_INSTANCE=
if [[ -z "$KAFKA_INSTANCE" ]]; then
  CACHE_DIR=".cache/kafka"
  PORT_BASE=39092
else
  # The name becomes a directory name: nothing that could climb out of .cache.
  [[ "$KAFKA_INSTANCE" =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "KAFKA_INSTANCE=$KAFKA_INSTANCE: want lower-case letters, digits and '-'"
  CACHE_DIR=".cache/kafka-$KAFKA_INSTANCE"
  case "$KAFKA_INSTANCE" in
  chaos) PORT_BASE="${KAFKA_PORT_BASE:-39192}" ;;
  *) PORT_BASE="${KAFKA_PORT_BASE:?KAFKA_INSTANCE=$KAFKA_INSTANCE needs KAFKA_PORT_BASE (its PLAINTEXT port)}" ;;
  esac
fi
[[ "$PORT_BASE" =~ ^[0-9]+$ ]] && ((PORT_BASE > 1024 && PORT_BASE < 65533)) || die "KAFKA_PORT_BASE=$PORT_BASE: want a port number"
LIBS_DIR=".cache/kafka/libs"
RUN_DIR="$CACHE_DIR/run"
LOG_DIR="$CACHE_DIR/logs"
TLS_DIR="$RUN_DIR/tls"
DATA_DIR="$RUN_DIR/data"
PID_FILE="$RUN_DIR/kafka.pid"
ENV_FILE="$RUN_DIR/env"
SCRAM_PASSWORD_FILE="$RUN_DIR/scram-password"
BROKER_LOG="$LOG_DIR/broker.log"
LOCK_FILE="$CACHE_DIR/lock"

# Loopback only: this broker is for tests on this machine and nothing else.
HOST="127.0.0.1"
PLAINTEXT_PORT=$PORT_BASE
SASL_SSL_PORT=$((PORT_BASE + 1))
CONTROLLER_PORT=$((PORT_BASE + 2))

SCRAM_USER="auditstream"

# How long to wait, in seconds, before declaring failure. The broker starts
# in about 3 s on an idle 2-core machine, but took 50 s on one loaded with
# parallel builds; the bound is for a broker that will never start.
START_TIMEOUT="${KAFKA_START_TIMEOUT:-180}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

# port_open PORT: true when something accepts TCP connections on HOST:PORT.
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# The broker's config file, by absolute path: it is what tells this
# checkout's broker apart from any other java process on the machine.
# Resolved through symbolic links, so that a checkout whose cache folder is a
# link to another's (a second work tree) knows that checkout's broker.
BROKER_CONFIG="$(realpath -m "$REPO_ROOT/$RUN_DIR/server.properties")"

# is_broker PID: true when PID is this checkout's running broker, judged by
# its command line (arguments kafka.Kafka and BROKER_CONFIG), so a stale pid
# file whose number was reused by another process is never acted upon.
is_broker() {
  [[ "$1" =~ ^[0-9]+$ ]] &&
    grep -qszxF -- kafka.Kafka "/proc/$1/cmdline" &&
    grep -qszxF -- "$BROKER_CONFIG" "/proc/$1/cmdline"
}

# broker_pid: prints the pid of this checkout's running broker, from the pid
# file or else (pid file lost) by looking for its command line in /proc.
broker_pid() {
  local pid f
  if [[ -f "$PID_FILE" ]]; then
    pid="$(<"$PID_FILE")"
    if is_broker "$pid"; then
      echo "$pid"
      return 0
    fi
  fi
  while read -r f; do
    pid="${f#/proc/}"
    pid="${pid%/cmdline}"
    if is_broker "$pid"; then
      echo "$pid"
      return 0
    fi
  done < <(grep -lszxF -- "$BROKER_CONFIG" /proc/[0-9]*/cmdline)
  return 1
}

# Serialise kafka-up/kafka-down: several engineers (or parallel make jobs)
# may call them at once, and two brokers formatting one directory is a mess.
take_lock() {
  mkdir -p "$CACHE_DIR"
  exec 9>"$LOCK_FILE"
  if ! flock -w 120 9; then
    die "another kafka-up/kafka-down has held $LOCK_FILE for 2 minutes"
  fi
}
