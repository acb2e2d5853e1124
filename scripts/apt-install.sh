#!/usr/bin/env bash
# Usage: apt-install.sh <name-for-logs> <package>...
# Installs the Debian packages that dpkg does not report as installed: instant when all are there, non-interactive
# otherwise (CI has no stdin), serialised with flock so that two runs at once do not race on apt, and `apt-get update`
# only when a package has no candidate (a fresh image has no lists) or the install fails on stale lists.
set -euo pipefail

WHO=$1
shift
PACKAGES=("$@")
LOCK="${TMPDIR:-/tmp}/blindbox-apt-install.lock"

# Prints the packages of PACKAGES that dpkg does not report as installed.
missing() {
  local installed
  # dpkg-query exits 1 when it knows nothing of a package (never installed): not an error here
  installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null | awk '$4 == "installed" { print $1 }' || true)
  for p in "${PACKAGES[@]}"; do grep -qx "$p" <<<"$installed" || echo "$p"; done
}

[ -n "$(missing)" ] || exit 0

SUDO=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "$WHO: need root (or sudo) to install: $(missing | tr '\n' ' ')" >&2; exit 1; }
  SUDO=(sudo)
fi

[ -e "$LOCK" ] || : >"$LOCK"
exec 9<"$LOCK"
flock -w 1800 9 || { echo "$WHO: another install held $LOCK for 30 minutes" >&2; exit 1; }
mapfile -t todo < <(missing) # the run that held the lock may have installed them
[ "${#todo[@]}" -gt 0 ] || exit 0

APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q)
need_update=
for p in "${todo[@]}"; do
  if [ -z "$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" { print $2 }')" ]; then
    need_update=1
    break
  fi
done
echo "$WHO: apt-get install ${todo[*]}"
if [ -n "$need_update" ]; then "${APT[@]}" update; fi
if ! "${APT[@]}" install -y --no-install-recommends "${todo[@]}"; then
  [ -n "$need_update" ] && exit 1
  "${APT[@]}" update
  "${APT[@]}" install -y --no-install-recommends "${todo[@]}"
fi
left=$(missing)
[ -z "$left" ] || { echo "$WHO: still missing after apt-get: $left" >&2; exit 1; }
