#!/bin/bash
# shellcheck disable=SC2034 # the variables are read by the scripts that source this file
# Sourced (never run) by build.sh and try-rootfs.sh: what the enclave's init starts. nitro-cli copies the image
# config's Cmd (its Entrypoint only when there is no Cmd) and Env into the EIF, and AWS's init (aws-nitro-enclaves-
# sdk-bootstrap, init/init.c) chroots into the image's files and runs that command from / with exactly that
# environment: no WorkingDir, and no PATH unless Env has one. build.sh sets both in the imported image's config;
# try-rootfs.sh runs the entry the same way.
ENCLAVE_COMMAND=/app/deploy/nitro/enclave-entry.sh
ENCLAVE_PATH=/usr/sbin:/usr/bin:/sbin:/bin
