#!/bin/bash
# Builds the enclave image file (EIF) from the reproducible root filesystem: build-rootfs.sh's rootfs.tar, imported
# into Docker as the image's one layer under a tag naming the tar's SHA-256, with the command and environment the
# enclave's init runs (enclave-init.sh), then `nitro-cli build-enclave`. Prints PCR0/1/2 (nitro-cli's) and PCR16
# (build-rootfs.sh's), and writes beside the EIF inputs.txt (the rootfs's inputs, nitro-cli's version and blobs, the
# imported image, the PCRs) and the client policy. Run on the parent instance (or any host with Docker and
# nitro-cli); see README "Deploy in a real Nitro enclave".
#
#   deploy/nitro/build.sh [--out DIR] [--whisper-model FILE]   builds the rootfs first, into DIR/rootfs (as root)
#   deploy/nitro/build.sh [--out DIR] --rootfs ROOTFS_DIR       takes one built before: ROOTFS_DIR/rootfs.tar, with the
#                                                               inputs.txt and pcr16 build-rootfs.sh wrote beside it
#
# DIR (default deploy/nitro/out) gets blindbox.eif, inputs.txt and policy.json only once the EIF is built: a failed
# build leaves none of them (a previous build's are removed when this one starts). The EIF file's own hash differs
# between builds of the same rootfs (nitro-cli stamps the build time, and the image's `docker inspect`, into its
# metadata, which no PCR covers): compare PCRs, never EIF hashes.
set -euo pipefail

HERE=$(dirname "$(readlink -f "$0")")
OUT=$HERE/out
ROOTFS=
WHISPER_MODEL=

fail() { echo "build.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --rootfs) ROOTFS=$2; shift 2 ;;
    --whisper-model) WHISPER_MODEL=$2; shift 2 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -n "$ROOTFS" ] && [ -n "$WHISPER_MODEL" ]; then
  echo "build.sh: --whisper-model goes to the rootfs build: give it without --rootfs, or to build-rootfs.sh" >&2
  exit 2
fi
for tool in docker nitro-cli jq sha256sum; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (see README)"
done
# shellcheck disable=SC1091 # enclave-init.sh, beside this script, is checked on its own
. "$HERE/enclave-init.sh"

mkdir -p "$OUT"
OUT=$(readlink -f "$OUT")
rm -f "$OUT/blindbox.eif" "$OUT/inputs.txt" "$OUT/policy.json"

if [ -z "$ROOTFS" ]; then
  ROOTFS=$OUT/rootfs
  # Its own lines (the tar's SHA-256 and PCR16) to stderr: this script's output is the EIF's PCRs.
  status=0
  bash "$HERE/build-rootfs.sh" "$ROOTFS" ${WHISPER_MODEL:+--whisper-model "$WHISPER_MODEL"} >&2 || status=$?
  [ "$status" = 0 ] || fail "build-rootfs.sh failed (exit $status, its reason above): no EIF built"
fi
TAR=$ROOTFS/rootfs.tar
[ -f "$TAR" ] || fail "no rootfs at $TAR: run build-rootfs.sh first, or build.sh without --rootfs"
SHA=$(sha256sum "$TAR" | cut -d' ' -f1)
PCR16=$(cat "$ROOTFS/pcr16" 2>/dev/null || true)
[[ "$PCR16" =~ ^[0-9a-f]{96}$ ]] || fail "no PCR16 in $ROOTFS/pcr16 (build-rootfs.sh writes it beside the tar)"
# The recorded inputs must be this tar's, else the EIF would be published with another build's.
if ! grep -qx "rootfs.tar sha256 $SHA" "$ROOTFS/inputs.txt" 2>/dev/null || ! grep -qx "PCR16 $PCR16" "$ROOTFS/inputs.txt"; then
  fail "$ROOTFS/inputs.txt does not describe this rootfs.tar (sha256 $SHA) and its PCR16: rebuild with build-rootfs.sh"
fi

STAGE=$(mktemp -d "$OUT/.build.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT

# The image is the tar as its single layer (its diff ID is the tar's SHA-256, checked below): nothing of Docker's
# own gets in. Its ID differs on every import, as Docker stamps the import time into the image's config; neither the
# ID nor that time reaches a PCR.
TAG=blindbox-enclave:sha256-$SHA
status=0
IMAGE_ID=$(docker import --change "CMD [\"$ENCLAVE_COMMAND\"]" --change "ENV PATH=$ENCLAVE_PATH" "$TAR" "$TAG") || status=$?
[ "$status" = 0 ] || fail "docker import of $TAR failed (exit $status): no EIF built"
[[ "$IMAGE_ID" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "docker import gave no image ID (got: $IMAGE_ID)"
LAYERS=$(docker image inspect --format '{{json .RootFS.Layers}}' "$TAG") || fail "docker image inspect $TAG failed"
[ "$LAYERS" = "[\"sha256:$SHA\"]" ] || fail "the imported image $TAG is not rootfs.tar as its one layer (layers: $LAYERS)"

status=0
nitro-cli build-enclave --docker-uri "$TAG" --output-file "$STAGE/blindbox.eif" >"$STAGE/build-enclave.json" || status=$?
[ "$status" = 0 ] || fail "nitro-cli build-enclave failed (exit $status, its reason above): no EIF built"
pcr() {
  local value
  value=$(jq -r ".Measurements.PCR$1 // empty" "$STAGE/build-enclave.json" 2>/dev/null || true)
  [[ "$value" =~ ^[0-9a-f]{96}$ ]] || fail "nitro-cli build-enclave printed no PCR$1 (its output: $(head -c 500 "$STAGE/build-enclave.json"))"
  echo "$value"
}
PCR0=$(pcr 0)
PCR1=$(pcr 1)
PCR2=$(pcr 2)

{
  echo "# the root filesystem ($ROOTFS/inputs.txt, written by build-rootfs.sh)"
  # What nitro-cli adds, and PCR16, follow below as measured for this EIF.
  grep -v -e '^nitro-cli ' -e '^PCR16 ' "$ROOTFS/inputs.txt"
  echo "# the EIF (build.sh)"
  bash "$HERE/nitro-cli-inputs.sh"
  echo "docker image $TAG id $IMAGE_ID (the ID changes with every import; its one layer is rootfs.tar, sha256:$SHA)"
  echo "image config Cmd [\"$ENCLAVE_COMMAND\"] Env PATH=$ENCLAVE_PATH"
  echo "PCR0 $PCR0"
  echo "PCR1 $PCR1"
  echo "PCR2 $PCR2"
  echo "PCR16 $PCR16"
} >"$STAGE/inputs.txt"
jq -n --arg p0 "$PCR0" --arg p1 "$PCR1" --arg p2 "$PCR2" --arg p16 "$PCR16" \
  '{name: "production", pcrs: {"0": $p0, "1": $p1, "2": $p2, "16": $p16}, maxAgeSeconds: 600}' >"$STAGE/policy.json"
# The inputs file last: present means the EIF and policy beside it are this build's.
mv "$STAGE/blindbox.eif" "$STAGE/policy.json" "$OUT/"
mv "$STAGE/inputs.txt" "$OUT/"

echo "PCR0  $PCR0"
echo "PCR1  $PCR1"
echo "PCR2  $PCR2"
echo "PCR16 $PCR16"
echo "build.sh: wrote $OUT/blindbox.eif, its inputs $OUT/inputs.txt and the client policy $OUT/policy.json"
