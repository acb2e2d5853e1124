#!/bin/bash
# Points apt at a dated snapshot of the Debian archive, so that a rebuild installs the very same packages (the
# Dockerfile's APT_SNAPSHOT: the base URL of a snapshot, e.g. <snapshot-mirror>/archive/debian/20251201T000000Z).
# Without an argument apt keeps the base image's sources: today's packages, and a build that is not reproducible.
set -euo pipefail

SNAPSHOT=${1:-}
if [ -z "$SNAPSHOT" ]; then
  echo "apt-snapshot: no APT_SNAPSHOT given: installing today's packages (not reproducible)" >&2
  exit 0
fi
rm -f /etc/apt/sources.list.d/debian.sources
{
  echo "deb [check-valid-until=no] $SNAPSHOT bookworm main"
  echo "deb [check-valid-until=no] $SNAPSHOT bookworm-updates main"
  echo "deb [check-valid-until=no] ${SNAPSHOT%/debian/*}/debian-security/${SNAPSHOT##*/} bookworm-security main"
} >/etc/apt/sources.list
