#!/usr/bin/env bash
# Installs the tools the test suite uses beyond the services: Debian's Chromium (browser test),
# docker-compose (validates compose.yaml without a Docker engine), the Java libraries of the
# seed lineage with a JDK (test/lineage/: Jackson, the RabbitMQ client, Curator, ZooKeeper), and
# Debian's Prometheus 2.42 with promtool (test/deploy/: the alert rules and the dashboard's queries;
# the tests run their own server on 127.0.0.1, so the service the package starts is stopped), and
# libfaketime (test/partition/: an instance whose clock is skewed).
# Idempotent; root for apt.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
for pkg in libfaketime libjackson2-databind-java librabbitmq-client-java libcurator-recipes-java libcurator-framework-java libcurator-client-java libzookeeper-java libslf4j-java; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  [ "$(id -u)" = 0 ] || { echo "test-deps: missing ${missing[*]}; run as root to install them" >&2; exit 1; }
  echo "test-deps: installing ${missing[*]}…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [[ " ${missing[*]} " == *" prometheus "* ]]; then
    # The package enables and (where services start) runs a system Prometheus on :9090; not ours.
    if [ -d /run/systemd/system ]; then systemctl disable --now prometheus >/dev/null 2>&1 || true
    else service prometheus stop >/dev/null 2>&1 || true; fi
  fi
fi
echo "test-deps: $(javac -version 2>&1), chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), $(docker-compose version --short 2>/dev/null | head -1 | sed 's/^/docker-compose /'), $(prometheus --version 2>&1 | head -1 | awk '{print "prometheus", $3}')"
