#!/bin/bash
# Runs the enclave on the parent instance and installs the host proxy as a systemd unit; succeeds only once the app
# answers /healthz through the host proxy. Sizing: the enclave's memory holds the EIF's root file system (an
# uncompressed cpio, unpacked into RAM), the engine's working set and the uploads (kept in the enclave's memory-backed
# temp storage); allocate it in the allocator's hugepages first (/etc/nitro_enclaves/allocator.yaml, see README).
#
#   deploy/nitro/run.sh [--eif out/blindbox.eif] [--memory MiB] [--cpus N] [--cid N] [--debug [--attach-console]]
#
# Defaults: whisper base.en wants ~ 1 GiB for the model and its buffers plus ~ 2 GiB of image and uploads: 4096 MiB,
# 2 vCPUs (one core's two threads). PocketSphinx fits 2048 MiB. nitro-cli refuses less memory than 4 × the EIF's
# size, and more CPUs than the allocator's pool: both are checked here first. --debug runs the enclave in debug mode
# (its console readable, and the NSM reporting PCRs of all zeros: never give clients a policy from a debug run);
# --attach-console then attaches to that console once the enclave is described and its health known.
#
# Settings (environment): BLINDBOX_PUBLIC_PORT (default 443), BLINDBOX_HEALTH_TIMEOUT (seconds /healthz may take to
# answer, default 300: the image unpacks and the model loads first).
# Tests only: BLINDBOX_TEST_ONLY_ROOT, a directory standing for / where this script installs files and reads the
# allocator's configuration and CPU pool (nitro-cli, nft and systemctl come from PATH).
set -euo pipefail

HERE=$(dirname "$(readlink -f "$0")")
SYS=${BLINDBOX_TEST_ONLY_ROOT:-}
EIF=$HERE/out/blindbox.eif
MEMORY=4096
CPUS=2
CID=16
DEBUG=
ATTACH=
PUBLIC_PORT=${BLINDBOX_PUBLIC_PORT:-443}
HEALTH_TIMEOUT=${BLINDBOX_HEALTH_TIMEOUT:-300}

fail() { echo "run.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --eif) EIF=$2; shift 2 ;;
    --memory) MEMORY=$2; shift 2 ;;
    --cpus) CPUS=$2; shift 2 ;;
    --cid) CID=$2; shift 2 ;;
    --debug) DEBUG=1; shift ;;
    --attach-console) ATTACH=1; shift ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for n in "$MEMORY" "$CPUS" "$CID" "$HEALTH_TIMEOUT"; do [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: $n is not a positive whole number" >&2; exit 2; }; done
[ -z "$ATTACH" ] || [ -n "$DEBUG" ] || { echo "run.sh: --attach-console needs --debug (only a debug-mode enclave has a console)" >&2; exit 2; }
[ -f "$EIF" ] || fail "no EIF at $EIF: run deploy/nitro/build.sh first"
for tool in nitro-cli nft jq curl systemctl; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (see README, Deploy in a real Nitro enclave, step 2)"
done

# What nitro-cli would refuse, said before it runs: memory below 4 × the EIF's size in MiB, rounded up (its
# resource manager's ENCLAVE_MEMORY_EIF_SIZE_RATIO), or above the allocator's hugepages; more CPUs than its pool.
EIF_MIB=$(( ($(stat -c %s "$EIF") + 1048575) / 1048576 ))
NEEDED=$((4 * EIF_MIB))
[ "$MEMORY" -ge "$NEEDED" ] ||
  fail "--memory $MEMORY MiB is too little for $EIF ($EIF_MIB MiB): nitro-cli needs at least 4 × the EIF's size, $NEEDED MiB. Pass --memory $NEEDED or more, and set memory_mib to at least that in /etc/nitro_enclaves/allocator.yaml (then restart nitro-enclaves-allocator)"
ALLOCATOR=$SYS/etc/nitro_enclaves/allocator.yaml
POOL_MIB=$(sed -n 's/^memory_mib:[[:space:]]*\([0-9]*\).*/\1/p' "$ALLOCATOR" 2>/dev/null || true)
if [ -n "$POOL_MIB" ] && [ "$MEMORY" -gt "$POOL_MIB" ]; then
  fail "--memory $MEMORY MiB is more than the allocator reserves ($POOL_MIB MiB, memory_mib in $ALLOCATOR): raise memory_mib there and restart nitro-enclaves-allocator"
fi
# The pool the nitro_enclaves driver holds, as nitro-cli reads it ("1,3" or "1-3,5"): its CPU count.
POOL_FILE=$SYS/sys/module/nitro_enclaves/parameters/ne_cpus
[ -r "$POOL_FILE" ] || fail "no enclave CPU pool ($POOL_FILE): is nitro-enclaves-allocator running?"
POOL_CPUS=0
IFS=, read -ra ranges <"$POOL_FILE"
for range in "${ranges[@]}"; do
  range=${range//[[:space:]]/}
  if [[ "$range" =~ ^([0-9]+)-([0-9]+)$ ]]; then POOL_CPUS=$((POOL_CPUS + BASH_REMATCH[2] - BASH_REMATCH[1] + 1))
  elif [[ "$range" =~ ^[0-9]+$ ]]; then POOL_CPUS=$((POOL_CPUS + 1)); fi
done
[ "$CPUS" -le "$POOL_CPUS" ] ||
  fail "--cpus $CPUS is more than the enclave CPU pool holds ($POOL_CPUS: $(cat "$POOL_FILE")): raise cpu_count in $ALLOCATOR (whole cores) and restart nitro-enclaves-allocator, or pass --cpus $POOL_CPUS"

# One client address may hold 32 connections at once, as serve's own proxy allows (the enclave sees only socat, so
# the cap can live only here): new connections beyond it are refused with a TCP reset. nftables, which Amazon Linux
# 2023 uses (dnf install nftables); the table is replaced whole, so running again leaves one copy.
nft -f - <<NFT || fail "nft could not load the connection limit (is nftables installed? dnf install nftables)"
table inet blindbox
delete table inet blindbox
table inet blindbox {
  set clients4 { type ipv4_addr; flags dynamic; }
  set clients6 { type ipv6_addr; flags dynamic; }
  chain input {
    type filter hook input priority filter; policy accept;
    tcp dport $PUBLIC_PORT ct state new add @clients4 { ip saddr ct count over 32 } reject with tcp reset
    tcp dport $PUBLIC_PORT ct state new add @clients6 { ip6 saddr ct count over 32 } reject with tcp reset
  }
}
NFT

# The host proxy first (it waits for connections, and retries nothing: socat connects per client).
install -D -m 0755 "$HERE/host-proxy.sh" "$SYS/usr/local/bin/blindbox-host-proxy"
install -D -m 0644 "$HERE/blindbox-host-proxy.service" "$SYS/etc/systemd/system/blindbox-host-proxy.service"
mkdir -p "$SYS/etc/blindbox"
echo "BLINDBOX_ENCLAVE_CID=$CID" >"$SYS/etc/blindbox/host-proxy.env"
systemctl daemon-reload
systemctl enable --now blindbox-host-proxy.service

# run-enclave returns once the enclave's init has signalled the parent, before the app starts: it proves little.
RUN_ARGS=(--eif-path "$EIF" --memory "$MEMORY" --cpu-count "$CPUS" --enclave-cid "$CID")
if [ -n "$DEBUG" ]; then RUN_ARGS+=(--debug-mode); fi
STARTED=$(nitro-cli run-enclave "${RUN_ARGS[@]}") || fail "nitro-cli run-enclave failed (its error is above)"
ID=$(jq -r '.EnclaveID // empty' <<<"$STARTED")
[ -n "$ID" ] || fail "nitro-cli run-enclave named no EnclaveID: $STARTED"
nitro-cli describe-enclaves

# Up means the app answers through the same path clients take: port $PUBLIC_PORT → host proxy → VSOCK → serve.
# Liveness only, so the certificate is not checked here (clients check it against the attestation).
health=
deadline=$((SECONDS + HEALTH_TIMEOUT))
while [ "$SECONDS" -lt "$deadline" ]; do
  if curl -fsS --insecure --max-time 2 "https://127.0.0.1:$PUBLIC_PORT/healthz" >/dev/null 2>&1; then health=1; break; fi
  sleep 1
done
if [ -n "$health" ]; then
  echo "run.sh: up: the enclave $ID answers /healthz through the host proxy on port $PUBLIC_PORT"
else
  echo "run.sh: FAILED: no answer from /healthz through the host proxy (port $PUBLIC_PORT) within $HEALTH_TIMEOUT s." >&2
  if [ -n "$DEBUG" ]; then
    echo "run.sh: the enclave $ID is left running in debug mode: read why on its console, nitro-cli console --enclave-id $ID" >&2
  else
    # Not left in a reboot loop holding its memory: what it printed is readable only in debug mode.
    nitro-cli terminate-enclave --enclave-id "$ID" >/dev/null || true
    echo "run.sh: the enclave $ID was terminated. See why on its console: run again with --debug --attach-console (--debug-mode: its PCRs read as zeros), and check journalctl -u blindbox-host-proxy" >&2
  fi
fi
if [ -n "$ATTACH" ]; then nitro-cli console --enclave-id "$ID" || true; fi
[ -n "$health" ]
