#!/bin/bash
# Checks where build-rootfs.sh's apt takes Debian packages from, before anything runs.
#
#   apt-snapshot.sh --check URL         a dated snapshot URL (build-rootfs.sh's APT_SNAPSHOT)
#   apt-snapshot.sh --check-mirror URL  a mirror URL (build-rootfs.sh's DEBIAN_MIRROR)
#
# A snapshot is http(s)://<host>/archive/debian/<YYYYMMDDTHHMMSSZ>. https needs a CA bundle where apt runs
# (APT_CA_BUNDLE, default /etc/ssl/certs/ca-certificates.crt): without one the URL is refused here in one line,
# rather than by apt's update after the fact. A check prints nothing when the URL is fine, else one line, and exits 2.
set -euo pipefail

CA_BUNDLE=${APT_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

refuse() { echo "apt-snapshot: $*" >&2; exit 2; }
# check NAME URL PATTERN SHAPE: URL must match PATTERN (described as SHAPE), and be verifiable if https.
check() {
  [[ "$2" =~ $3 ]] || refuse "$1 must be $4 (got: ${2@Q})"
  if [[ "$2" == https://* ]] && [ ! -s "$CA_BUNDLE" ]; then
    refuse "$1 $2 is https, and apt here has no CA bundle to verify it with ($CA_BUNDLE): install ca-certificates, or use http:// (apt checks every package against the archive's signed InRelease either way)"
  fi
}
SNAPSHOT_FORM='^https?://[A-Za-z0-9.-]+(:[0-9]+)?/([^[:space:]]*/)?debian/[0-9]{8}T[0-9]{6}Z/?$'
snapshot() { check APT_SNAPSHOT "$1" "$SNAPSHOT_FORM" 'a dated snapshot of the Debian archive, http(s)://<host>/archive/debian/<YYYYMMDDTHHMMSSZ>'; }

case "${1:-}" in
  --check) snapshot "${2:-}"; exit 0 ;;
  --check-mirror) check DEBIAN_MIRROR "${2:-}" '^https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[^[:space:]]*)?$' 'an http:// or https:// URL of a Debian archive'; exit 0 ;;
  *) refuse "usage: apt-snapshot.sh --check URL | --check-mirror URL" ;;
esac
