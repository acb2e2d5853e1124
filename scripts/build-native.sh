#!/usr/bin/env bash
# Builds the server's Node-API addons (PocketSphinx; the NSM device's ioctl) with npm's own node-gyp against the system's Node headers (--nodedir=/usr:
# /usr/include/node), so nothing is downloaded. Needs setup-system.sh's packages. Instant when the .node file is newer
# than its sources; serialised with flock so that two runs at once do not build over each other. Then builds the
# tests' stand-in for /dev/nsm (test/native/nsm-preload.c, an LD_PRELOAD library) into test/native/build/.
set -euo pipefail

ROOT="$(dirname "$(readlink -f "$0")")/.."
PRELOAD_SRC="$ROOT/test/native/nsm-preload.c"
PRELOAD="$ROOT/test/native/build/libnsm-preload.so"
build_preload() {
  if [ -f "$PRELOAD" ] && [ -z "$(find "$PRELOAD_SRC" "$ROOT/src/server/attestation/nsm/native/nsm-uapi.h" -newer "$PRELOAD")" ]; then
    echo "build-native: $PRELOAD is up to date"
    return
  fi
  mkdir -p "$(dirname "$PRELOAD")"
  echo "build-native: building $PRELOAD"
  cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$PRELOAD.tmp" "$PRELOAD_SRC" -ldl -lpthread
  mv "$PRELOAD.tmp" "$PRELOAD" # atomically: a test running meanwhile never preloads half a library
}
build_preload

# The server package's binding.gyp is at its root, so node-gyp builds into its git-ignored build/, not into the sources.
cd "$(dirname "$(readlink -f "$0")")/../src/server"
ADDON=build/Release/pocketsphinx.node
NSM_ADDON=build/Release/nsm.node

up_to_date() {
  [ -f "$ADDON" ] && [ -z "$(find engine/pocketsphinx/native/addon.c binding.gyp -newer "$ADDON")" ] &&
    [ -f "$NSM_ADDON" ] && [ -z "$(find attestation/nsm/native binding.gyp -newer "$NSM_ADDON")" ]
}

if up_to_date; then
  echo "build-native: $PWD/$ADDON and $NSM_ADDON are up to date"
  exit 0
fi

LOCK="${TMPDIR:-/tmp}/blindbox-build-native.lock"
[ -e "$LOCK" ] || : >"$LOCK"
exec 9<"$LOCK"
flock -w 600 9 || { echo "build-native: another build held $LOCK for 10 minutes" >&2; exit 1; }
if up_to_date; then
  echo "build-native: $PWD/$ADDON and $NSM_ADDON are up to date"
  exit 0
fi

# npm passes its bundled node-gyp to lifecycle scripts; run by hand, find it beside npm.
NODE_GYP="${npm_config_node_gyp:-$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js}"
[ -f "$NODE_GYP" ] || { echo "build-native: node-gyp not found at $NODE_GYP" >&2; exit 1; }
[ -f /usr/include/node/node_api.h ] || { echo "build-native: Node's headers are not in /usr/include/node" >&2; exit 1; }
pkg-config --exists pocketsphinx sphinxbase || { echo "build-native: pocketsphinx/sphinxbase headers missing: run scripts/setup-system.sh" >&2; exit 1; }

echo "build-native: building $PWD/$ADDON and $NSM_ADDON"
node "$NODE_GYP" rebuild --nodedir=/usr --loglevel=warn
touch "$ADDON" "$NSM_ADDON" # make's own timestamps may predate an edit made during the build; the check above wants "built after"
