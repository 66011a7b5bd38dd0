#!/usr/bin/env bash
# Installs what the end-to-end tests need to run our extension in a real VS Code workbench in a
# real browser, with no internet beyond the npm registry and Debian's packages:
#   - Debian packages: native build tools and headers, ripgrep, chromium, fonts;
#   - code-server (VS Code 1.100 workbench + Node extension host) from npm, built per
#     ../shared/notes/real-vscode-offline.md, cached under .cache/code-server/<version>/.
# Idempotent: a stamp file marks a complete install, so re-runs only check and take seconds.
# Works unattended (CI=true, as root). Environment:
#   CODE_SERVER_CACHE   cache root (default: <repo>/.cache/code-server)
#   E2E_SKIP_APT=1      do not install Debian packages (only report the missing ones)
#   E2E_FORCE=1         rebuild code-server even if the stamp says it is complete
set -euo pipefail

CS_VERSION=4.100.3
RECIPE=1 # bump when the build steps below change, to invalidate existing caches

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${CODE_SERVER_CACHE:-$ROOT/.cache/code-server}"
DEST="$CACHE/$CS_VERSION"
STAMP="$DEST/.complete"
START=$SECONDS

log() { printf '[setup-code-server %3ss] %s\n' "$((SECONDS - START))" "$*"; }
die() { printf '[setup-code-server] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# 1. Debian packages
# ---------------------------------------------------------------------------------------------
APT_PACKAGES=(
  build-essential pkg-config python3            # node-gyp toolchain
  libkrb5-dev libxkbfile-dev libsecret-1-dev libx11-dev  # headers for VS Code's native modules
  ripgrep                                       # VS Code's search (@vscode/ripgrep downloads otherwise)
  chromium                                      # the browser playwright-core drives
  fontconfig fonts-dejavu-core fonts-liberation2  # readable UI/editor text in screenshots
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  log "Debian packages: all ${#APT_PACKAGES[@]} present"
elif [ "${E2E_SKIP_APT:-}" = "1" ]; then
  die "missing Debian packages (E2E_SKIP_APT=1): ${missing[*]}"
else
  SUDO=()
  if [ "$(id -u)" != "0" ]; then
    command -v sudo >/dev/null 2>&1 || die "missing Debian packages and not root (no sudo): ${missing[*]}"
    SUDO=(sudo -n)
  fi
  command -v apt-get >/dev/null 2>&1 || die "missing packages and no apt-get: ${missing[*]}"
  log "Debian packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "Debian packages: installed"
fi
command -v rg >/dev/null 2>&1 || die "ripgrep (rg) not on PATH after install"
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium missing after install"

# ---------------------------------------------------------------------------------------------
# 2. code-server, cached
# ---------------------------------------------------------------------------------------------
NODE_ABI="$(node -p 'process.versions.modules')"
STAMP_TEXT="code-server=$CS_VERSION recipe=$RECIPE node-abi=$NODE_ABI arch=$(uname -m)"
ENTRY="$DEST/node_modules/code-server/out/node/entry.js"

node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" = "20" ] || die "code-server $CS_VERSION needs Node 20 (found $(node --version))"

if [ "${E2E_FORCE:-}" != "1" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_TEXT" ] && [ -f "$ENTRY" ]; then
  log "code-server $CS_VERSION: cached at ${DEST#"$ROOT"/} ($STAMP_TEXT)"
  log "entry: $ENTRY"
  exit 0
fi

mkdir -p "$CACHE"
# One builder at a time (parallel CI jobs or two terminals sharing the checkout).
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
  log "another setup is running; waiting for its lock"
  flock 9
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_TEXT" ] && [ -f "$ENTRY" ]; then
    log "code-server $CS_VERSION: completed by the other setup"
    exit 0
  fi
fi

# node-gyp downloads Node's headers from nodejs.org unless told where they are; that host is
# unreachable here. Debian/NodeSource packages ship them under <prefix>/include/node.
if [ -z "${npm_config_nodedir:-}" ]; then
  node_prefix="$(dirname "$(dirname "$(node -p 'process.execPath')")")"
  if [ -f "$node_prefix/include/node/node.h" ] && [ -f "$node_prefix/include/node/common.gypi" ]; then
    export npm_config_nodedir="$node_prefix"
    log "node-gyp headers: $node_prefix/include/node"
  elif [ ! -d "$HOME/.cache/node-gyp/$(node -p 'process.versions.node')" ]; then
    log "WARNING: no local Node headers found; node-gyp may try to download them"
  fi
fi
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
export npm_config_loglevel="${npm_config_loglevel:-warn}"

BUILD="$CACHE/$CS_VERSION.building"
rm -rf "$BUILD"
mkdir -p "$BUILD"
trap 'rc=$?; if [ $rc -ne 0 ]; then echo "[setup-code-server] FAILED (exit $rc); partial build left in $BUILD" >&2; fi' EXIT

cat >"$BUILD/package.json" <<EOF
{ "name": "e2e-code-server-cache", "private": true, "description": "built by scripts/e2e/setup-code-server.sh" }
EOF

log "npm install code-server@$CS_VERSION --ignore-scripts"
(cd "$BUILD" && npm install --no-save --ignore-scripts --no-package-lock "code-server@$CS_VERSION")
CS="$BUILD/node_modules/code-server"
VS="$CS/lib/vscode"

log "npm rebuild argon2 (code-server's password hashing)"
(cd "$BUILD" && npm rebuild argon2)

log "lib/vscode: npm install --omit=dev --ignore-scripts"
(cd "$VS" && npm install --omit=dev --ignore-scripts)

log "lib/vscode: rebuilding native modules (spdlog, parcel/watcher, native-watchdog, kerberos, deviceid)"
(cd "$VS" && npm rebuild @vscode/spdlog @parcel/watcher native-watchdog kerberos @vscode/deviceid)

log "lib/vscode: rebuilding node-pty"
# node-pty's install step ends with `npx node-gyp configure -f compile_commands_json`, which npx
# refuses to fetch unattended ("npx canceled due to missing packages"), so `npm rebuild` exits 1.
# The addon (build/Release/pty.node) is already built by then; the load check below verifies it.
# Its output is kept in a log and shown only if the addon is missing.
PTY_LOG="$BUILD/node-pty-rebuild.log"
if ! (cd "$VS" && npm rebuild node-pty) >"$PTY_LOG" 2>&1; then
  if [ -f "$VS/node_modules/node-pty/build/Release/pty.node" ]; then
    log "node-pty: pty.node built (its compile_commands.json npx step failed as expected; log: node-pty-rebuild.log)"
  else
    cat "$PTY_LOG" >&2
    die "node-pty did not build"
  fi
fi

log "lib/vscode: ripgrep -> $(command -v rg)"
mkdir -p "$VS/node_modules/@vscode/ripgrep/bin"
ln -sfn "$(command -v rg)" "$VS/node_modules/@vscode/ripgrep/bin/rg"

log "lib/vscode: node_modules.asar symlink and bin scripts (what code-server's postinstall does)"
(cd "$VS" && ln -sfn node_modules node_modules.asar)
(cd "$VS/bin/remote-cli" && ln -sfn code-linux.sh code-server)
(cd "$VS/bin/helpers" && ln -sfn browser-linux.sh browser.sh)

log "lib/vscode/extensions: npm install --omit=dev --ignore-scripts"
(cd "$VS/extensions" && npm install --omit=dev --ignore-scripts)

log "checking the native addons load under $(node --version)"
(cd "$VS" && node --input-type=module -e '
  import { createRequire } from "node:module";
  const require = createRequire(process.cwd() + "/");
  const mods = ["@vscode/spdlog", "node-pty", "@parcel/watcher", "native-watchdog", "kerberos", "@vscode/deviceid"];
  const bad = [];
  for (const m of mods) { try { require(m); } catch (e) { bad.push(m + ": " + e.message.split("\n")[0]); } }
  if (bad.length) { console.error(bad.join("\n")); process.exit(1); }
') || die "a native addon of lib/vscode does not load"
(cd "$CS" && node -e 'require("argon2")') || die "argon2 does not load"
[ -x "$VS/node_modules/@vscode/ripgrep/bin/rg" ] || die "ripgrep link is broken"

echo "$STAMP_TEXT" >"$BUILD/.complete"
rm -rf "$DEST"
mv "$BUILD" "$DEST"
trap - EXIT
log "code-server $CS_VERSION: installed at ${DEST#"$ROOT"/} ($(du -sh "$DEST" | cut -f1))"
log "entry: $ENTRY"
