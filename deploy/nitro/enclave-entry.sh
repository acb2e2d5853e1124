#!/bin/bash
# The enclave's entry point (the image's CMD): brings up loopback, starts the speech engine's own server when it has
# one (whisper.cpp, on loopback), then `blindbox serve` attested by /dev/nsm on loopback, then socat from VSOCK to it.
# TLS ends inside `serve`: socat and everything outside the enclave carry ciphertext only. Any process ending ends
# them all, and the enclave with them (its console says why): a half-running server must not go on attesting.
#
# Settings (environment; the image sets production values):
#   BLINDBOX_APP            the installed server (default /app)
#   BLINDBOX_ENGINE         whisper-http (default) or pocketsphinx
#   BLINDBOX_WORKERS        pocketsphinx worker threads (default: serve's)
#   BLINDBOX_VSOCK_PORT     the VSOCK port the parent connects to (default 5000)
#   BLINDBOX_APP_PORT       serve's loopback port inside the enclave (default 8443)
#   BLINDBOX_WHISPER_SERVER, BLINDBOX_WHISPER_MODEL, BLINDBOX_WHISPER_PORT, BLINDBOX_WHISPER_THREADS
#                           whisper.cpp's server binary, model file (measured into PCR16), loopback port, threads
#   BLINDBOX_TEST_ONLY_LISTEN_INSTEAD_OF_VSOCK
#                           tests only: a socat listen address (TCP on loopback) in place of VSOCK-LISTEN, since
#                           tests must never open AF_VSOCK sockets
set -euo pipefail

APP=${BLINDBOX_APP:-/app}
ENGINE=${BLINDBOX_ENGINE:-whisper-http}
VSOCK_PORT=${BLINDBOX_VSOCK_PORT:-5000}
APP_PORT=${BLINDBOX_APP_PORT:-8443}
WHISPER_SERVER=${BLINDBOX_WHISPER_SERVER:-/usr/local/bin/whisper-server}
WHISPER_MODEL=${BLINDBOX_WHISPER_MODEL:-/models/ggml-base.en.bin}
WHISPER_PORT=${BLINDBOX_WHISPER_PORT:-8178}
WHISPER_THREADS=${BLINDBOX_WHISPER_THREADS:-$(nproc)}
LISTEN=${BLINDBOX_TEST_ONLY_LISTEN_INSTEAD_OF_VSOCK:-VSOCK-LISTEN:$VSOCK_PORT,fork,reuseaddr}
# Seconds each stage may take to come up (the Whisper model loads in seconds; PocketSphinx's in about one).
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

# A fresh enclave's loopback is down; whisper.cpp and serve talk over it.
if ! ip -o link show dev lo | grep -q '[<,]UP[,>]'; then
  ip link set dev lo up
fi

ENGINE_ARGS=(--engine "$ENGINE")
case "$ENGINE" in
  whisper-http)
    [ -r "$WHISPER_MODEL" ] || die "the Whisper model $WHISPER_MODEL is not in the image"
    # whisper-http speaks OpenAI's /v1/audio/transcriptions; whisper.cpp's server answers it there with --inference-path.
    "$WHISPER_SERVER" --host 127.0.0.1 --port "$WHISPER_PORT" --model "$WHISPER_MODEL" --threads "$WHISPER_THREADS" \
      --inference-path /v1/audio/transcriptions >&2 &
    PIDS+=("$!")
    # Up once it accepts a connection (bash's /dev/tcp: the image has no curl).
    wait_for "$!" whisper-server bash -c "exec 3<>/dev/tcp/127.0.0.1/$WHISPER_PORT"
    ENGINE_ARGS+=(--upstream "http://127.0.0.1:$WHISPER_PORT" --model-file "$WHISPER_MODEL")
    ;;
  pocketsphinx)
    if [ -n "${BLINDBOX_WORKERS:-}" ]; then ENGINE_ARGS+=(--workers "$BLINDBOX_WORKERS"); fi
    ;;
  *) die "BLINDBOX_ENGINE must be whisper-http or pocketsphinx, not $ENGINE" ;;
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
