#!/usr/bin/env bash
# The benchmark: builds Portcullis and the load generator (release), starts a database (the
# Rust SecantusDB server, installed on first use, or MONGODB_URI when set) and the server, runs
# every scenario, prints a table and writes it to docs/benchmarks.md.
#
#   bench/run.sh            full run (10 s per scenario), writes docs/benchmarks.md
#   bench/run.sh --quick    1 s per scenario on a debug build, writes nothing (CI uses it to
#                           prove the benchmark works; its numbers mean nothing)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/db.sh"
cd "$ROOT"

QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
SECONDS_PER_SCENARIO="${BENCH_SECONDS:-10}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
PROFILE_FLAG="--release"
TARGET=target/release
if [ "$QUICK" = 1 ]; then
    SECONDS_PER_SCENARIO=1
    CONNECTIONS=4
    PROFILE_FLAG=""
    TARGET=target/debug
fi

WORK="$(mktemp -d -t portcullis-bench.XXXXXX)"
SERVER_PID=""
DB_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    stop_db
    rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --quiet $PROFILE_FLAG --bin portcullis --example load
BIN="$TARGET/portcullis"
LOAD="$TARGET/examples/load"

# The database.
if [ -n "${MONGODB_URI:-}" ]; then
    DATABASE="MONGODB_URI (${MONGODB_URI%%\?*})"
elif [ "$QUICK" = 1 ]; then
    ensure_secantus
    DB_PORT="$(free_port)"
    start_db "$DB_PORT" ":memory:" "$WORK/db.log"
    export MONGODB_URI="mongodb://127.0.0.1:$DB_PORT"
    DATABASE="SecantusDB (Python) in memory"
else
    ensure_secantus_rs
    DB_PORT="$(free_port)"
    start_db_rs "$DB_PORT" "$WORK/db" "$WORK/db.log"
    export MONGODB_URI="mongodb://127.0.0.1:$DB_PORT"
    DATABASE="SecantusDB (Rust, secantus-mdb $SECANTUS_RS_VERSION) on disk"
fi

# The server, with abuse limits out of the way of a single-address load.
PORT="$(free_port)"
export PORTCULLIS_DATABASE="bench_$$"
export PORTCULLIS_KEYS_DIR="$WORK/keys"
export PORTCULLIS_PORT="$PORT"
export PORTCULLIS_ISSUER="http://127.0.0.1:$PORT"
export PORTCULLIS_LOG=warn
export PORTCULLIS_RATE_LIMITS__TOKEN_PER_MINUTE=0
# The password scenario checks far more passwords from one address than the sign-in rate allows.
export PORTCULLIS_RATE_LIMITS__LOGIN_PER_MINUTE=0
export PORTCULLIS_LOCKOUT__THRESHOLD=1000000
"$BIN" keys generate >/dev/null
PASSWORD="bench-$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')"
printf '%s\n' "$PASSWORD" | "$BIN" user add bench --role admin >/dev/null
# The code flow asks for `openid`; the other grants ask for nothing and get the default scopes,
# which leave it out, so they issue no id token and stay comparable with earlier runs.
SECRET="$("$BIN" client add --name Bench --id bench --introspect \
    --grant-type password,refresh_token,client_credentials,authorization_code \
    --redirect-uri http://127.0.0.1:9/cb --scope openid,profile,data:read,data:write,admin \
    --default-scope profile,data:read,data:write,admin \
    | sed -n 's/^client_secret: //p')"
"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/healthz')" 2>/dev/null && break
    sleep 0.1
done

peak_rss_mb() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status"; }

run() {
    "$LOAD" --url "http://127.0.0.1:$PORT" --scenario "$1" --seconds "${3:-$SECONDS_PER_SCENARIO}" \
        --connections "${2:-$CONNECTIONS}" --client-id bench --client-secret "$SECRET" \
        --username bench --password "$PASSWORD"
}

RESULTS="$WORK/results.jsonl"
for scenario in healthz me introspect client_credentials refresh code_flow password; do
    line="$(run "$scenario")"
    echo "$line" | python3 -c "import json,sys; r=json.load(sys.stdin); r['peak_rss_mb']=float(sys.argv[1]); print(json.dumps(r))" "$(peak_rss_mb)" >>"$RESULTS"
done
# /api/me while a password-grant load runs beside it.
run password "$CONNECTIONS" >"$WORK/password-beside.json" &
BESIDE=$!
line="$(run me)"
wait "$BESIDE"
echo "$line" | python3 -c "import json,sys; r=json.load(sys.stdin); r['scenario']='me (under password load)'; r['peak_rss_mb']=float(sys.argv[1]); print(json.dumps(r))" "$(peak_rss_mb)" >>"$RESULTS"

# Soak: token refreshes and API calls together for a minute, the server's resident memory
# sampled every ten seconds; it must stay flat (full runs only).
SOAK="$WORK/soak.txt"
if [ "$QUICK" = 0 ]; then
    SOAK_SECONDS="${BENCH_SOAK_SECONDS:-60}"
    run refresh 4 "$SOAK_SECONDS" >/dev/null &
    SOAK_REFRESH=$!
    run me "$CONNECTIONS" "$SOAK_SECONDS" >/dev/null &
    SOAK_ME=$!
    for _ in $(seq 1 $((SOAK_SECONDS / 10))); do
        sleep 10
        awk '/VmRSS/ { printf "%.1f\n", $2 / 1024 }' "/proc/$SERVER_PID/status" >>"$SOAK"
    done
    wait "$SOAK_REFRESH" "$SOAK_ME"
fi

python3 "$ROOT/bench/report.py" "$RESULTS" "$DATABASE" "$QUICK" "$CONNECTIONS" "$SECONDS_PER_SCENARIO" "$SOAK"
