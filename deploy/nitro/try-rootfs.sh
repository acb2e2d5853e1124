#!/bin/bash
# Runs the enclave's root filesystem on this machine, minus the hardware, and transcribes the bundled sample through
# it; exits 0 only if that worked. Run as root, after build-rootfs.sh and `npm run setup` (the client, the NSM
# stand-in and its preload library come from the repository's build):
#
#   deploy/nitro/try-rootfs.sh OUT_DIR/rootfs.tar [--pcr16 <hex>]     (default: OUT_DIR/pcr16, as build-rootfs.sh wrote it)
#
# 1. Unpacks the tar into a temporary directory and checks that every ELF file in it resolves its shared libraries
#    inside it (the rootfs's own loader and ld.so.cache, in a chroot).
# 2. Starts the real entry path, /app/deploy/nitro/enclave-entry.sh with the environment the enclave's init gives it
#    (enclave-init.sh: the command and PATH build.sh puts in the image's config), chrooted in private mount, PID and network
#    namespaces (so its loopback starts down, as in a fresh enclave, and nothing in it can reach the network), with
#    /dev/nsm served by the NSM stand-in (test/native's preload library) and a UNIX socket in place of VSOCK (a
#    network namespace shares no TCP port with the host; never an AF_VSOCK socket).
# 3. On the host, host-proxy.sh forwards a loopback TCP port to that socket, and `blindbox transcribe` sends
#    media/sample.wav through it, trusting the stand-in's root and pinning PCR16 to the build's value.
set -euo pipefail

HERE=$(dirname "$(readlink -f "$0")")
REPO=$(readlink -f "$HERE/../..")
PRELOAD=$REPO/test/native/build/libnsm-preload.so
STAND_IN=$REPO/out/test/helpers/nsm-stand-in-main.js
CLI=$REPO/out/src/cli/main.js
# Seconds the enclave side may take to come up (serve loads its model and, with Whisper, waits for whisper-server).
START_TIMEOUT=${BLINDBOX_START_TIMEOUT:-120}
# shellcheck disable=SC1091 # enclave-init.sh, beside this script, is checked on its own
. "$HERE/enclave-init.sh"

fail() { echo "try-rootfs: FAILED: $*" >&2; exit 1; }
log() { echo "try-rootfs: $*" >&2; }

[ $# -ge 1 ] || { echo "usage: try-rootfs.sh OUT_DIR/rootfs.tar [--pcr16 <hex>]" >&2; exit 2; }
TAR=$(readlink -f "$1")
shift
PCR16=
while [ $# -gt 0 ]; do
  case "$1" in
    --pcr16) PCR16=$2; shift 2 ;;
    *) echo "try-rootfs: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$PCR16" ] || PCR16=$(cat "$(dirname "$TAR")/pcr16" 2>/dev/null || true)
[[ "$PCR16" =~ ^[0-9a-f]{96}$ ]] || { echo "try-rootfs: no PCR16 to pin: --pcr16 <hex> or OUT_DIR/pcr16" >&2; exit 2; }
[ -f "$TAR" ] || { echo "try-rootfs: no such file $TAR" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "try-rootfs: run as root (chroot and namespaces)" >&2; exit 2; }
for file in "$PRELOAD" "$STAND_IN" "$CLI"; do
  [ -f "$file" ] || { echo "try-rootfs: $file is missing: run npm run setup and npx tsc -p ." >&2; exit 2; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/blindbox-try.XXXXXX")
PIDS=()
ENTRY=
cleanup() {
  # unshare ignores SIGTERM while it waits: the entry script, its child, is told to stop everything it started; an
  # unshare still there after 10 s is killed, and --kill-child takes the whole namespace with it.
  if [ -n "$ENTRY" ]; then
    pkill -TERM -P "$ENTRY" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$ENTRY" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$ENTRY" 2>/dev/null || true
  fi
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
ROOT=$T/root
mkdir "$ROOT"
tar -C "$ROOT" --numeric-owner -xf "$TAR"

# 1. Every ELF file's libraries, as the rootfs's own loader finds them.
LOADER=/usr/lib64/ld-linux-x86-64.so.2
[ -x "$ROOT$LOADER" ] || fail "the rootfs has no dynamic loader $LOADER"
elves=0
missing=()
while IFS= read -r -d '' inside; do
  elves=$((elves + 1))
  out=$(chroot "$ROOT" "$LOADER" --list "$inside" 2>&1 || true)
  # A library's own missing dependency lists as "not found"; the file's direct one ends the loader with "cannot open".
  if grep -Eq 'not found|cannot open shared object' <<<"$out"; then
    missing+=("$inside: $(grep -E 'not found|cannot open shared object' <<<"$out" | tr -s ' \t\n' ' ')")
  fi
done < <(node "$HERE/list-elf-files.mjs" "$ROOT")
if [ ${#missing[@]} -gt 0 ]; then
  printf '  %s\n' "${missing[@]}" >&2
  fail "${#missing[@]} of $elves ELF files do not resolve their libraries inside the rootfs"
fi
log "all $elves ELF files resolve their libraries inside the rootfs"

# 2. The NSM stand-in, then the entry path in its own namespaces. The preload library recognises the stand-in by its
# socket's name, so the socket's directory is bind-mounted into the rootfs at the same path.
SHARED=$T/shared
mkdir "$SHARED" && mkdir -p "$ROOT$SHARED"
cp "$PRELOAD" "$SHARED/libnsm-preload.so"
node "$STAND_IN" "$SHARED/nsm.sock" "$T/root.pem" >"$T/nsm.out" &
PIDS+=("$!")
for _ in $(seq 100); do grep -q '^ready' "$T/nsm.out" && break; sleep 0.1; done
grep -q '^ready' "$T/nsm.out" || fail "the NSM stand-in did not start"

# shellcheck disable=SC2016 # $1 and $2 expand in the inner shell
unshare --mount --net --pid --fork --kill-child --mount-proc="$ROOT/proc" bash -c 'mount --bind "$1" "$2$1" && shift 2 && exec chroot "$@"' _ "$SHARED" "$ROOT" \
  "$ROOT" /usr/bin/env -i PATH="$ENCLAVE_PATH" \
  LD_PRELOAD="$SHARED/libnsm-preload.so" BLINDBOX_TEST_NSM_SOCKET="$SHARED/nsm.sock" \
  BLINDBOX_TEST_ONLY_LISTEN_INSTEAD_OF_VSOCK="UNIX-LISTEN:$SHARED/vsock.sock,fork" \
  BLINDBOX_START_TIMEOUT="$START_TIMEOUT" \
  "$ENCLAVE_COMMAND" 2>"$T/entry.log" &
ENTRY=$!
for _ in $(seq $((START_TIMEOUT * 10))); do
  grep -q '^\[entry\] forwarding ' "$T/entry.log" && break
  kill -0 "$ENTRY" 2>/dev/null || break
  sleep 0.1
done
grep -q '^\[entry\] forwarding ' "$T/entry.log" || { cat "$T/entry.log" >&2; fail "the enclave side did not come up"; }
log "enclave side up: $(grep -m1 '^\[entry\] listening' "$T/entry.log" || true)"

# 3. The host proxy on a free loopback port, then the client through it.
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
BLINDBOX_PUBLIC_PORT=$PORT BLINDBOX_PUBLIC_BIND=127.0.0.1 BLINDBOX_TEST_ONLY_CONNECT_INSTEAD_OF_VSOCK=UNIX-CONNECT:$SHARED/vsock.sock \
  bash "$HERE/host-proxy.sh" 2>"$T/proxy.log" &
PIDS+=("$!")
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

status=0
node "$CLI" transcribe "https://127.0.0.1:$PORT" "$REPO/media/sample.wav" --trust-root "$T/root.pem" --pcr "16=$PCR16" \
  --no-proxy --timeout 120 >"$T/transcript" 2>"$T/client.log" || status=$?
if [ "$status" != 0 ] || [ ! -s "$T/transcript" ]; then
  cat "$T/client.log" "$T/entry.log" >&2
  fail "blindbox transcribe through the host proxy exited with $status"
fi
log "transcript: $(cat "$T/transcript")"
log "OK: the rootfs's serve attested with PCR16 $PCR16 and transcribed the sample"
