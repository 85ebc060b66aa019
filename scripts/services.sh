#!/usr/bin/env bash
# PostgreSQL and Redis on 127.0.0.1 for the test suite. Starts whichever is down (as this machine's
# services are started); with CI=true, a service that cannot be reached is an error.
set -uo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  for _ in $(seq 1 30); do up "$1" && return 0; sleep 0.5; done
  return 1
}

start_postgres() {
  command -v pg_ctlcluster >/dev/null || return 1
  local version
  version=$(ls /etc/postgresql 2>/dev/null | head -n 1)
  [ -n "$version" ] || return 1
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
}

start_redis() {
  command -v redis-server >/dev/null || return 1
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
}

status=0
for service in postgres:5432 redis:6379; do
  name=${service%%:*}
  port=${service##*:}
  if up "$port"; then
    echo "$name: up on 127.0.0.1:$port"
    continue
  fi
  echo "$name: down on 127.0.0.1:$port, starting it"
  if "start_$name" && wait_for "$port"; then
    echo "$name: started"
  elif [ "${CI:-}" = "true" ]; then
    echo "$name: could not be started; CI needs it" >&2
    status=1
  else
    echo "$name: not available; the tests that need it fall back or are skipped" >&2
  fi
done
exit $status
