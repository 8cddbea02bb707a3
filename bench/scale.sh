#!/usr/bin/env bash
# The capacity benchmark: how the cost of signing in, of the protected API and of refresh-token
# rotation grows with the data behind them, how much memory and start-up time the revocation
# set costs, and how fast a revocation reaches a second instance. Writes its section of
# docs/benchmarks.md (between the scale markers, which bench/report.py keeps) and
# docs/benchmarks-scale.png.
#
#   bench/scale.sh
#
# Run time on the 2-core reference machine: 7 to 12 minutes (about 2 seeding 1.3 million
# documents, up to 5 waiting for the machine to be quiet, about 5 measuring), plus, on first
# use, 15 to 30 minutes building the Rust SecantusDB server and the release binaries. Not run
# by CI.
#
# Two databases on one Rust SecantusDB server, seeded first (so seeding never overlaps a
# measurement), then measured one after the other with the release load generator:
#   small: SCALE_SMALL users, refresh-token families and revoked access tokens (10,000 each)
#   large: SCALE_USERS users (200,000), SCALE_FAMILIES families (100,000) and
#          SCALE_REVOCATIONS revocations (1,000,000)
# Settings: BENCH_SECONDS (10 per measurement), BENCH_CONNECTIONS (16), SCALE_ROUNDS (20
# propagation rounds per mode), SCALE_QUIET_LOAD (1.5) and SCALE_QUIET_WAIT (300 s): before
# measuring, wait at most that long for the 1-minute load average to fall below that.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/db.sh"
cd "$ROOT"

SECONDS_PER_POINT="${BENCH_SECONDS:-10}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
SMALL="${SCALE_SMALL:-10000}"
LARGE_USERS="${SCALE_USERS:-200000}"
LARGE_FAMILIES="${SCALE_FAMILIES:-100000}"
LARGE_REVOCATIONS="${SCALE_REVOCATIONS:-1000000}"
ROUNDS="${SCALE_ROUNDS:-20}"
QUIET_LOAD="${SCALE_QUIET_LOAD:-1.5}"
QUIET_WAIT="${SCALE_QUIET_WAIT:-300}"
# Long enough for the slowest start-up measured (the revocation set loads before the server
# listens); a server that takes longer has failed this benchmark.
START_LIMIT=600
BENCH_VENV="$ROOT/bench/.venv"
PYMONGO_VERSION="4.18.2"
MATPLOTLIB_VERSION="3.10.9"
USER_PREFIX="scale-user-"
FAMILY_PREFIX="scale-family-"
# Has 0, 1 and m in it, so the seeder's skeleton is checked against the server's on them.
TEMPLATE_USER="scale-template-m01"

command -v curl >/dev/null || { echo "error: bench/scale.sh needs curl" >&2; exit 1; }

WORK="$(mktemp -d -t portcullis-scale.XXXXXX)"
SERVERS=()
DB_PID=""
cleanup() {
    for pid in "${SERVERS[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    stop_db
    rm -rf "$WORK"
}
trap cleanup EXIT

# The bench's own virtualenv: pymongo to seed, matplotlib to plot.
ensure_bench_venv() {
    local wanted="pymongo==$PYMONGO_VERSION matplotlib==$MATPLOTLIB_VERSION"
    if [ -x "$BENCH_VENV/bin/python" ] && [ "$("$BENCH_VENV/bin/pip" freeze 2>/dev/null |
        grep -cxE "pymongo==$PYMONGO_VERSION|matplotlib==$MATPLOTLIB_VERSION")" = 2 ]; then
        return
    fi
    echo "installing $wanted into $BENCH_VENV ..." >&2
    python3 -m venv "$BENCH_VENV"
    # shellcheck disable=SC2086 # two requirements, split on purpose
    "$BENCH_VENV/bin/pip" install --quiet --disable-pip-version-check $wanted
}

ensure_secantus_rs
ensure_bench_venv
PY="$BENCH_VENV/bin/python"
cargo build --quiet --release --bin portcullis --example load --example propagation
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release/portcullis"
LOAD="$TARGET_DIR/release/examples/load"
PROPAGATION="$TARGET_DIR/release/examples/propagation"

DB_PORT="$(free_port)"
start_db_rs "$DB_PORT" "$WORK/db" "$WORK/db.log"
export MONGODB_URI="mongodb://127.0.0.1:$DB_PORT"
DATABASE="SecantusDB (Rust, secantus-mdb $SECANTUS_RS_VERSION) on disk"

# The servers, with abuse limits out of the way of a single-address load.
export PORTCULLIS_KEYS_DIR="$WORK/keys"
export PORTCULLIS_LOG=warn
export PORTCULLIS_RATE_LIMITS__TOKEN_PER_MINUTE=0
export PORTCULLIS_RATE_LIMITS__LOGIN_PER_MINUTE=0
export PORTCULLIS_LOCKOUT__THRESHOLD=1000000
"$BIN" keys generate >/dev/null
PASSWORD="scale-$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')"
# In target/ (not committed), so a failed run's measurements can still be read.
RESULTS="$TARGET_DIR/scale-results.jsonl"
: >"$RESULTS"

# record JSON FIELD=VALUE...: appends the JSON object, with the fields added, to the results.
record() {
    python3 -c 'import json, sys
row = json.loads(sys.argv[1])
for pair in sys.argv[2:]:
    name, value = pair.split("=", 1)
    try:
        row[name] = json.loads(value)
    except ValueError:
        row[name] = value
print(json.dumps(row))' "$@" >>"$RESULTS"
}

# The server's resident and peak resident memory (MB), as JSON fields for `record`.
memory_of() {
    awk '/VmRSS|VmHWM/ { printf "%s=%.1f ", ($1 == "VmRSS:" ? "rss_mb" : "peak_rss_mb"), $2 / 1024 }' \
        "/proc/$1/status"
}

load1() { cut -d' ' -f1 /proc/loadavg; }

# The status /readyz answers (503 while the revocation set is stale).
readyz() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz"; }

# start_server NAME PORT [VAR=VALUE...]: starts `portcullis serve` on PORT with the extra
# environment, waits until it answers /healthz (the revocation set is loaded before it
# listens), and sets SERVER_PID and STARTUP_S (seconds until it answered).
start_server() {
    local name="$1" port="$2"
    shift 2
    local started
    started="$(date +%s.%N)"
    env PORTCULLIS_PORT="$port" PORTCULLIS_ISSUER="http://127.0.0.1:$port" "$@" \
        "$BIN" serve >"$WORK/$name.log" 2>&1 &
    SERVER_PID=$!
    SERVERS+=("$SERVER_PID")
    for _ in $(seq 1 $((START_LIMIT * 10))); do
        if curl -fs -o /dev/null "http://127.0.0.1:$port/healthz"; then
            STARTUP_S="$(python3 -c "import sys; print(round($(date +%s.%N) - $started, 2))")"
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "error: the server $name exited; its log:" >&2
            cat "$WORK/$name.log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "error: the server $name did not answer within $START_LIMIT s" >&2
    return 1
}

stop_server() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local kept=()
    for pid in "${SERVERS[@]}"; do
        [ "$pid" = "$1" ] || kept+=("$pid")
    done
    SERVERS=("${kept[@]}")
}

# wait_for_sync PORT MODE: waits until the instance reports following revocations by MODE.
wait_for_sync() {
    for _ in $(seq 1 300); do
        curl -fs "http://127.0.0.1:$1/readyz" | grep -q "\"revocations_sync\":\"$2\"" && return 0
        sleep 0.1
    done
    echo "error: the instance on port $1 does not follow revocations by $2" >&2
    return 1
}

# password_grant PORT SECRET USERNAME: the token endpoint's JSON answer.
password_grant() {
    curl -fsS -u "bench:$2" "http://127.0.0.1:$1/oauth/token" \
        --data-urlencode grant_type=password --data-urlencode "username=$3" \
        --data-urlencode "password=$PASSWORD"
}

# prepare DB: the template user, the bench client and, through a running server, one refresh
# family and one revoked access token for the seeder to copy. Sets SECRET_<DB>.
prepare() {
    local db="$1" port secret token
    export PORTCULLIS_DATABASE="scale_$db"
    printf '%s\n' "$PASSWORD" | "$BIN" user add "$TEMPLATE_USER" >/dev/null
    secret="$("$BIN" client add --name Bench --id bench \
        --grant-type password,refresh_token --scope profile,data:read \
        --default-scope profile,data:read | sed -n 's/^client_secret: //p')"
    port="$(free_port)"
    start_server "prepare-$db" "$port"
    token="$(password_grant "$port" "$secret" "$TEMPLATE_USER" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')"
    curl -fsS -u "bench:$secret" "http://127.0.0.1:$port/oauth/revoke" \
        --data-urlencode "token=$token" --data-urlencode token_type_hint=access_token
    stop_server "$SERVER_PID"
    printf -v "SECRET_$db" '%s' "$secret"
}

# seeded DB: records each line the seeder prints as a seeding of that database.
seeded() { while read -r line; do record "$line" kind=seed "db=$1"; done; }

# seed DB USERS FAMILIES REVOCATIONS: fills the database to those totals (the template's own
# user and revocation count towards them).
seed() {
    local db="scale_$1"
    "$PY" bench/seed.py users "$MONGODB_URI" "$db" "$TEMPLATE_USER" "$USER_PREFIX" \
        0 $(($2 - 1)) | seeded "$1"
    "$PY" bench/seed.py families "$MONGODB_URI" "$db" "$TEMPLATE_USER" "$FAMILY_PREFIX" \
        0 "$3" "$USER_PREFIX" $(($2 - 1)) | seeded "$1"
    "$PY" bench/seed.py revocations "$MONGODB_URI" "$db" 0 $(($4 - 1)) | seeded "$1"
}

# What each database holds when it is measured, counted by the database.
count() {
    "$PY" - "$MONGODB_URI" "scale_$1" <<'EOF' | while read -r line; do record "$line" kind=counts "db=$1"; done
import datetime, json, sys
from pymongo import MongoClient
db = MongoClient(sys.argv[1])[sys.argv[2]]
now = datetime.datetime.now(datetime.timezone.utc)
print(json.dumps({
    "users": db.users.count_documents({}),
    "families": db.refresh_families.count_documents(
        {"revoked": False, "current_expires_at": {"$gt": now}, "expires_at": {"$gt": now}}),
    "revocations": db.revocations.count_documents({"expires_at": {"$gt": now}}),
}))
EOF
}

# run PORT SECRET SCENARIO [ARGS...]: one measurement with the load generator.
run() {
    local port="$1" secret="$2" scenario="$3"
    shift 3
    "$LOAD" --url "http://127.0.0.1:$port" --scenario "$scenario" --seconds "$SECONDS_PER_POINT" \
        --connections "$CONNECTIONS" --client-id bench --client-secret "$secret" \
        --username "$TEMPLATE_USER" --password "$PASSWORD" "$@"
}

# measure DB USERS: starts a server on the database (once more with a longer database time
# limit if the revocation set did not load within the default one), then measures /api/me,
# refresh rotation and the password grant, in that order so /api/me's memory is not the
# Argon2 pool's.
measure() {
    local db="$1" users="$2" port secret loaded=true
    secret="SECRET_$db"
    secret="${!secret}"
    export PORTCULLIS_DATABASE="scale_$db"
    count "$db"
    port="$(free_port)"
    start_server "$db" "$port"
    if grep -q "could not load revocations at start" "$WORK/$db.log"; then
        loaded=false
    fi
    # 3000 ms: the default database_timeout_ms, which bounds the load of the whole set.
    record "{}" kind=start "db=$db" "startup_s=$STARTUP_S" timeout_ms=3000 "loaded=$loaded" \
        "readyz=$(readyz "$port")" $(memory_of "$SERVER_PID")
    if [ "$loaded" = false ]; then
        # Reported as it is; the measurements need the set loaded, so once more with room.
        stop_server "$SERVER_PID"
        start_server "$db-longer-limit" "$port" PORTCULLIS_DATABASE_TIMEOUT_MS=120000
        loaded=true
        grep -q "could not load revocations at start" "$WORK/$db-longer-limit.log" && loaded=false
        record "{}" kind=start "db=$db" "startup_s=$STARTUP_S" timeout_ms=120000 "loaded=$loaded" \
            "readyz=$(readyz "$port")" $(memory_of "$SERVER_PID")
    fi
    local pid="$SERVER_PID"
    record "$(run "$port" "$secret" me)" kind=load "db=$db" "load1=$(load1)" $(memory_of "$pid")
    record "$(run "$port" "$secret" refresh --families "$(families_of "$db")" \
        --family-prefix "$FAMILY_PREFIX")" kind=load "db=$db" "load1=$(load1)" $(memory_of "$pid")
    record "$(run "$port" "$secret" password --users $((users - 1)) --user-prefix "$USER_PREFIX")" \
        kind=load "db=$db" "load1=$(load1)" $(memory_of "$pid")
    stop_server "$pid"
}

families_of() { [ "$1" = small ] && echo "$SMALL" || echo "$LARGE_FAMILIES"; }

# propagation: two instances on the small database; the time a revocation on A takes to be
# refused by B, through the change stream and through the poll.
propagation() {
    local secret="$SECRET_small" a b mode pid_a pid_b
    export PORTCULLIS_DATABASE="scale_small"
    for mode in auto poll; do
        a="$(free_port)"
        start_server "propagation-a-$mode" "$a" PORTCULLIS_REVOCATION_SYNC="$mode"
        pid_a="$SERVER_PID"
        b="$(free_port)"
        # One fleet, one issuer: B accepts A's tokens.
        start_server "propagation-b-$mode" "$b" PORTCULLIS_REVOCATION_SYNC="$mode" \
            PORTCULLIS_ISSUER="http://127.0.0.1:$a"
        pid_b="$SERVER_PID"
        local expected=poll
        [ "$mode" = auto ] && expected=change_stream
        wait_for_sync "$a" "$expected"
        wait_for_sync "$b" "$expected"
        record "$("$PROPAGATION" --url-a "http://127.0.0.1:$a" --url-b "http://127.0.0.1:$b" \
            --rounds "$ROUNDS" --client-id bench --client-secret "$secret" \
            --username "$TEMPLATE_USER" --password "$PASSWORD")" \
            kind=propagation "sync=$mode" "followed_by=$expected" "load1=$(load1)"
        stop_server "$pid_a"
        stop_server "$pid_b"
    done
}

started_at="$(date +%s)"
prepare small
prepare large
seed small "$SMALL" "$SMALL" "$SMALL"
seed large "$LARGE_USERS" "$LARGE_FAMILIES" "$LARGE_REVOCATIONS"

# The machine is shared: let the load from seeding (and anything else) settle first.
waited=0
while python3 -c "import sys; sys.exit(0 if float('$(load1)') >= $QUIET_LOAD else 1)" &&
    [ "$waited" -lt "$QUIET_WAIT" ]; do
    sleep 10
    waited=$((waited + 10))
done
record "{}" kind=quiet "waited_s=$waited" "load1=$(load1)"

measure small "$SMALL"
measure large "$LARGE_USERS"
propagation
record "{}" kind=total "seconds=$(($(date +%s) - started_at))"

"$PY" bench/scale_report.py "$RESULTS" "$DATABASE" "$CONNECTIONS" "$SECONDS_PER_POINT"
