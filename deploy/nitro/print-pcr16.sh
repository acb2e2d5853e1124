#!/bin/bash
# Prints the PCR16 the enclave will hold: starts `blindbox serve --simulate` with the image's engine settings just long
# enough to read the PCR16 line it prints (the simulation measures the same model files and configuration), then
# stops it. Run inside the root filesystem by build-rootfs.sh (chroot); needs no NSM and no network. It reads the
# same settings as enclave-entry.sh (the environment, else $BLINDBOX_APP/deploy/nitro/enclave.env).
set -euo pipefail

APP=${BLINDBOX_APP:-/app}
# shellcheck disable=SC1091 # enclave-env.sh, beside this script, is checked on its own
. "$(dirname "$(readlink -f "$0")")/enclave-env.sh"
load_enclave_env "$APP"
ENGINE=${BLINDBOX_ENGINE:-whisper}
WHISPER_MODEL=${BLINDBOX_WHISPER_MODEL:-/models/ggml-model.bin}
ARGS=(serve --simulate --port 0 --engine "$ENGINE")
# PCR16 depends on the engine and its model file only, not on how many children or threads run it.
if [ "$ENGINE" = whisper ]; then ARGS+=(--model-file "$WHISPER_MODEL" --whisper-instances 1 --whisper-threads 1); else ARGS+=(--workers 1); fi

LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
node "$APP/out/src/cli/main.js" "${ARGS[@]}" >/dev/null 2>"$LOG" &
PID=$!
for _ in $(seq 1200); do
  if grep -q '^\[enclave\] PCR16 ' "$LOG"; then break; fi
  kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
  sleep 0.1
done
kill -TERM "$PID" 2>/dev/null || true
wait "$PID" || true
grep -m1 '^\[enclave\] PCR16 ' "$LOG" | cut -d' ' -f3
