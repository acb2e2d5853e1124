#!/usr/bin/env bash
# Installs what the end-to-end tests need, offline apart from Debian's packages and the npm registry:
#   - Debian: chromium (driven by playwright-core), flite (speech for the transcription test), and what code-server's
#     native modules need to build (build-essential, libkrb5-dev for kerberos) and to search (ripgrep);
#   - code-server (the real VS Code workbench and extension host), pinned, under .tools/code-server/ in the project:
#     a git-ignored, dev-only folder, never part of the extension's dependencies.
# Idempotent and instant when everything is there; non-interactive (CI has no stdin, runs as root on a fresh Debian 12);
# serialised with flock so that two runs at once do not race on apt or on the npm install.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3 # VS Code 1.100.3: the newest code-server whose engines accept Node 20
APT_PACKAGES=(chromium libkrb5-dev ripgrep build-essential flite)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/.tools/code-server"
STAMP="$TOOLS/.installed-$CODE_SERVER_VERSION"
BIN="$TOOLS/node_modules/.bin/code-server"
export TMPDIR="${TMPDIR:-/tmp}"
LOCK="$TMPDIR/blindbox-e2e-install.lock"

log() { echo "e2e-install: $*"; }

code_server_ok() { [ -f "$STAMP" ] && [ -x "$BIN" ]; }

if code_server_ok; then
  bash "$ROOT/scripts/apt-install.sh" e2e-install "${APT_PACKAGES[@]}" # instant when all are installed
  log "chromium, flite and code-server@$CODE_SERVER_VERSION present"
  exit 0
fi

[ -e "$LOCK" ] || : >"$LOCK"
exec 9<"$LOCK"
if ! flock -n 9; then
  log "waiting for another install (lock $LOCK)"
  flock -w 1800 9 || { echo "e2e-install: another install held $LOCK for 30 minutes" >&2; exit 1; }
fi
started=$(date +%s)

# ---------------------------------------------------------------------------------------------------------- Debian
bash "$ROOT/scripts/apt-install.sh" e2e-install "${APT_PACKAGES[@]}"

# ------------------------------------------------------------------------------------------------------ code-server
if ! code_server_ok; then
  # @vscode/ripgrep's postinstall downloads a prebuilt rg from GitHub unless its cache already holds the tarball:
  # $TMPDIR/vscode-ripgrep-cache-<package version>/ripgrep-<VERSION>-<target>.tar.gz, untarred into its bin/ (see
  # lib/postinstall.js and lib/download.js of @vscode/ripgrep 1.15.11, the version code-server 4.100.3 pins).
  # Debian's rg stands in for it.
  RG_CACHE="$TMPDIR/vscode-ripgrep-cache-1.15.11"
  RG_TARBALL="$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
  [ "$(uname -m)" = x86_64 ] || { echo "e2e-install: only x86_64 is set up (the ripgrep cache name names the target)" >&2; exit 1; }
  if [ ! -s "$RG_TARBALL" ]; then
    mkdir -p "$RG_CACHE"
    stage=$(mktemp -d)
    cp /usr/bin/rg "$stage/rg"
    tar -czf "$RG_TARBALL.tmp" -C "$stage" rg
    mv "$RG_TARBALL.tmp" "$RG_TARBALL"
    rm -rf "$stage"
  fi

  # npm 11 runs no dependency's install scripts unless approved, and refuses --allow-scripts (flag, or environment, or
  # an npmrc value that npm passes on to the scripts it runs as npm_config_allow_scripts) in a project-scoped install.
  # code-server's postinstall runs `npm install` again in lib/vscode and lib/vscode/extensions. So, in two steps:
  #  1. the tools folder's own package.json, written here, pins code-server and approves argon2's build, but denies
  #     code-server's postinstall, which could not approve anything for the installs it starts;
  #  2. we write lib/vscode/.npmrc approving the packages with install scripts there, then run code-server's
  #     postinstall.sh ourselves, with the environment it expects from npm (user agent, unsafe-perm as root).
  mkdir -p "$TOOLS"
  cat >"$TOOLS/package.json" <<EOF
{
  "name": "blindbox-e2e-tools",
  "private": true,
  "description": "Dev-only tools for the end-to-end tests (written by scripts/e2e/install.sh; git-ignored).",
  "dependencies": { "code-server": "$CODE_SERVER_VERSION" },
  "allowScripts": { "argon2": true, "code-server": false }
}
EOF
  rm -f "$STAMP"
  log "npm install code-server@$CODE_SERVER_VERSION into ${TOOLS#"$ROOT"/}"
  npm_started=$(date +%s)
  (
    cd "$TOOLS"
    export npm_config_yes=true                 # node-pty's install runs `npx node-gyp`; CI has no stdin
    export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
    if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi
    npm install --no-audit --no-fund --foreground-scripts

    CS="$TOOLS/node_modules/code-server"
    if [ ! -f "$CS/postinstall.sh" ] || [ ! -f "$CS/lib/vscode/package.json" ]; then
      echo "e2e-install: $CS is not code-server" >&2
      exit 1
    fi
    # the packages with install scripts in code-server 4.100.3's lib/vscode/npm-shrinkwrap.json (npm skips the
    # Windows-only ones on Linux); lib/vscode/extensions has them only among its dev dependencies, not installed
    echo "allow-scripts=@parcel/watcher,@vscode/deviceid,@vscode/ripgrep,@vscode/spdlog,kerberos,native-watchdog,node-pty" >"$CS/lib/vscode/.npmrc"
    cd "$CS"
    npm_config_user_agent="npm/$(npm --version) node/$(node --version) $(node -p 'process.platform + " " + process.arch')"
    export npm_config_user_agent
    export npm_config_unsafe_perm=true         # postinstall.sh refuses to run as root without it (npm 11 warns about it)
    sh ./postinstall.sh
  )
  "$BIN" --version >/dev/null || { echo "e2e-install: $BIN --version failed after install" >&2; exit 1; }
  for m in node-pty/build/Release/pty.node @vscode/ripgrep/bin/rg @vscode/spdlog/build/Release/spdlog.node; do
    [ -e "$TOOLS/node_modules/code-server/lib/vscode/node_modules/$m" ] || { echo "e2e-install: code-server's $m is missing: did an install script not run?" >&2; exit 1; }
  done
  touch "$STAMP"
  log "code-server installed in $(( $(date +%s) - npm_started ))s"
fi
log "done in $(( $(date +%s) - started ))s"
