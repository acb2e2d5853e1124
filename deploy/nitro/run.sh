#!/bin/bash
# Runs the enclave on the parent instance and installs the host proxy as a systemd unit. Sizing: the enclave's
# memory holds the EIF's root file system (the image, model included, unpacked into RAM), the engine's working set
# and the uploads (kept in the enclave's memory-backed temp storage); allocate it in the allocator's hugepages first
# (/etc/nitro_enclaves/allocator.yaml, see README).
#
#   deploy/nitro/run.sh [--eif out/blindbox.eif] [--memory MiB] [--cpus N] [--cid N] [--debug]
#
# Defaults: whisper base.en wants ~ 1 GiB for the model and its buffers plus ~ 2 GiB of image and uploads: 4096 MiB,
# 2 vCPUs (one core's two threads). PocketSphinx fits 2048 MiB. --debug attaches the console, and makes the NSM
# report PCRs of all zeros: never give clients a policy from a debug run.
set -euo pipefail

HERE=$(dirname "$(readlink -f "$0")")
EIF=$HERE/out/blindbox.eif
MEMORY=4096
CPUS=2
CID=16
DEBUG=()
while [ $# -gt 0 ]; do
  case "$1" in
    --eif) EIF=$2; shift 2 ;;
    --memory) MEMORY=$2; shift 2 ;;
    --cpus) CPUS=$2; shift 2 ;;
    --cid) CID=$2; shift 2 ;;
    --debug) DEBUG=(--debug-mode --attach-console); shift ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -f "$EIF" ] || { echo "run.sh: no EIF at $EIF: run deploy/nitro/build.sh first" >&2; exit 1; }

# One client address may hold 32 connections at once, as serve's own proxy allows (the enclave sees only socat, so
# the cap can live only here): new connections beyond it are refused with a TCP reset.
PUBLIC_PORT=${BLINDBOX_PUBLIC_PORT:-443}
RULE=(INPUT -p tcp --syn --dport "$PUBLIC_PORT" -m connlimit --connlimit-above 32 --connlimit-mask 32 -j REJECT --reject-with tcp-reset)
iptables -C "${RULE[@]}" 2>/dev/null || iptables -I "${RULE[@]}"

# The host proxy first (it waits for connections, and retries nothing: socat connects per client).
install -m 0755 "$HERE/host-proxy.sh" /usr/local/bin/blindbox-host-proxy
install -m 0644 "$HERE/blindbox-host-proxy.service" /etc/systemd/system/blindbox-host-proxy.service
mkdir -p /etc/blindbox
echo "BLINDBOX_ENCLAVE_CID=$CID" >/etc/blindbox/host-proxy.env
systemctl daemon-reload
systemctl enable --now blindbox-host-proxy.service

nitro-cli run-enclave --eif-path "$EIF" --memory "$MEMORY" --cpu-count "$CPUS" --enclave-cid "$CID" "${DEBUG[@]}"
nitro-cli describe-enclaves
