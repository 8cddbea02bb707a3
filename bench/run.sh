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

cargo build --quiet $PROFILE_FLAG --bin portcullis --example load --example floors --example mint
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
# The limits stay on, so every request is counted as in production, but far above what one
# address sends here: the load comes from one address, the benchmark's.
export PORTCULLIS_RATE_LIMITS__TOKEN_PER_MINUTE=1000000000
# The password scenario checks far more passwords from one address than the sign-in rate allows.
export PORTCULLIS_RATE_LIMITS__LOGIN_PER_MINUTE=1000000000
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
# The crypto floors, measured before the server starts so nothing else runs.
FLOORS="$WORK/floors.json"
FLOOR_SECONDS=3
[ "$QUICK" = 1 ] && FLOOR_SECONDS=0.2
"$TARGET/examples/floors" --keys "$WORK/keys" --seconds "$FLOOR_SECONDS" >"$FLOORS"
"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/healthz')" 2>/dev/null && break
    sleep 0.1
done

peak_rss_mb() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status"; }
# CPU seconds the server has used so far (user + system), to tell the cores it got.
HZ="$(getconf CLK_TCK)"
cpu_s() { # <pid>: 0 when the process is not ours to see (MONGODB_URI elsewhere)
    if [ -n "$1" ] && [ -r "/proc/$1/stat" ]; then
        sed 's/.*) //' "/proc/$1/stat" | awk -v hz="$HZ" '{ printf "%.3f", ($12 + $13) / hz }'
    else
        echo 0
    fi
}
# Both processes' CPU seconds so far, "server database".
cpu_both() { echo "$(cpu_s "$SERVER_PID") $(cpu_s "${DB_PID:-}")"; }

run() { # <scenario> [connections] [seconds] [more load generator flags]
    "$LOAD" --url "http://127.0.0.1:$PORT" --scenario "$1" --seconds "${3:-$SECONDS_PER_SCENARIO}" \
        --connections "${2:-$CONNECTIONS}" --client-id bench --client-secret "$SECRET" \
        --username bench --password "$PASSWORD" "${@:4}"
}

# One result line: the load generator's, with the server's peak memory and the CPU seconds
# the server and the database used during the measurement.
record() { # <label> <load generator's line> <"server database" CPU s before>
    echo "$2" | python3 -c "
import json, sys
r = json.load(sys.stdin)
r['scenario'] = sys.argv[1]
r['peak_rss_mb'] = float(sys.argv[2])
before, after = sys.argv[3].split(), sys.argv[4].split()
r['server_cpu_s'] = float(after[0]) - float(before[0])
r['database_cpu_s'] = float(after[1]) - float(before[1])
print(json.dumps(r))" "$1" "$(peak_rss_mb)" "$3" "$(cpu_both)" >>"$RESULTS"
}

RESULTS="$WORK/results.jsonl"
for scenario in healthz me introspect client_credentials refresh code_flow password; do
    before="$(cpu_both)"
    line="$(run "$scenario")"
    record "$scenario" "$line" "$before"
done
# /api/me while a password-grant load runs beside it.
before="$(cpu_both)"
run password "$CONNECTIONS" >"$WORK/password-beside.json" &
BESIDE=$!
line="$(run me)"
wait "$BESIDE"
record "me (under password load)" "$line" "$before"
record "password (beside me)" "$(cat "$WORK/password-beside.json")" "$before"

# Many live tokens: a million distinct ones (BENCH_TOKENS), each presented once (unmeasured),
# then all in turn, to the protected API and to introspection.
TOKENS="${BENCH_TOKENS:-1000000}"
[ "$QUICK" = 1 ] && TOKENS=2000
"$TARGET/examples/mint" --keys "$WORK/keys" --issuer "$PORTCULLIS_ISSUER" --count "$TOKENS" \
    --out "$WORK/tokens.txt"
run warm "$CONNECTIONS" 0 --tokens-file "$WORK/tokens.txt" >/dev/null
for scenario in me introspect; do
    before="$(cpu_both)"
    line="$(run "$scenario" "$CONNECTIONS" "$SECONDS_PER_SCENARIO" --tokens-file "$WORK/tokens.txt")"
    record "$scenario ($TOKENS tokens)" "$line" "$before"
done

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

python3 "$ROOT/bench/report.py" "$RESULTS" "$DATABASE" "$QUICK" "$CONNECTIONS" "$SECONDS_PER_SCENARIO" "$SOAK" "$FLOORS"
