#!/bin/bash
# Prints, as lines of inputs.txt, what nitro-cli adds to an EIF: its version and the SHA-256 of its blobs (the enclave
# kernel and its config, init, nsm.ko, linuxkit and the kernel command line), which PCR0 and PCR1 depend on as much
# as on the image. The blobs are where nitro-cli reads them: NITRO_CLI_BLOBS, else /usr/share/nitro_enclaves/blobs.
# Without nitro-cli the lines say so: an EIF built elsewhere has blobs this file cannot name.
set -euo pipefail

BLOBS=${NITRO_CLI_BLOBS:-/usr/share/nitro_enclaves/blobs}
case "$(uname -m)" in
  aarch64) KERNEL=Image ;;
  *) KERNEL=bzImage ;;
esac

if ! command -v nitro-cli >/dev/null; then
  echo "nitro-cli absent on this host: its version and blobs (kernel, init, linuxkit: inputs of PCR0/1) not recorded"
  exit 0
fi
echo "nitro-cli version $(nitro-cli --version 2>&1 | head -n1)"
echo "nitro-cli blobs $BLOBS"
for blob in "$KERNEL" "$KERNEL.config" init nsm.ko linuxkit cmdline; do
  if [ -f "$BLOBS/$blob" ]; then
    echo "nitro-cli blob $blob sha256 $(sha256sum "$BLOBS/$blob" | cut -d' ' -f1)"
  else
    echo "nitro-cli blob $blob MISSING from $BLOBS"
  fi
done
