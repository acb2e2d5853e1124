#!/bin/bash
# The parent instance's host proxy: TCP port 443 → VSOCK (the enclave's CID, port 5000). A layer-4 copy: TLS ends
# inside the enclave, so this process, and anyone who owns the parent, sees ciphertext only. Run by the systemd unit
# blindbox-host-proxy.service.
#
# Settings (environment):
#   BLINDBOX_ENCLAVE_CID    the enclave's CID (default: the first running enclave's, from nitro-cli describe-enclaves)
#   BLINDBOX_VSOCK_PORT     the enclave's VSOCK port (default 5000)
#   BLINDBOX_PUBLIC_PORT    the TCP port clients connect to (default 443)
#   BLINDBOX_PUBLIC_BIND    the address to listen on (default all)
#   BLINDBOX_MAX_CONNECTIONS  connections forwarded at once (default 512). socat knows no per-client cap: run.sh
#                           sets one in the parent's firewall (32 per client address, like serve's own proxy)
#   BLINDBOX_TEST_ONLY_CONNECT_INSTEAD_OF_VSOCK
#                           tests only: a socat connect address (TCP on loopback, or a UNIX socket) in place of VSOCK-CONNECT, since
#                           tests must never open AF_VSOCK sockets
set -euo pipefail

VSOCK_PORT=${BLINDBOX_VSOCK_PORT:-5000}
PUBLIC_PORT=${BLINDBOX_PUBLIC_PORT:-443}
MAX=${BLINDBOX_MAX_CONNECTIONS:-512}

if [ -n "${BLINDBOX_TEST_ONLY_CONNECT_INSTEAD_OF_VSOCK:-}" ]; then
  CONNECT=$BLINDBOX_TEST_ONLY_CONNECT_INSTEAD_OF_VSOCK
else
  CID=${BLINDBOX_ENCLAVE_CID:-$(nitro-cli describe-enclaves | jq -r '.[0].EnclaveCID // empty')}
  [ -n "$CID" ] || { echo "host-proxy: no running enclave (nitro-cli describe-enclaves) and no BLINDBOX_ENCLAVE_CID" >&2; exit 1; }
  CONNECT="VSOCK-CONNECT:$CID:$VSOCK_PORT"
fi

LISTEN="TCP-LISTEN:$PUBLIC_PORT,fork,reuseaddr,nodelay,max-children=$MAX"
if [ -n "${BLINDBOX_PUBLIC_BIND:-}" ]; then LISTEN="$LISTEN,bind=$BLINDBOX_PUBLIC_BIND"; fi

echo "host-proxy: forwarding TCP :$PUBLIC_PORT to ${CONNECT%%,*}" >&2
exec socat -d "$LISTEN" "$CONNECT"
