#!/bin/bash
# Pins the enclave image's base by digest: resolves node:20-bookworm-slim (or $1) on the registry once and writes
# base-image.lock, which build.sh insists on. Commit the lock file: the digest is an input of PCR0.
set -euo pipefail

HERE=$(dirname "$(readlink -f "$0")")
IMAGE=${1:-node:20-bookworm-slim}
docker pull "$IMAGE" >/dev/null
DIGEST=$(docker image inspect --format '{{index .RepoDigests 0}}' "$IMAGE")
[[ "$DIGEST" =~ @sha256:[0-9a-f]{64}$ ]] || { echo "pin-base.sh: no digest for $IMAGE (got $DIGEST)" >&2; exit 1; }
{
  echo "# The enclave image's base, by digest (an input of PCR0). Written by pin-base.sh on $(date -u +%F)."
  echo "$DIGEST"
} >"$HERE/base-image.lock"
echo "pin-base.sh: $DIGEST"
