#!/usr/bin/env bash
# Runs every check: formatting, lints, and the whole test suite against a real database server
# started on a free port (and stopped afterwards, whatever the outcome).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/db.sh"
cd "$ROOT"

command -v openssl >/dev/null || { apt-get update -qq && apt-get install -y -qq openssl; }
ensure_secantus

cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings

DB_PORT="$(free_port)"
DB_LOG="$(mktemp -t portcullis-test-db.XXXXXX.log)"
start_db "$DB_PORT" ":memory:" "$DB_LOG"
trap 'stop_db; rm -f "$DB_LOG"' EXIT

export TEST_MONGODB_URI="mongodb://127.0.0.1:$DB_PORT"
cargo test --all-targets "$@"
