#!/bin/bash
# Prints the PCR16 the enclave will hold: starts `blindbox serve --simulate` with the image's engine settings just long
# enough to read the PCR16 line it prints (the simulation measures the same model files and configuration), then
# stops it. Run inside the image by build.sh (docker run --network none); needs no NSM and no network.
set -euo pipefail

APP=${BLINDBOX_APP:-/app}
ENGINE=${BLINDBOX_ENGINE:-whisper-http}
WHISPER_MODEL=${BLINDBOX_WHISPER_MODEL:-/models/ggml-base.en.bin}
ARGS=(serve --simulate --port 0 --engine "$ENGINE")
# The upstream is never contacted at start-up; only the model file matters to PCR16.
if [ "$ENGINE" = whisper-http ]; then ARGS+=(--upstream http://127.0.0.1:9 --model-file "$WHISPER_MODEL"); else ARGS+=(--workers 1); fi

LOG=$(mktemp)
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
