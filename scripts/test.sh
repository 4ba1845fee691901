#!/usr/bin/env bash
# The whole test suite: every storage-dependent test runs on SQLite and on PostgreSQL.
# Starts (or installs) PostgreSQL when it is not answering; needs nothing done by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-postgres.sh
# The real SMTP server the notification tests talk to (aiosmtpd in a venv under target/).
./scripts/test-tools.sh >/dev/null
# The kernel and domain crates depend on no I/O library.
./scripts/check-domain-deps.sh
export SPORTELLO_TEST_DATABASE_URL="${SPORTELLO_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
cargo test --workspace --locked "$@"
