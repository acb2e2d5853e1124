#!/usr/bin/env bash
# Installs the Debian packages the speech engine needs (PocketSphinx, its en-us model, headers to build the addon;
# cmake and g++ to build whisper.cpp's server),
# those its tests use to make speech (flite) and encode it (lame, flac, oggenc, opusenc, sox), the TCP balancer the
# fleet test puts in front of several replicas (haproxy), those the Nitro deployment's tests run: socat (its
# forwarders, over TCP stand-ins for vsock), shellcheck (its scripts), nftables (run.sh's rules) and mmdebstrap (the
# enclave's root filesystem), and Python's requests (the plain client
# whose /whisper/predict call receipts must not break). Called by `npm test`'s pretest and by `npm start` on fresh
# machines: quiet and instant when everything is there.
set -euo pipefail

PACKAGES=(
  libpocketsphinx3 libsphinxbase3 pocketsphinx-en-us libpocketsphinx-dev libsphinxbase-dev # engine, addon build
  flite lame flac vorbis-tools opus-tools sox                                             # test speech and encoders
  cmake g++                                                                               # whisper-server's build
  haproxy                                                                                 # fleet test: L4 balancer
  socat shellcheck iproute2 nftables                                                      # deploy/nitro: forwarders, script lint, ip, run.sh's rules
  mmdebstrap curl                                                                         # deploy/nitro: the enclave rootfs (its test, as root)
  python3-requests                                                                        # a plain Python client of /whisper/predict
)
bash "$(dirname "$(readlink -f "$0")")/apt-install.sh" setup-system "${PACKAGES[@]}"
echo "setup-system: Debian packages present"
