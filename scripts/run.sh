#!/usr/bin/env bash
# Runs Portcullis locally on 127.0.0.1:8000. Without MONGODB_URI it starts a local SecantusDB
# whose data lives in var/db (kept across restarts). The development run generates a signing
# key into keys/ when there is none and seeds a demo admin and client into an empty database.
# DEV_DB_PORT moves the local database off 27018 (not a PORTCULLIS_ variable: the server
# refuses unknown PORTCULLIS_* settings). The local database's address is recorded in
# var/dev.env while it runs, for ./scripts/portcullis: management commands in a second
# terminal reach the same database.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/db.sh"
cd "$ROOT"

if [ -z "${MONGODB_URI:-}" ]; then
    ensure_secantus
    mkdir -p var
    DB_PORT="${DEV_DB_PORT:-27018}"
    start_db "$DB_PORT" "$ROOT/var/db" "$ROOT/var/db.log"
    trap 'stop_db; rm -f "$ROOT/var/dev.env"' EXIT
    export MONGODB_URI="mongodb://127.0.0.1:$DB_PORT"
    printf 'MONGODB_URI=%s\n' "$MONGODB_URI" >"$ROOT/var/dev.env"
fi

cargo build --quiet --bin portcullis
./target/debug/portcullis serve --dev "$@"
