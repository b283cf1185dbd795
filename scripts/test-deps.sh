#!/usr/bin/env bash
# Installs the tools the test suite uses beyond the services: Debian's Chromium (browser test) and
# docker-compose (validates compose.yaml without a Docker engine). Idempotent; root for apt.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if ((${#missing[@]})); then
  [ "$(id -u)" = 0 ] || { echo "test-deps: missing ${missing[*]}; run as root to install them" >&2; exit 1; }
  echo "test-deps: installing ${missing[*]}…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "test-deps: chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), $(docker-compose version --short 2>/dev/null | head -1 | sed 's/^/docker-compose /')"
