#!/usr/bin/env bash
# Installs the Debian packages the speech engine needs (PocketSphinx, its en-us model, headers to build the addon) and
# those its tests use to make speech (flite) and encode it (lame, flac, oggenc, opusenc, sox). Called by `npm test`'s
# pretest and by `npm start` on fresh machines: quiet and instant when everything is there, non-interactive otherwise,
# and serialised with flock so that two runs at once do not race on apt.
set -euo pipefail

PACKAGES=(
  libpocketsphinx3 libsphinxbase3 pocketsphinx-en-us libpocketsphinx-dev libsphinxbase-dev # engine, addon build
  flite lame flac vorbis-tools opus-tools sox                                             # test speech and encoders
)
LOCK="${TMPDIR:-/tmp}/blindbox-setup-system.lock"

# Prints the packages of PACKAGES that dpkg does not report as installed.
missing() {
  local installed
  installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null | awk '$4 == "installed" { print $1 }')
  for p in "${PACKAGES[@]}"; do grep -qx "$p" <<<"$installed" || echo "$p"; done
}

todo=$(missing)
if [ -z "$todo" ]; then
  echo "setup-system: Debian packages present"
  exit 0
fi

SUDO=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "setup-system: need root (or sudo) to install: $todo" >&2; exit 1; }
  SUDO=(sudo)
fi

[ -e "$LOCK" ] || : >"$LOCK"
exec 9<"$LOCK"
flock -w 1200 9 || { echo "setup-system: another install held $LOCK for 20 minutes" >&2; exit 1; }
todo=$(missing) # the run that held the lock may have installed them
if [ -z "$todo" ]; then
  echo "setup-system: Debian packages present"
  exit 0
fi

APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q)
install() { "${APT[@]}" install -y --no-install-recommends $todo; }

# A fresh image has no package lists; an old one may have stale ones (404s): update then, and only then.
for p in $todo; do
  if [ -z "$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" { print $2 }')" ]; then
    need_update=1
    break
  fi
done
echo "setup-system: installing $(echo $todo)"
if [ -n "${need_update:-}" ]; then "${APT[@]}" update; fi
if ! install; then
  [ -n "${need_update:-}" ] && exit 1
  "${APT[@]}" update
  install
fi
todo=$(missing)
[ -z "$todo" ] || { echo "setup-system: still missing after install: $todo" >&2; exit 1; }
echo "setup-system: Debian packages installed"
