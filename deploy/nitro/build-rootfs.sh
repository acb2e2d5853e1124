#!/bin/bash
# Builds the enclave's root filesystem from pinned inputs only, bit for bit reproducibly, as OUT_DIR/rootfs.tar
# (the image `nitro-cli build-enclave` takes, e.g. after `docker import`), and prints its SHA-256 and the PCR16 the
# enclave will hold. Run as root (mmdebstrap's root mode, chroot) on Debian 12 after `npm ci && npm run setup`.
#
#   deploy/nitro/build-rootfs.sh OUT_DIR [--whisper-model <ggml .bin>]
#
# With --whisper-model the image's engine is whisper (serve runs whisper.cpp's servers itself, the model at
# /models/ggml-model.bin); without, pocketsphinx. Inputs, all recorded in OUT_DIR/inputs.txt:
#   Debian packages   for a release APT_SNAPSHOT, a dated snapshot such as
#                     https://snapshot.debian.org/archive/debian/20251201T000000Z; else DEBIAN_MIRROR (default
#                     http://deb.debian.org/debian); DEBIAN_SUITE (default trixie: Debian 13, whose Node.js is 20); by
#                     the suite's InRelease hash. https is verified with the host's CA bundle (apt and curl run on the
#                     host; APT_CA_BUNDLE names another): the rootfs gets no ca-certificates, it makes no outbound calls
#   npm packages      package-lock.json, installed with `npm ci --omit=dev` (integrity-checked)
#   the server        the commit's TypeScript, compiled afresh into a temporary directory (never out/, which may hold
#                     files of deleted sources), and the addons built by `npm run setup`
#   whisper-server    scripts/build-whisper.sh's build of the lockfile-pinned whisper.cpp source
#   models            the Whisper model file's SHA-256; PocketSphinx's comes with pocketsphinx-en-us
#   nitro-cli         its version and blobs' hashes when this host has it (the EIF's kernel and init: PCR0/1)
# File times are SOURCE_DATE_EPOCH (the last commit's time), owners numeric, entries sorted: the same inputs give
# the same rootfs.tar.
set -euo pipefail

HERE=$(dirname "$(readlink -f "$0")")
REPO=$(readlink -f "$HERE/../..")
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
APT_SNAPSHOT=${APT_SNAPSHOT:-}
SUITE=${DEBIAN_SUITE:-trixie}
# What the entry path runs: node (serve), socat (VSOCK ↔ loopback), ip (loopback up), setpriv (util-linux, essential:
# whisper-server children die with serve), the PocketSphinx library the addon links and its US English model.
PACKAGES=nodejs,socat,iproute2,libpocketsphinx3,pocketsphinx-en-us

fail() { echo "build-rootfs: $*" >&2; exit 1; }

[ $# -ge 1 ] || fail "usage: build-rootfs.sh OUT_DIR [--whisper-model FILE]"
OUT=$1
shift
WHISPER_MODEL=
while [ $# -gt 0 ]; do
  case "$1" in
    --whisper-model) WHISPER_MODEL=$(readlink -f "$2"); shift 2 ;;
    *) fail "unknown argument $1" ;;
  esac
done
# The package source, checked before anything runs (one line and exit 2 if refused).
APTOPTS=()
CURL=(curl -fsS)
if [ -n "$APT_SNAPSHOT" ]; then
  [ -z "${DEBIAN_MIRROR:-}" ] || fail "give APT_SNAPSHOT or DEBIAN_MIRROR, not both"
  bash "$HERE/apt-snapshot.sh" --check "$APT_SNAPSHOT" || exit 2
  MIRROR=${APT_SNAPSHOT%/}
  # A snapshot's InRelease keeps the Valid-Until it was published with: past, by design.
  APTOPTS+=(--aptopt='Acquire::Check-Valid-Until "false"')
else
  bash "$HERE/apt-snapshot.sh" --check-mirror "$MIRROR" || exit 2
fi
if [ -n "${APT_CA_BUNDLE:-}" ]; then
  APTOPTS+=(--aptopt="Acquire::https::CAInfo \"$APT_CA_BUNDLE\"")
  CURL+=(--cacert "$APT_CA_BUNDLE")
fi
[ "$(id -u)" = 0 ] || fail "run as root (mmdebstrap's root mode and chroot)"
for tool in mmdebstrap npm sha256sum tar git curl unshare; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (apt-get install mmdebstrap curl)"
done
[ -x "$REPO/node_modules/.bin/tsc" ] || fail "no TypeScript compiler: run npm ci first"
for addon in pocketsphinx nsm; do
  [ -f "$REPO/src/server/build/Release/$addon.node" ] || fail "no $addon addon: run npm run setup first"
done
if [ -n "$WHISPER_MODEL" ]; then [ -f "$WHISPER_MODEL" ] || fail "no Whisper model at $WHISPER_MODEL"; fi

START=$(date +%s)
COMMIT=$(git -C "$REPO" rev-parse HEAD)$(git -C "$REPO" diff --quiet HEAD -- src deploy package.json package-lock.json || echo ' (with uncommitted changes: not reproducible)')
SOURCE_DATE_EPOCH=$(git -C "$REPO" log -1 --format=%ct)
export SOURCE_DATE_EPOCH
mkdir -p "$OUT"
OUT=$(readlink -f "$OUT")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/blindbox-rootfs.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
APP=$ROOT/app

# The suite's signed index, fetched once: its hash names the package set mmdebstrap installs from it.
"${CURL[@]}" "$MIRROR/dists/$SUITE/InRelease" -o "$WORK/InRelease" || fail "cannot fetch $MIRROR/dists/$SUITE/InRelease"
WHISPER_SERVER=$(bash "$REPO/scripts/build-whisper.sh" | tail -n1)

# The code serve loads, compiled from the sources alone: the CLI's entry (serve is one of its commands) and the server
# package, with what they import, into an empty directory, without source maps. Whatever else lies in out/ (a file
# whose source was deleted, tests) cannot reach the image.
cat >"$WORK/tsconfig.json" <<JSON
{
  "extends": "$REPO/tsconfig.json",
  "compilerOptions": { "rootDir": "$REPO", "outDir": "$WORK/compiled", "incremental": false, "sourceMap": false,
    "typeRoots": ["$REPO/node_modules/@types"] },
  "include": ["$REPO/src/cli/main.ts", "$REPO/src/server/**/*.ts"]
}
JSON
"$REPO/node_modules/.bin/tsc" -p "$WORK/tsconfig.json" || fail "the server's TypeScript does not compile"

# Debian: the essential set (no apt) plus the entry path's packages; no documentation, manuals or translations.
mmdebstrap --quiet --mode=root --variant=essential --include="$PACKAGES" "${APTOPTS[@]}" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
  "$SUITE" "$ROOT" "$MIRROR"

# The server: the code serve loads (no client core or extension), its production dependencies from the lockfile,
# its addons and whisper-server. nodejs-whisper is only whisper.cpp's source, built above: none of it runs.
mkdir -p "$APP/src/server/build/Release" "$APP/out/src" "$APP/deploy/nitro"
cp "$REPO/package.json" "$REPO/package-lock.json" "$APP/"
cp "$REPO/src/server/package.json" "$APP/src/server/"
(cd "$APP" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >&2)
rm -rf "$APP/node_modules/nodejs-whisper" "$APP/package-lock.json"
# Prebuilt addons for musl libc (cbor-extract ships both): never loaded on Debian's glibc, and they could not be.
find "$APP/node_modules" -name '*.musl.node' -delete
for dir in server protocol shared cli; do cp -r "$WORK/compiled/src/$dir" "$APP/out/src/"; done
cp "$REPO/src/server/build/Release/pocketsphinx.node" "$REPO/src/server/build/Release/nsm.node" "$APP/src/server/build/Release/"
cp "$WHISPER_SERVER" "$APP/src/server/build/whisper-server"
cp "$HERE/enclave-entry.sh" "$HERE/enclave-env.sh" "$HERE/print-pcr16.sh" "$APP/deploy/nitro/"
if [ -n "$WHISPER_MODEL" ]; then
  mkdir -p "$ROOT/models"
  cp "$WHISPER_MODEL" "$ROOT/models/ggml-model.bin"
  printf 'BLINDBOX_ENGINE=whisper\nBLINDBOX_WHISPER_MODEL=/models/ggml-model.bin\n' >"$APP/deploy/nitro/enclave.env"
else
  printf 'BLINDBOX_ENGINE=pocketsphinx\n' >"$APP/deploy/nitro/enclave.env"
fi
printf 'NODE_ENV=production\n' >>"$APP/deploy/nitro/enclave.env"

# PCR16 as the enclave will extend it, computed by the rootfs's own serve (a private mount namespace for /proc).
# shellcheck disable=SC2016 # $1 expands in the inner shell
PCR16=$(unshare --mount --fork bash -c 'mount -t proc proc "$1/proc" && chroot "$1" /app/deploy/nitro/print-pcr16.sh' _ "$ROOT")
[[ "$PCR16" =~ ^[0-9a-f]{96}$ ]] || fail "could not compute PCR16 (got: $PCR16)"

# Then out with the package manager: the enclave installs nothing. The package list stays beside the tar.
# shellcheck disable=SC2016 # dpkg-query's own ${field} syntax
chroot "$ROOT" dpkg-query -W -f '${Package} ${Version} ${Architecture}\n' >"$OUT/packages.txt"
chroot "$ROOT" dpkg-query -L dpkg debconf | while read -r file; do
  if [ -f "$ROOT$file" ] || [ -L "$ROOT$file" ]; then rm -f "$ROOT$file"; fi
done
rm -rf "$ROOT"/var/lib/dpkg "$ROOT"/var/lib/apt "$ROOT"/var/cache/* "$ROOT"/var/log/* "$ROOT"/etc/apt "$ROOT"/etc/dpkg \
  "$ROOT"/usr/share/nodejs/corepack "$ROOT"/usr/bin/corepack

tar -C "$ROOT" --create --file "$OUT/rootfs.tar" --sort=name --mtime="@$SOURCE_DATE_EPOCH" --numeric-owner \
  --format=pax --pax-option='exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime' .

hash_of() { sha256sum "$1" | cut -d' ' -f1; }
SHA=$(hash_of "$OUT/rootfs.tar")
{
  echo "commit $COMMIT"
  echo "SOURCE_DATE_EPOCH $SOURCE_DATE_EPOCH"
  echo "debian $MIRROR $SUITE (InRelease sha256 $(hash_of "$WORK/InRelease"), $(grep -m1 '^Date:' "$WORK/InRelease"))"
  echo "debian packages $PACKAGES (+ essential), versions in packages.txt"
  echo "package-lock.json sha256 $(hash_of "$REPO/package-lock.json")"
  echo "whisper.cpp source nodejs-whisper $(node -p "require('$REPO/package-lock.json').packages['node_modules/nodejs-whisper'].integrity"), build $(basename "$(dirname "$WHISPER_SERVER")")"
  echo "whisper-server sha256 $(hash_of "$WHISPER_SERVER")"
  echo "pocketsphinx.node sha256 $(hash_of "$REPO/src/server/build/Release/pocketsphinx.node")"
  echo "nsm.node sha256 $(hash_of "$REPO/src/server/build/Release/nsm.node")"
  echo "pocketsphinx model $(grep '^pocketsphinx-en-us ' "$OUT/packages.txt")"
  if [ -n "$WHISPER_MODEL" ]; then echo "whisper model sha256 $(hash_of "$WHISPER_MODEL")"; fi
  echo "engine $(grep '^BLINDBOX_ENGINE=' "$APP/deploy/nitro/enclave.env" | cut -d= -f2)"
  bash "$HERE/nitro-cli-inputs.sh"
  echo "rootfs.tar sha256 $SHA"
  echo "PCR16 $PCR16"
} >"$OUT/inputs.txt"
echo "$PCR16" >"$OUT/pcr16"

echo "build-rootfs: $OUT/rootfs.tar, $(du -m "$OUT/rootfs.tar" | cut -f1) MiB, in $(($(date +%s) - START)) s" >&2
echo "sha256 $SHA"
echo "PCR16 $PCR16"
