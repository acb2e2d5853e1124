#!/bin/bash
# Sourced by enclave-entry.sh and print-pcr16.sh (never run): exports the image's defaults from
# $APP/deploy/nitro/enclave.env (NAME=value lines, written by build-rootfs.sh) for each BLINDBOX_* setting the
# environment leaves unset, so the running server and the PCR16 printed at build time read the same settings.
load_enclave_env() {
  local app=$1 name value
  [ -r "$app/deploy/nitro/enclave.env" ] || return 0
  while IFS='=' read -r name value; do
    case "$name" in BLINDBOX_* | NODE_ENV) [ -n "${!name:-}" ] || export "$name=$value" ;; esac
  done <"$app/deploy/nitro/enclave.env"
}
