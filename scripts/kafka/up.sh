#!/usr/bin/env bash
# Start a single-node Apache Kafka broker (KRaft, combined broker+controller)
# on loopback for tests: `make kafka-up`. Idempotent: if this checkout's broker
# is already running it only waits for it to be ready.
#
# Listeners (127.0.0.1 only):
#   39092  PLAINTEXT
#   39093  SASL_SSL, SCRAM-SHA-512, server certificate signed by a local CA
#   39094  CONTROLLER (KRaft quorum, not for clients)
# The facts tests need are written to .cache/kafka/run/env once it is ready.
#
# KAFKA_INSTANCE=NAME starts another broker instead (see common.sh), and
# KAFKA_KEEP_DATA=1 restarts a broker on the storage, topics and SCRAM
# password its last start left, as after a crash (the chaos tests kill it
# with SIGKILL and check that nothing it acknowledged is gone).
set -euo pipefail
# shellcheck source=scripts/kafka/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

POM="scripts/kafka/pom.xml"
LOG4J_CONFIG="scripts/kafka/log4j2.properties"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")"
[[ -n "$KAFKA_VERSION" ]] || die "no <kafka.version> in $POM"

# Small heap: the machine has 2 cores and the tests move little data.
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"

# ---------------------------------------------------------------------------
# Java: the broker of Kafka 4.x needs Java 17 or newer.
java_bin() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    echo "$JAVA_HOME/bin/java"
  else
    command -v java || die "java not found: install a Java 17 JDK (Debian: openjdk-17-jdk-headless)"
  fi
}
JAVA="$(java_bin)"
java_major="$("$JAVA" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\)\.\{0,1\}\([0-9]*\).*/\1 \2/p')"
read -r jmaj jmin <<<"$java_major"
[[ "$jmaj" == 1 ]] && jmaj="$jmin" # "1.8.0" style versions
(( jmaj >= 17 )) || die "$JAVA is Java $jmaj; the Kafka $KAFKA_VERSION broker needs Java 17+"

# ---------------------------------------------------------------------------
# wait_ready PID: until the broker logs that it started and both client
# listeners accept connections. Fails (and stops the broker) with the log
# tail if it exits or the deadline passes.
wait_ready() {
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if ! broker_pid >/dev/null; then
      log "the broker exited while starting; last lines of $BROKER_LOG:"
      tail -n 40 "$BROKER_LOG" >&2 || true
      rm -f "$PID_FILE"
      die "Kafka did not start (full log: $BROKER_LOG)"
    fi
    if grep -q 'Kafka Server started' "$BROKER_LOG" 2>/dev/null &&
      port_open "$PLAINTEXT_PORT" && port_open "$SASL_SSL_PORT"; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      log "not ready after ${START_TIMEOUT}s; last lines of $BROKER_LOG:"
      tail -n 40 "$BROKER_LOG" >&2 || true
      # A half-started broker would hold the ports and make the next try fail.
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$PID_FILE"
      die "Kafka did not become ready in ${START_TIMEOUT}s (full log: $BROKER_LOG)"
    fi
    sleep 0.5
  done
}

take_lock
mkdir -p "$RUN_DIR" "$LOG_DIR"

if pid="$(broker_pid)"; then
  wait_ready "$pid"
  [[ -f "$ENV_FILE" ]] || die "broker $pid runs but $ENV_FILE is missing: run make kafka-down, then make kafka-up"
  log "already running (pid $pid); connection facts in $ENV_FILE"
  exit 0
fi

# Something else on our ports (another checkout's broker, say) would make the
# broker fail with a bind error deep in its log; say it plainly instead.
for port in "$PLAINTEXT_PORT" "$SASL_SSL_PORT" "$CONTROLLER_PORT"; do
  if port_open "$port"; then
    die "$HOST:$port is already in use by another process (see: ss -ltnp 'sport = :$port')"
  fi
done

# ---------------------------------------------------------------------------
# Jars: resolved once from Maven Central, then reused. The stamp holds the
# POM's checksum, so editing pom.xml (a version bump) resolves them again.
pom_sum="$(sha256sum "$POM" | cut -d' ' -f1)"
if [[ "$(cat "$LIBS_DIR/.pom.sha256" 2>/dev/null)" != "$pom_sum" ]]; then
  command -v mvn >/dev/null || die "mvn not found: install Maven (Debian: maven)"
  log "resolving Kafka $KAFKA_VERSION jars from Maven Central (once; cached in $LIBS_DIR)"
  # Copy into a scratch folder and swap it in whole, so an interrupted
  # download never leaves a half-filled libs/ that looks complete.
  rm -rf "$LIBS_DIR.tmp"
  if ! mvn -B -q -f "$POM" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$REPO_ROOT/$LIBS_DIR.tmp" \
    >"$LOG_DIR/mvn.log" 2>&1; then
    tail -n 30 "$LOG_DIR/mvn.log" >&2
    die "mvn could not resolve the Kafka jars (full log: $LOG_DIR/mvn.log)"
  fi
  echo "$pom_sum" >"$LIBS_DIR.tmp/.pom.sha256"
  rm -rf "$LIBS_DIR"
  mv "$LIBS_DIR.tmp" "$LIBS_DIR"
fi
CLASSPATH_GLOB="$LIBS_DIR/*"

# ---------------------------------------------------------------------------
# TLS for the SASL_SSL listener: a self-signed CA and a server certificate for
# 127.0.0.1/localhost, kept across restarts (tests may have the CA's path) and
# made again only when missing or within a day of expiry.
make_tls() {
  local pass
  rm -rf "$TLS_DIR"
  mkdir -p "$TLS_DIR"
  pass="$(openssl rand -hex 16)"
  echo "$pass" >"$TLS_DIR/store-password"
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 825 \
    -subj "/CN=auditstream dev Kafka CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.pem" 2>/dev/null
  openssl req -new -newkey rsa:2048 -nodes -sha256 \
    -subj "/CN=localhost" \
    -keyout "$TLS_DIR/server.key" -out "$TLS_DIR/server.csr" 2>/dev/null
  # Clients connect to 127.0.0.1 (or localhost) and check the name against
  # the SAN, so both must be there.
  cat >"$TLS_DIR/server.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
EXT
  openssl x509 -req -sha256 -days 825 -in "$TLS_DIR/server.csr" \
    -CA "$TLS_DIR/ca.pem" -CAkey "$TLS_DIR/ca.key" -CAcreateserial \
    -extfile "$TLS_DIR/server.ext" -out "$TLS_DIR/server.pem" 2>/dev/null
  openssl pkcs12 -export -name kafka \
    -in "$TLS_DIR/server.pem" -inkey "$TLS_DIR/server.key" -certfile "$TLS_DIR/ca.pem" \
    -out "$TLS_DIR/keystore.p12" -passout "pass:$pass"
  # keytool, not openssl, for the truststore: Java only trusts a PKCS12
  # certificate entry that carries its own trusted-cert attribute, which the
  # openssl of Debian 12 cannot write.
  keytool -importcert -noprompt -alias ca -file "$TLS_DIR/ca.pem" \
    -keystore "$TLS_DIR/truststore.p12" -storetype PKCS12 -storepass "$pass" >/dev/null 2>&1
  rm -f "$TLS_DIR/server.csr" "$TLS_DIR/server.ext" "$TLS_DIR/ca.srl"
}
if ! [[ -s "$TLS_DIR/keystore.p12" && -s "$TLS_DIR/truststore.p12" && -s "$TLS_DIR/store-password" ]] ||
  ! openssl x509 -checkend 86400 -noout -in "$TLS_DIR/server.pem" >/dev/null 2>&1; then
  command -v openssl >/dev/null || die "openssl not found (Debian: openssl)"
  command -v keytool >/dev/null || die "keytool not found: it comes with the Java 17 JDK"
  log "making a local CA and server certificate in $TLS_DIR"
  make_tls
fi
STORE_PASSWORD="$(<"$TLS_DIR/store-password")"

# ---------------------------------------------------------------------------
# Broker configuration. Every start is from empty storage, so tests never see
# topics, offsets or a SCRAM password left over from an earlier run; unless
# KAFKA_KEEP_DATA=1 asks for a restart on formatted storage.
keep_data=
if [[ "${KAFKA_KEEP_DATA:-}" == 1 && -f "$DATA_DIR/meta.properties" && -s "$SCRAM_PASSWORD_FILE" ]]; then
  keep_data=1
else
  rm -rf "$DATA_DIR"
  mkdir -p "$DATA_DIR"
fi
abs() { echo "$REPO_ROOT/$1"; }

cat >"$RUN_DIR/server.properties" <<PROPS
# Written by scripts/kafka/up.sh at every start; edit that script instead.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://$HOST:$PLAINTEXT_PORT,SASL_SSL://$HOST:$SASL_SSL_PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PLAINTEXT_PORT,SASL_SSL://$HOST:$SASL_SSL_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$(abs "$DATA_DIR")

# SASL_SSL: SCRAM-SHA-512 only; the user is created by the storage tool.
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$(abs "$TLS_DIR/keystore.p12")
ssl.keystore.password=$STORE_PASSWORD
ssl.key.password=$STORE_PASSWORD
ssl.truststore.type=PKCS12
ssl.truststore.location=$(abs "$TLS_DIR/truststore.p12")
ssl.truststore.password=$STORE_PASSWORD
ssl.client.auth=none

# One node: one replica of everything, or internal topics never get created.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Test-friendly: topics appear on first use, and a consumer group forms at
# once instead of after the default 3 s rebalance delay.
num.partitions=3
auto.create.topics.enable=true
delete.topic.enable=true
group.initial.rebalance.delay.ms=0

# Sized for a 2-core machine.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
log.cleaner.threads=1
log.retention.hours=4
log.segment.bytes=67108864
PROPS

# Format the storage with Kafka's own tool (what kafka-storage.sh runs), and
# create the SCRAM user in the same step: with KRaft, credentials live in the
# metadata log, so this is how the broker knows them from its first second.
if [[ -n "$keep_data" ]]; then
  # The credentials live in the kept metadata log: the password is the one
  # that storage was formatted with.
  SCRAM_PASSWORD="$(<"$SCRAM_PASSWORD_FILE")"
  log "restarting on the kept storage in $DATA_DIR"
else
  SCRAM_PASSWORD="$(openssl rand -hex 16)"
  cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  cluster_id="A${cluster_id:1}" # an id starting with '-' would read as an option
  log "formatting $DATA_DIR (Kafka $KAFKA_VERSION, cluster $cluster_id)"
  if ! "$JAVA" -Xmx256m -cp "$CLASSPATH_GLOB" -Dlog4j2.configurationFile="$LOG4J_CONFIG" \
    kafka.tools.StorageTool format \
    --cluster-id "$cluster_id" --config "$RUN_DIR/server.properties" \
    --add-scram "SCRAM-SHA-512=[name=$SCRAM_USER,password=$SCRAM_PASSWORD]" \
    >"$LOG_DIR/format.log" 2>&1; then
    tail -n 30 "$LOG_DIR/format.log" >&2
    die "the storage tool failed (full log: $LOG_DIR/format.log)"
  fi
  (umask 077 && echo "$SCRAM_PASSWORD" >"$SCRAM_PASSWORD_FILE")
fi

# ---------------------------------------------------------------------------
# Start. setsid + nohup detach the broker from make and this shell, so it
# outlives them and a Ctrl-C in the terminal does not take it down; 9>&-
# keeps it from inheriting the lock, which it would otherwise hold for its
# whole life. The previous broker log is kept once, for comparing two runs.
[[ -f "$BROKER_LOG" ]] && mv -f "$BROKER_LOG" "$BROKER_LOG.1"
log "starting the broker (log: $BROKER_LOG)"
# shellcheck disable=SC2086 # HEAP_OPTS is a list of JVM flags.
setsid nohup "$JAVA" $HEAP_OPTS \
  -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
  -Djava.awt.headless=true \
  -Dlog4j2.configurationFile="$LOG4J_CONFIG" \
  -cp "$CLASSPATH_GLOB" \
  kafka.Kafka "$BROKER_CONFIG" \
  >"$BROKER_LOG" 2>&1 </dev/null 9>&- &
echo $! >"$PID_FILE"
# Record the java process itself (setsid may have forked), found by its
# command line, so kafka-down signals the broker and not a wrapper.
for _ in 1 2 3 4 5 6 7 8 9 10; do
  pid="$(broker_pid)" && break
  sleep 0.2
done
[[ -n "${pid:-}" ]] && echo "$pid" >"$PID_FILE"
wait_ready "$(<"$PID_FILE")"

# The connection facts, written only once the broker is ready so that a
# present env file means a broker that came up. Plain KEY=value lines: both
# `source` and internal/kafkatest read them.
cat >"$ENV_FILE.tmp" <<ENV
# Written by scripts/kafka/up.sh: Kafka $KAFKA_VERSION on loopback.
AUDITSTREAM_KAFKA_BROKERS=$HOST:$PLAINTEXT_PORT
AUDITSTREAM_KAFKA_SASL_BROKERS=$HOST:$SASL_SSL_PORT
AUDITSTREAM_KAFKA_CA=$(abs "$TLS_DIR/ca.pem")
AUDITSTREAM_KAFKA_SCRAM_USER=$SCRAM_USER
AUDITSTREAM_KAFKA_SCRAM_PASSWORD=$SCRAM_PASSWORD
AUDITSTREAM_KAFKA_SCRAM_MECHANISM=SCRAM-SHA-512
AUDITSTREAM_KAFKA_VERSION=$KAFKA_VERSION
ENV
mv -f "$ENV_FILE.tmp" "$ENV_FILE"
log "ready (pid $(<"$PID_FILE")): PLAINTEXT $HOST:$PLAINTEXT_PORT, SASL_SSL $HOST:$SASL_SSL_PORT; facts in $ENV_FILE"
