#!/bin/bash
# Builds the enclave image: the Docker image (Dockerfile beside this script, the repository as its context), then
# the EIF with nitro-cli, then prints PCR0/1/2 and writes them, with PCR16 (the engine's model, measured as the
# running server will measure it), as a ready client policy. Run on the parent instance (or any host with Docker and
# nitro-cli); see README "Deploy in a real Nitro enclave".
#
#   deploy/nitro/build.sh [--engine whisper|pocketsphinx] [--whisper-model <ggml .bin>] [--out <dir>]
#
# Inputs are pinned: the base image by digest (base-image.lock, written by pin-base.sh), whisper.cpp's source by
# package-lock.json's integrity (the npm package nodejs-whisper), Debian packages by APT_SNAPSHOT, the model by SHA-256 and all of it recorded in
# <out>/inputs.txt with nitro-cli's version and its blobs' hashes (nitro-cli-inputs.sh), npm packages by package-lock.json. SOURCE_DATE_EPOCH is the last commit's time. Rebuilding from the same inputs gives the same PCR0/1/2; the EIF file's own hash differs, because
# nitro-cli stamps a build time in a section the PCRs do not cover: compare PCRs, never EIF hashes.
set -euo pipefail

HERE=$(dirname "$(readlink -f "$0")")
REPO=$(readlink -f "$HERE/../..")
ENGINE=whisper
WHISPER_MODEL=
OUT=$HERE/out
# A dated snapshot of the Debian archive (see apt-snapshot.sh); empty: today's packages, not reproducible.
APT_SNAPSHOT=${APT_SNAPSHOT:-}
TAG=blindbox-enclave:latest

while [ $# -gt 0 ]; do
  case "$1" in
    --engine) ENGINE=$2; shift 2 ;;
    --whisper-model) WHISPER_MODEL=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$ENGINE" in whisper | pocketsphinx) ;; *) echo "build.sh: --engine must be whisper or pocketsphinx" >&2; exit 2 ;; esac

for tool in docker nitro-cli jq git sha256sum; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool is not installed (see README)" >&2; exit 1; }
done
BASE=$(grep -v '^#' "$HERE/base-image.lock" 2>/dev/null | head -n1 || true)
[[ "$BASE" =~ @sha256:[0-9a-f]{64}$ ]] || { echo "build.sh: $HERE/base-image.lock must name the base image by digest: run deploy/nitro/pin-base.sh" >&2; exit 1; }

mkdir -p "$OUT"
MODEL_DIR="$OUT/models"
rm -rf "$MODEL_DIR"
mkdir -p "$MODEL_DIR"
if [ "$ENGINE" = whisper ]; then
  [ -f "$WHISPER_MODEL" ] || { echo "build.sh: --whisper-model <ggml model file> is needed for the whisper engine" >&2; exit 2; }
  # A hard link or copy inside the build context: the model becomes part of the image, hence of PCR2 and PCR16.
  cp "$WHISPER_MODEL" "$MODEL_DIR/ggml-model.bin"
fi

SOURCE_DATE_EPOCH=$(git -C "$REPO" log -1 --format=%ct)
export SOURCE_DATE_EPOCH
{
  echo "commit $(git -C "$REPO" rev-parse HEAD)$(git -C "$REPO" diff --quiet HEAD || echo ' (with uncommitted changes: not reproducible)')"
  echo "base $BASE"
  echo "whisper.cpp $(jq -r '.packages["node_modules/nodejs-whisper"] | "nodejs-whisper \(.version) \(.integrity)"' "$REPO/package-lock.json")"
  echo "apt snapshot ${APT_SNAPSHOT:-none (not reproducible)}"
  echo "engine $ENGINE"
  if [ "$ENGINE" = whisper ]; then echo "model sha256 $(sha256sum "$MODEL_DIR/ggml-model.bin" | cut -d' ' -f1)"; fi
  echo "SOURCE_DATE_EPOCH $SOURCE_DATE_EPOCH"
  bash "$HERE/nitro-cli-inputs.sh"
} >"$OUT/inputs.txt"
cat "$OUT/inputs.txt"

# The model directory is a named build context, so the repository's context holds no model copy. Layer file times
# are rewritten to SOURCE_DATE_EPOCH (BuildKit), so that they do not differ between two builds of the same inputs.
docker buildx build \
  --file "$HERE/Dockerfile" \
  --build-arg "BASE_IMAGE=$BASE" \
  --build-arg "APT_SNAPSHOT=$APT_SNAPSHOT" \
  --build-arg "ENGINE=$ENGINE" \
  --build-arg "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH" \
  --build-context "models=$MODEL_DIR" \
  --output "type=docker,name=$TAG,rewrite-timestamp=true" \
  "$REPO"

nitro-cli build-enclave --docker-uri "$TAG" --output-file "$OUT/blindbox.eif" >"$OUT/build-enclave.json"
PCR0=$(jq -r '.Measurements.PCR0' "$OUT/build-enclave.json")
PCR1=$(jq -r '.Measurements.PCR1' "$OUT/build-enclave.json")
PCR2=$(jq -r '.Measurements.PCR2' "$OUT/build-enclave.json")

# PCR16 as the enclave will extend it: the simulation measures the same files and configuration the same way.
PCR16=$(docker run --rm --network none --entrypoint /app/deploy/nitro/print-pcr16.sh "$TAG")
[[ "$PCR16" =~ ^[0-9a-f]{96}$ ]] || { echo "build.sh: could not compute PCR16 (got: $PCR16)" >&2; exit 1; }

echo "PCR0  $PCR0"
echo "PCR1  $PCR1"
echo "PCR2  $PCR2"
echo "PCR16 $PCR16"
jq -n --arg p0 "$PCR0" --arg p1 "$PCR1" --arg p2 "$PCR2" --arg p16 "$PCR16" \
  '{name: "production", pcrs: {"0": $p0, "1": $p1, "2": $p2, "16": $p16}, maxAgeSeconds: 600}' >"$OUT/policy.json"
echo "build.sh: wrote $OUT/blindbox.eif and the client policy $OUT/policy.json"
