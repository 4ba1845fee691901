#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 for user `postgres` without a
# password, as the test suite expects. Starts an installed cluster, or installs PostgreSQL from
# Debian's packages on a machine that has none. Idempotent; prints what it does.
set -euo pipefail

HOST=127.0.0.1
PORT=5432

answering() {
  psql -h "$HOST" -p "$PORT" -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1
}

if command -v psql >/dev/null 2>&1 && answering; then
  echo "postgres: answering on $HOST:$PORT"
  exit 0
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  echo "postgres: not installed; installing from Debian packages"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql postgresql-client >/dev/null
fi

version=$(ls /etc/postgresql | sort -V | tail -n 1)
hba=/etc/postgresql/$version/main/pg_hba.conf
# The tests connect over TCP as `postgres` without a password: trust loopback only.
if ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
  echo "postgres: trusting loopback connections in $hba"
  as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
fi
echo "postgres: starting cluster $version/main"
as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
  || as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload

for _ in $(seq 1 60); do
  if answering; then
    echo "postgres: answering on $HOST:$PORT"
    exit 0
  fi
  sleep 0.5
done
echo "postgres: did not come up on $HOST:$PORT" >&2
exit 1
