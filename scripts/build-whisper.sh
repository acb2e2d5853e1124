#!/usr/bin/env bash
# Builds whisper.cpp's `whisper-server` from the source the npm package nodejs-whisper ships (its cpp/whisper.cpp/,
# pinned by package-lock.json's integrity hash; a server-only dependency of src/server), with cmake.
#
# The build is cached outside the repository, keyed by the source tree's hash and the flags' hash:
#   ${XDG_CACHE_HOME:-~/.cache}/blindbox/whisper-<source>-<flags>/whisper-server
# so `npm start` and `npm test` never rebuild, and src/server/build/whisper-server (git-ignored) is a symlink to it:
# where `serve --engine whisper` looks by default. Instant when cached; serialised with flock so that two runs at once
# do not build over each other. Prints the binary's path as its last line.
#
# Flags, chosen on purpose (the enclave image must use the same ones; see README "Use Whisper"):
#   GGML_OPENMP=OFF   ggml's own thread pool instead of OpenMP: no libgomp.so.1 at run time (the image does not ship it)
#   GGML_NATIVE=OFF + AVX/AVX2/FMA/F16C/BMI2 ON: a fixed x86-64 baseline (Haswell / Zen 1 and newer), not this
#                     machine's CPU, so the binary built here, in CI and in the image is the same and runs on every
#                     x86 Nitro Enclaves instance type; no AVX-512 (not on AMD before Zen 4)
#   BUILD_SHARED_LIBS=OFF  one self-contained executable (libwhisper and ggml linked in)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { echo "build-whisper: $*" >&2; }

# npm hoists the server workspace's dependency to the root node_modules, unless a conflict keeps it in the workspace's.
SRC="$ROOT/node_modules/nodejs-whisper/cpp/whisper.cpp"
[ -d "$SRC" ] || SRC="$ROOT/src/server/node_modules/nodejs-whisper/cpp/whisper.cpp"
[ -f "$SRC/examples/server/server.cpp" ] || { log "whisper.cpp source not found at $SRC: run npm ci"; exit 1; }

CMAKE_FLAGS=(
  -DCMAKE_BUILD_TYPE=Release
  -DBUILD_SHARED_LIBS=OFF
  -DGGML_OPENMP=OFF
  -DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
  -DGGML_AVX512=OFF -DGGML_BACKEND_DL=OFF -DGGML_CCACHE=OFF
  -DWHISPER_BUILD_TESTS=OFF -DWHISPER_BUILD_EXAMPLES=ON -DWHISPER_BUILD_SERVER=ON
  -DWHISPER_SDL2=OFF -DWHISPER_CURL=OFF
)

# The source's hash: every file of the tree, by path and content (0.5 s), so an edited or different tree never
# reuses a build. The flags' hash includes the compiler, whose version changes the code.
source_hash=$(cd "$SRC" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
flags_hash=$( { printf '%s\n' "${CMAKE_FLAGS[@]}"; c++ --version | head -1; uname -m; } | sha256sum | cut -c1-16)
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/blindbox"
OUT="$CACHE/whisper-$source_hash-$flags_hash"
BIN="$OUT/whisper-server"
LINK="$ROOT/src/server/build/whisper-server"

link() {
  mkdir -p "$(dirname "$LINK")"
  ln -sfn "$BIN" "$LINK.tmp" && mv -T "$LINK.tmp" "$LINK"
  echo "$BIN"
}

if [ -x "$BIN" ]; then
  log "whisper-server is up to date ($OUT)"
  link
  exit 0
fi

mkdir -p "$CACHE"
LOCK="$CACHE/whisper-build.lock"
[ -e "$LOCK" ] || : >"$LOCK"
exec 9<"$LOCK"
if ! flock -n 9; then
  log "waiting for another build (lock $LOCK)"
  flock -w 1800 9 || { log "another build held $LOCK for 30 minutes"; exit 1; }
fi
if [ -x "$BIN" ]; then
  log "whisper-server is up to date ($OUT)"
  link
  exit 0
fi

command -v cmake >/dev/null || { log "cmake is missing: run scripts/setup-system.sh"; exit 1; }
started=$(date +%s)
WORK=$(mktemp -d "$CACHE/whisper-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
log "building whisper-server from $SRC into $OUT (a few minutes, once)"
cmake -S "$SRC" -B "$WORK/build" "${CMAKE_FLAGS[@]}" >"$WORK/cmake.log" 2>&1 || { cat "$WORK/cmake.log" >&2; exit 1; }
cmake --build "$WORK/build" --target whisper-server -j "$(nproc)" >"$WORK/build.log" 2>&1 ||
  { tail -50 "$WORK/build.log" >&2; exit 1; }
built="$WORK/build/bin/whisper-server"
# The whole point of GGML_OPENMP=OFF and a static build: nothing beyond libc/libstdc++ at run time.
if ldd "$built" | grep -Eq 'libgomp|libwhisper|libggml'; then
  log "whisper-server links a library it must not:"; ldd "$built" >&2; exit 1
fi
mkdir -p "$WORK/out"
cp "$built" "$WORK/out/whisper-server"
{ printf '%s\n' "${CMAKE_FLAGS[@]}"; c++ --version | head -1; } >"$WORK/out/flags.txt"
rm -rf "$OUT"
mv -T "$WORK/out" "$OUT" # atomically: a test running meanwhile never starts half a binary
log "built in $(( $(date +%s) - started )) s"
link
