#!/usr/bin/env bash
# Installs (when missing) and starts ZooKeeper, Redis, RabbitMQ and PostgreSQL for cluster mode and its tests.
#
# Usage: scripts/services.sh [zookeeper|redis|rabbitmq|postgres ...]   (default: all four)
#        scripts/services.sh stop zookeeper|redis
# Idempotent: a service that already answers is left alone; apt runs only when a package is missing.
# Works with systemd when it is PID 1's manager, otherwise starts the daemons directly (containers).
# Environment: SERVICES_WAIT_S (readiness bound per service, default 90), PG_USER / PG_PASSWORD / PG_DB
# (default im / im / im_test).
set -euo pipefail

WAIT_S="${SERVICES_WAIT_S:-90}"
PG_USER="${PG_USER:-im}"
PG_PASSWORD="${PG_PASSWORD:-im}"
PG_DB="${PG_DB:-im_test}"
ZK_BIN=/usr/share/zookeeper/bin
ZK_CFG=/etc/zookeeper/conf/zoo.cfg

say() { printf '%s: %s\n' "$1" "$2"; }
die() { printf '%s: ERROR: %s\n' "$1" "$2" >&2; exit 1; }

has_systemd() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

# wait_ready NAME CHECK_FN HINT: polls CHECK_FN once a second for at most WAIT_S seconds.
wait_ready() {
  local name="$1" check="$2" hint="$3" deadline=$((SECONDS + WAIT_S))
  until "$check"; do
    if ((SECONDS >= deadline)); then
      die "$name" "not ready after ${WAIT_S}s; see $hint"
    fi
    sleep 1
  done
  say "$name" "ready"
}

# ---- packages ---------------------------------------------------------------------------------

package_of() {
  case "$1" in
    zookeeper) echo zookeeper ;;
    redis) echo redis-server ;;
    rabbitmq) echo rabbitmq-server ;;
    postgres) echo postgresql ;;
  esac
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

ensure_packages() {
  local missing=() svc pkg
  for svc in "$@"; do
    pkg="$(package_of "$svc")"
    installed "$pkg" || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  command -v apt-get >/dev/null 2>&1 || die "packages" "missing ${missing[*]} and no apt-get (Debian/Ubuntu only)"
  say "packages" "installing ${missing[*]}…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# ---- ZooKeeper --------------------------------------------------------------------------------

# `srvr` is on ZooKeeper's default four-letter-word whitelist and answers "Mode: …" only once the
# server serves requests; zkCli (a JVM start, slower) is the fallback when 4lw commands are disabled.
zk_ready() {
  local out
  out="$(timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/2181 && printf srvr >&3 && cat <&3' 2>/dev/null || true)"
  if grep -q '^Mode:' <<<"$out"; then return 0; fi
  if grep -q 'whitelist' <<<"$out"; then
    timeout 30 "$ZK_BIN/zkCli.sh" -server 127.0.0.1:2181 ls / 2>/dev/null | grep -q '^\[.*zookeeper'
    return
  fi
  return 1
}

# Sessions of 4000 ms must be allowed: minSessionTimeout defaults to 2 × tickTime.
zk_check_ticktime() {
  local tick min
  tick="$(sed -n 's/^tickTime=\([0-9]*\).*/\1/p' "$ZK_CFG" | tail -1)"
  min="$(sed -n 's/^minSessionTimeout=\([0-9]*\).*/\1/p' "$ZK_CFG" | tail -1)"
  if [ -n "$tick" ] && ((tick > 2000)); then
    say zookeeper "setting tickTime=2000 (was $tick) so that 4000 ms sessions are allowed"
    sed -i 's/^tickTime=.*/tickTime=2000/' "$ZK_CFG"
  fi
  if [ -n "$min" ] && ((min > 4000)); then
    say zookeeper "setting minSessionTimeout=4000 (was $min)"
    sed -i 's/^minSessionTimeout=.*/minSessionTimeout=4000/' "$ZK_CFG"
  fi
}

# zkServer.sh refuses to start while its pid file names a live process; in a container without an
# init that reaps orphans, a killed server lingers as a zombie and still passes `kill -0`.
zk_clear_stale_pidfile() {
  local dir pidfile pid state
  dir="$(sed -n 's/^dataDir=//p' "$ZK_CFG" | tail -1)"
  pidfile="${dir:-/var/lib/zookeeper}/zookeeper_server.pid"
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  state="$(ps -o stat= -p "$pid" 2>/dev/null || true)"
  if [ -z "$state" ] || [[ "$state" == Z* ]]; then rm -f "$pidfile"; fi
}

start_zookeeper() {
  zk_check_ticktime
  if zk_ready; then say zookeeper "already running"; return; fi
  say zookeeper "starting…"
  if has_systemd; then
    systemctl start zookeeper
  else
    zk_clear_stale_pidfile
    "$ZK_BIN/zkServer.sh" start >/var/log/zookeeper/zkServer-start.out 2>&1 || true
  fi
  wait_ready zookeeper zk_ready "/var/log/zookeeper/ (zkServer-start.out, *.out)"
}

# ---- Redis ------------------------------------------------------------------------------------

redis_ready() { [ "$(timeout 3 redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null || true)" = PONG ]; }

start_redis() {
  if redis_ready; then say redis "already running"; return; fi
  say redis "starting…"
  if has_systemd; then
    systemctl start redis-server
  else
    install -d -o redis -g redis /run/redis
    runuser -u redis -- redis-server /etc/redis/redis.conf --daemonize yes --supervised no
  fi
  wait_ready redis redis_ready "/var/log/redis/redis-server.log"
}

# ---- RabbitMQ ---------------------------------------------------------------------------------

rabbitmq_ready() {
  timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5672' 2>/dev/null &&
    timeout 20 rabbitmqctl -q await_startup --timeout 15 >/dev/null 2>&1
}

start_rabbitmq() {
  if rabbitmq_ready; then say rabbitmq "already running"; return; fi
  say rabbitmq "starting…"
  if has_systemd; then
    systemctl start rabbitmq-server
  elif ! timeout 20 rabbitmqctl -q status >/dev/null 2>&1; then
    # The Debian wrapper switches to the rabbitmq user itself.
    rabbitmq-server -detached >/dev/null 2>&1 || true
  fi
  wait_ready rabbitmq rabbitmq_ready "/var/log/rabbitmq/"
}

# ---- PostgreSQL -------------------------------------------------------------------------------

pg_cluster() { pg_lsclusters -h 2>/dev/null | awk 'NR == 1 { print $1, $2 }'; }

pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432; }

pg_sql() { (cd / && runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -tA "$@"); }

start_postgres() {
  local cluster version name
  cluster="$(pg_cluster)"
  if [ -z "$cluster" ]; then
    version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
    say postgres "creating cluster $version main…"
    pg_createcluster "$version" main >/dev/null
    cluster="$version main"
  fi
  read -r version name <<<"$cluster"
  if pg_ready; then
    say postgres "already running"
  else
    say postgres "starting…"
    if has_systemd; then
      systemctl start "postgresql@$version-$name"
    else
      pg_ctlcluster "$version" "$name" start || true
    fi
    wait_ready postgres pg_ready "/var/log/postgresql/postgresql-$version-$name.log"
  fi
  ensure_pg_database
}

ensure_pg_database() {
  if [ -z "$(pg_sql -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" ]; then
    say postgres "creating role $PG_USER"
    pg_sql -c "CREATE ROLE \"$PG_USER\" LOGIN PASSWORD '$PG_PASSWORD'"
  else
    pg_sql -c "ALTER ROLE \"$PG_USER\" LOGIN PASSWORD '$PG_PASSWORD'"
  fi
  if [ -z "$(pg_sql -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" ]; then
    say postgres "creating database $PG_DB"
    pg_sql -c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\""
  fi
  PGPASSWORD="$PG_PASSWORD" psql -q -h 127.0.0.1 -p 5432 -U "$PG_USER" -d "$PG_DB" -tAc 'SELECT 1' >/dev/null ||
    die postgres "cannot log in as $PG_USER to $PG_DB over TCP (check pg_hba.conf)"
}

# ---- main -------------------------------------------------------------------------------------

# "stop NAME": stops a service (the fault tests restart ZooKeeper and Redis this way).
stop_zookeeper() {
  if has_systemd; then systemctl stop zookeeper; else "$ZK_BIN/zkServer.sh" stop >/dev/null 2>&1 || true; fi
}
stop_redis() { redis-cli -h 127.0.0.1 -p 6379 shutdown nosave >/dev/null 2>&1 || true; }
if [ "${1:-}" = stop ]; then
  case "${2:-}" in
    zookeeper | zk) stop_zookeeper ;;
    redis | redis-server) stop_redis ;;
    *) echo "usage: $0 stop zookeeper|redis" >&2; exit 2 ;;
  esac
  exit 0
fi

services=()
for arg in "${@:-zookeeper redis rabbitmq postgres}"; do
  for word in $arg; do
    case "$word" in
      zookeeper | zk) services+=(zookeeper) ;;
      redis | redis-server) services+=(redis) ;;
      rabbitmq | rabbit | rabbitmq-server) services+=(rabbitmq) ;;
      postgres | postgresql | pg) services+=(postgres) ;;
      *) echo "usage: $0 [zookeeper|redis|rabbitmq|postgres ...]" >&2; exit 2 ;;
    esac
  done
done

[ "$(id -u)" = 0 ] || die services "run as root: it installs packages and starts system daemons"
ensure_packages "${services[@]}"
for svc in "${services[@]}"; do "start_$svc"; done

echo
for svc in "${services[@]}"; do
  case "$svc" in
    zookeeper) echo "ZK_CONNECT=127.0.0.1:2181" ;;
    redis) echo "REDIS_URL=redis://127.0.0.1:6379" ;;
    rabbitmq) echo "AMQP_URL=amqp://guest:guest@127.0.0.1:5672" ;;
    postgres) echo "DATABASE_URL=postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:5432/$PG_DB" ;;
  esac
done
