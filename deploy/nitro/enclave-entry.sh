#!/bin/bash
# The enclave's entry point (the image's init command): brings up loopback, starts `blindbox serve` attested by
# /dev/nsm on loopback (with the whisper engine, serve runs and supervises whisper.cpp's servers itself), then socat
# from VSOCK to it.
# TLS ends inside `serve`: socat and everything outside the enclave carry ciphertext only. Any process ending ends
# them all, and the enclave with them (its console says why): a half-running server must not go on attesting.
#
# Settings (environment; the image sets production values):
#   BLINDBOX_APP            the installed server (default /app)
#   BLINDBOX_ENGINE         whisper (default) or pocketsphinx
#   BLINDBOX_WORKERS        pocketsphinx worker threads (default: serve's)
#   BLINDBOX_VSOCK_PORT     the VSOCK port the parent connects to (default 5000)
#   BLINDBOX_APP_PORT       serve's loopback port inside the enclave (default 8443)
#   BLINDBOX_WHISPER_MODEL  the Whisper model file (measured into PCR16; default /models/ggml-model.bin)
#   BLINDBOX_WHISPER_INSTANCES, BLINDBOX_WHISPER_THREADS
#                           whisper-server processes and threads each (default: serve's)
# $BLINDBOX_APP/deploy/nitro/enclave.env, when present (build-rootfs.sh writes it), sets the image's defaults for
# these; the environment wins.
#   BLINDBOX_TEST_ONLY_LISTEN_INSTEAD_OF_VSOCK
#                           tests only: a socat listen address (TCP on loopback, or a UNIX socket) in place of VSOCK-LISTEN, since
#                           tests must never open AF_VSOCK sockets
set -euo pipefail

APP=${BLINDBOX_APP:-/app}
# shellcheck disable=SC1091 # enclave-env.sh, beside this script, is checked on its own
. "$(dirname "$(readlink -f "$0")")/enclave-env.sh"
load_enclave_env "$APP"
ENGINE=${BLINDBOX_ENGINE:-whisper}
VSOCK_PORT=${BLINDBOX_VSOCK_PORT:-5000}
APP_PORT=${BLINDBOX_APP_PORT:-8443}
WHISPER_MODEL=${BLINDBOX_WHISPER_MODEL:-/models/ggml-model.bin}
LISTEN=${BLINDBOX_TEST_ONLY_LISTEN_INSTEAD_OF_VSOCK:-VSOCK-LISTEN:$VSOCK_PORT,fork,reuseaddr}
# Seconds serve may take to come up (it waits for its whisper-servers to load the model; PocketSphinx's takes about one).
START_TIMEOUT=${BLINDBOX_START_TIMEOUT:-120}

log() { echo "[entry] $*" >&2; }

PIDS=()
stop_all() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
die() {
  log "$*"
  stop_all
  exit 1
}
trap 'log "stopping"; stop_all; exit 0' TERM INT

# Waits until the command after $1 and $2 succeeds, while process $1 lives, for at most START_TIMEOUT seconds.
wait_for() {
  local pid=$1 what=$2 tries=$((START_TIMEOUT * 10))
  shift 2
  until "$@" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || die "$what exited while starting"
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || die "$what did not start within ${START_TIMEOUT} s"
    sleep 0.1
  done
}

# A fresh enclave's loopback is down; serve, its whisper-servers and socat talk over it.
if ! ip -o link show dev lo | grep -q '[<,]UP[,>]'; then
  ip link set dev lo up
fi

ENGINE_ARGS=(--engine "$ENGINE")
case "$ENGINE" in
  whisper)
    [ -r "$WHISPER_MODEL" ] || die "the Whisper model $WHISPER_MODEL is not in the image"
    ENGINE_ARGS+=(--model-file "$WHISPER_MODEL")
    if [ -n "${BLINDBOX_WHISPER_INSTANCES:-}" ]; then ENGINE_ARGS+=(--whisper-instances "$BLINDBOX_WHISPER_INSTANCES"); fi
    if [ -n "${BLINDBOX_WHISPER_THREADS:-}" ]; then ENGINE_ARGS+=(--whisper-threads "$BLINDBOX_WHISPER_THREADS"); fi
    ;;
  pocketsphinx)
    if [ -n "${BLINDBOX_WORKERS:-}" ]; then ENGINE_ARGS+=(--workers "$BLINDBOX_WORKERS"); fi
    ;;
  *) die "BLINDBOX_ENGINE must be whisper or pocketsphinx, not $ENGINE" ;;
esac

RUN=$(mktemp -d)
# serve prints exactly one line on stdout once it listens; its log goes to stderr (the enclave console).
# Every connection reaches serve from socat on loopback, so its per-source caps would cap the whole service: they are
# raised to the total here, and the parent enforces a per-client cap where client addresses are known (run.sh).
# Attestation stays bounded by the documents signed at once (serve's own cap, whatever the source).
node "$APP/out/src/cli/main.js" serve --port "$APP_PORT" --connections-per-source 512 --attestations-per-source 1000 "${ENGINE_ARGS[@]}" >"$RUN/serve.out" &
PIDS+=("$!")
wait_for "$!" "blindbox serve" grep -q '^listening ' "$RUN/serve.out"
log "$(cat "$RUN/serve.out")"

socat -d "$LISTEN" "TCP:127.0.0.1:$APP_PORT,nodelay" &
PIDS+=("$!")
log "forwarding ${LISTEN%%,*} to 127.0.0.1:$APP_PORT"

# Whichever ends first ends the rest.
set +e
wait -n "${PIDS[@]}"
status=$?
set -e
die "a process of the enclave ended (status $status)"
