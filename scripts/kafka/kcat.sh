#!/usr/bin/env bash
# kcat: an independent (librdkafka) Kafka client that tests and benchmarks use
# to check what our code wrote without trusting our own client code.
#   bash scripts/kafka/kcat.sh            install what is missing, print versions
#   bash scripts/kafka/kcat.sh ARGS...    the same, then run kcat ARGS...
#   bash scripts/kafka/kcat.sh --print-env   the same, then print how to run kcat directly
# Always run kcat through this script: it also supplies a librdkafka that can
# authenticate to Kafka 4.x with SCRAM (see below).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# librdkafka before 2.6.1 repeats the client nonce in SCRAM's client-final
# message (librdkafka PR #4895). Kafka 4.x checks the nonce strictly, so every
# SCRAM login of an older librdkafka fails with "invalid credentials", right
# password or not. Debian 12's kcat links librdkafka 2.0.2. We keep Debian's
# kcat and, when its librdkafka is too old, load a newer one in its place:
# the self-contained librdkafka.so that PyPI's confluent-kafka wheel ships
# (librdkafka keeps its ABI, so kcat runs unchanged on it).
MIN_LIBRDKAFKA=2.6.1
CONFLUENT_KAFKA_VERSION=2.16.1 # ships librdkafka 2.16.0
LIBRDKAFKA_DIR="$REPO_ROOT/.cache/kafka/librdkafka-$CONFLUENT_KAFKA_VERSION"

say() { printf 'kcat.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# Installing needs root; CI and the dev machines run as root, elsewhere fall
# back to sudo.
as_root() {
  if [[ "$(id -u)" == 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "need root or sudo to run: $*"
  fi
}

apt_updated=
apt_install() {
  # One update first: on a fresh machine the package lists are empty.
  if [[ -z "$apt_updated" ]]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v kcat >/dev/null; then
  say "installing kcat (Debian package kcat)"
  apt_install kcat
fi

# kcat -V names the librdkafka it runs on: "... librdkafka 2.0.2 builtin...".
librdkafka_version() { kcat -V | sed -n 's/.*librdkafka \([0-9][0-9.]*\).*/\1/p'; }
version_at_least() { printf '%s\n%s\n' "$2" "$1" | sort -V -C; }

if ! version_at_least "$(librdkafka_version)" "$MIN_LIBRDKAFKA"; then
  if [[ ! -e "$LIBRDKAFKA_DIR/librdkafka.so.1" ]]; then
    say "kcat's librdkafka $(librdkafka_version) cannot do SCRAM with Kafka 4.x; fetching librdkafka from confluent-kafka $CONFLUENT_KAFKA_VERSION (PyPI, once)"
    if ! python3 -m pip --version >/dev/null 2>&1; then
      apt_install python3-pip
    fi
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    # A fixed platform and Python version: we want the wheel's librdkafka, not
    # a module for this machine's Python, and the same file on every machine.
    python3 -m pip download -q --no-deps --only-binary=:all: \
      --platform "manylinux_2_28_$(uname -m)" --python-version 3.11 --implementation cp \
      -d "$tmp/wheel" "confluent-kafka==$CONFLUENT_KAFKA_VERSION" ||
      die "pip could not download confluent-kafka $CONFLUENT_KAFKA_VERSION"
    mkdir -p "$tmp/lib"
    python3 - "$tmp/wheel"/*.whl "$tmp/lib/librdkafka.so.1" <<'PY'
import shutil, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist()
             if n.startswith("confluent_kafka.libs/librdkafka") and ".so" in n]
    if len(names) != 1:
        sys.exit("no single librdkafka in %s: %s" % (wheel, names))
    with z.open(names[0]) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
    # Swap in whole, so a half-written library is never picked up.
    mkdir -p "$(dirname "$LIBRDKAFKA_DIR")"
    rm -rf "$LIBRDKAFKA_DIR"
    mv "$tmp/lib" "$LIBRDKAFKA_DIR"
    rm -rf "$tmp"
    trap - EXIT
  fi
  export LD_LIBRARY_PATH="$LIBRDKAFKA_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  version_at_least "$(librdkafka_version)" "$MIN_LIBRDKAFKA" ||
    die "kcat still runs on librdkafka $(librdkafka_version) with $LIBRDKAFKA_DIR"
fi

# --print-env prints the kcat this script runs and its LD_LIBRARY_PATH
# (KCAT=..., LD_LIBRARY_PATH=...), for benchmarks that time kcat's whole
# process and so must start it without this script's checks in between.
if [[ "${1:-}" == "--print-env" ]]; then
  printf 'KCAT=%s\nLD_LIBRARY_PATH=%s\n' "$(command -v kcat)" "${LD_LIBRARY_PATH:-}"
  exit 0
fi

if (($# > 0)); then
  exec kcat "$@"
fi
kcat -V | sed -n '/^Version/p'
