#!/usr/bin/env bash
# Reconciliation at a year's scale (issue 12), measured in-process by `recon-bench`: one ente,
# 1,000,000 receipts through the store, 5,000 reporting flows and 250 treasury journals through
# the API, the full three-way match, then an incremental day; the ceilings (raw insert, bare
# read) of the same run on a second fresh database. Run on demand (docs/BENCHMARKS.md).
#
#   scripts/bench-recon.sh [sqlite|postgres|both] [extra recon-bench flags…]
#
# PostgreSQL at $PG_URL (default the local trust server); each run uses fresh schemas, dropped.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-both}
shift || true
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-release}
pg_url=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
cargo build --release -q -p bench --bin recon-bench
bin=$CARGO_TARGET_DIR/release/recon-bench
case $which in
  sqlite) backends=(sqlite) ;;
  postgres) backends=(postgres) ;;
  both) backends=(sqlite postgres) ;;
  *) echo "usage: $0 [sqlite|postgres|both] [flags…]" >&2; exit 2 ;;
esac
for b in "${backends[@]}"; do
  if [ "$b" = postgres ]; then
    scripts/ensure-postgres.sh >/dev/null
  fi
  echo "== $b"
  SPORTELLO_LOG=${SPORTELLO_LOG:-warn} "$bin" --backend "$b" --pg-url "$pg_url" "$@"
done
