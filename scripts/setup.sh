#!/usr/bin/env bash
# Installs what the server needs on Debian/Ubuntu: Bun (from npm) and the locked dependencies.
# Usage: scripts/setup.sh            (idempotent; run as root on a fresh machine, or with Bun already installed)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v bun >/dev/null 2>&1; then
  if ! command -v npm >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || { echo "setup: Bun and npm are missing; run as root, or install Bun first (https://bun.sh)" >&2; exit 1; }
    echo "setup: installing npm (apt)…"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm
  fi
  echo "setup: installing Bun (npm install -g bun)…"
  npm install -g bun@1.4.5
fi
echo "setup: $(bun --version) — installing dependencies from bun.lock…"
bun install --frozen-lockfile
echo "setup: done"
