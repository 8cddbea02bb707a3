#!/usr/bin/env bash
# Portcullis beside its peers: node-oidc-provider, @node-oauth/oauth2-server and a Flask +
# flask-jwt-extended server (bench/peers/), each run alone on the same database server (the
# Rust SecantusDB, installed on first use), driven by the same load generator (bench/load.rs)
# with the same connections and seconds. Writes its section of docs/benchmarks.md (between the
# peers markers). Not part of the test command: it installs the peers (npm, a virtualenv) and
# takes about five minutes.
#
#   bench/peers.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/db.sh"
cd "$ROOT"

SECONDS_PER_SCENARIO="${BENCH_SECONDS:-10}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
PEERS="$ROOT/bench/peers"
PEERS_VENV="$PEERS/.venv"
command -v node >/dev/null && command -v npm >/dev/null ||
    { echo "error: bench/peers.sh needs Node.js and npm" >&2; exit 1; }

WORK="$(mktemp -d -t portcullis-peers.XXXXXX)"
SERVER_PID=""
DB_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        # The whole tree: gunicorn's workers too.
        pkill -TERM -P "$SERVER_PID" 2>/dev/null || true
        kill "$SERVER_PID" 2>/dev/null || true
        # A server killed by the signal exits non-zero; that is expected here.
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
    return 0
}
cleanup() {
    stop_server
    stop_db
    rm -rf "$WORK"
}
trap cleanup EXIT

# The peers, pinned: npm packages from the lock file, Python packages from requirements.txt.
if ! cmp -s "$PEERS/package-lock.json" "$PEERS/node_modules/.installed-lock.json" 2>/dev/null; then
    echo "installing the Node peers into bench/peers/node_modules ..." >&2
    (cd "$PEERS" && npm ci --no-audit --no-fund --silent &&
        cp package-lock.json node_modules/.installed-lock.json)
fi
if ! [ -x "$PEERS_VENV/bin/gunicorn" ] ||
    ! diff -q <(grep -v '^#' "$PEERS/requirements.txt") <("$PEERS_VENV/bin/pip" freeze) >/dev/null; then
    echo "installing the Flask peer into bench/peers/.venv ..." >&2
    python3 -m venv "$PEERS_VENV"
    "$PEERS_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$PEERS/requirements.txt"
fi
ensure_secantus_rs
cargo build --quiet --release --bin portcullis --example load
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release/portcullis"
LOAD="$TARGET_DIR/release/examples/load"
# The opt-in AWS-LC signer, built beside the default one (a target folder of its own, so
# neither build replaces the other).
echo "building Portcullis with --features aws-lc-rs ..." >&2
cargo build --quiet --release --bin portcullis --features aws-lc-rs \
    --target-dir "$TARGET_DIR/aws-lc-rs"
BIN_AWS_LC="$TARGET_DIR/aws-lc-rs/release/portcullis"

DB_PORT="$(free_port)"
start_db_rs "$DB_PORT" "$WORK/db" "$WORK/db.log"
URI="mongodb://127.0.0.1:$DB_PORT"
PASSWORD="bench-$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')"

# The server's process and its children (gunicorn's workers).
tree() { # <pid>
    echo "$1"
    local child
    for child in $(pgrep -P "$1" || true); do tree "$child"; done
}
# Peak resident memory of the server's processes, summed (MB).
peak_rss_mb() {
    local pid
    for pid in $(tree "$SERVER_PID"); do
        awk '/VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true
    done | awk '{ kb += $1 } END { printf "%.1f", kb / 1024 }'
}
HZ="$(getconf CLK_TCK)"
# CPU seconds the server's processes have used so far (user + system).
cpu_s() {
    local pid
    for pid in $(tree "$SERVER_PID"); do
        sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null || true
    done | awk -v hz="$HZ" '{ s += $12 + $13 } END { printf "%.3f", s / hz }'
}

wait_for_port() { # <port>: up to 60 s
    for _ in $(seq 1 600); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "error: the server exited" >&2; return 1; }
        sleep 0.1
    done
    echo "error: nothing listens on $1" >&2
    return 1
}

RESULTS="$WORK/results.jsonl"
# measure <server> <scenario>[:<name in the results>] [load generator flags]: one scenario,
# one result line.
measure() {
    local server="$1" scenario="${2%%:*}" name="${2#*:}" before line
    shift 2
    before="$(cpu_s)"
    line="$("$LOAD" --url "http://127.0.0.1:$PORT" --scenario "$scenario" \
        --seconds "$SECONDS_PER_SCENARIO" --connections "$CONNECTIONS" \
        --username bench --password "$PASSWORD" "$@")"
    echo "$line" | python3 -c "
import json, sys
r = json.load(sys.stdin)
r.update(server=sys.argv[1], scenario=sys.argv[2], server_cpu_s=float(sys.argv[4]) - float(sys.argv[3]))
print(json.dumps(r))
print(f'  {r[\"server\"]} {r[\"scenario\"]}: {r[\"rps\"]:,.0f}/s, {r[\"errors\"]} errors', file=sys.stderr)
" "$server" "$name" "$before" "$(cpu_s)" >>"$RESULTS"
}
# The server's peak memory over all its scenarios (over its processes, when it ran more than
# one after another: the report keeps the largest).
memory() { # <server>
    echo "{\"server\": \"$1\", \"scenario\": \"peak_rss\", \"peak_rss_mb\": $(peak_rss_mb)}" >>"$RESULTS"
}

# Portcullis, configured as bench/run.sh configures it.
echo "Portcullis ..." >&2
(
    export MONGODB_URI="$URI" PORTCULLIS_DATABASE="peers_portcullis" PORTCULLIS_KEYS_DIR="$WORK/keys"
    "$BIN" keys generate >/dev/null
    printf '%s\n' "$PASSWORD" | "$BIN" user add bench --role admin >/dev/null
    "$BIN" client add --name Bench --id bench --introspect \
        --grant-type password,refresh_token,client_credentials \
        --scope profile,data:read --default-scope profile,data:read |
        sed -n 's/^client_secret: //p' >"$WORK/portcullis-secret"
)
serve_portcullis() { # <binary>
    PORT="$(free_port)"
    MONGODB_URI="$URI" PORTCULLIS_DATABASE="peers_portcullis" PORTCULLIS_KEYS_DIR="$WORK/keys" \
        PORTCULLIS_PORT="$PORT" PORTCULLIS_ISSUER="http://127.0.0.1:$PORT" PORTCULLIS_LOG=warn \
        PORTCULLIS_RATE_LIMITS__TOKEN_PER_MINUTE=1000000000 \
        PORTCULLIS_RATE_LIMITS__LOGIN_PER_MINUTE=1000000000 \
        PORTCULLIS_LOCKOUT__THRESHOLD=1000000 \
        "$1" serve >>"$WORK/portcullis.log" 2>&1 &
    SERVER_PID=$!
    wait_for_port "$PORT"
}
serve_portcullis "$BIN"
SECRET="$(cat "$WORK/portcullis-secret")"
for scenario in me jwks introspect client_credentials refresh password; do
    measure Portcullis "$scenario" --client-id bench --client-secret "$SECRET"
done
memory Portcullis
stop_server
# The same database, keys and client; only the signing library differs.
serve_portcullis "$BIN_AWS_LC"
for scenario in client_credentials refresh; do
    measure "Portcullis, aws-lc-rs" "$scenario" --client-id bench --client-secret "$SECRET"
done
memory "Portcullis, aws-lc-rs"
stop_server

# serve_node <script in bench/peers> [its arguments after the port]: one Node peer on a free
# port, its output appended to a log of its own.
serve_node() {
    local script="$1"
    shift
    PORT="$(free_port)"
    node "$PEERS/$script" "$PORT" "$@" >>"$WORK/$script.log" 2>&1 &
    SERVER_PID=$!
    wait_for_port "$PORT"
}

# node-oidc-provider: no password grant, so its tokens are minted before it listens.
echo "node-oidc-provider ..." >&2
mkdir -p "$WORK/oidc-provider"
serve_node oidc_provider.mjs "$URI" "$WORK/oidc-provider" "$CONNECTIONS"
SECRET="$(cat "$WORK/oidc-provider/secret.txt")"
OP=(--client-id bench --client-secret "$SECRET" --token-path /token --me-path /me
    --introspect-path /token/introspection --jwks-path /jwks)
measure oidc-provider me "${OP[@]}" --tokens-file "$WORK/oidc-provider/access.txt"
measure oidc-provider jwks "${OP[@]}"
measure oidc-provider introspect "${OP[@]}" --tokens-file "$WORK/oidc-provider/access.txt"
measure oidc-provider client_credentials "${OP[@]}"
measure oidc-provider refresh "${OP[@]}" --refresh-file "$WORK/oidc-provider/refresh.txt"
memory oidc-provider
stop_server
# Again with client credentials for a resource server whose access tokens are RS256 JWTs, the
# format Portcullis issues: the same signature on both sides.
serve_node oidc_provider.mjs "$URI" "$WORK/oidc-provider" "$CONNECTIONS" jwt
SECRET="$(cat "$WORK/oidc-provider/secret.txt")"
OP=(--client-id bench --client-secret "$SECRET" --token-path /token)
measure oidc-provider client_credentials:client_credentials_jwt "${OP[@]}"
memory oidc-provider
stop_server

echo "node-oauth2-server ..." >&2
mkdir -p "$WORK/oauth2-server"
serve_node oauth2_server.js "$URI" "$PASSWORD" "$WORK/oauth2-server"
SECRET="$(cat "$WORK/oauth2-server/secret.txt")"
for scenario in me client_credentials refresh password; do
    measure node-oauth2-server "$scenario" --client-id bench --client-secret "$SECRET"
done
memory node-oauth2-server
stop_server

# Flask: two gunicorn workers (one a core) of eight threads.
echo "Flask ..." >&2
PORT="$(free_port)"
(
    cd "$PEERS"
    PEER_MONGODB_URI="$URI" PEER_DATABASE=peers_flask PEER_PASSWORD="$PASSWORD" \
        PEER_JWT_SECRET="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')" \
        exec "$PEERS_VENV/bin/gunicorn" --bind "127.0.0.1:$PORT" --workers 2 \
        --worker-class gthread --threads 8 --no-control-socket --log-level warning flask_app:app
) >"$WORK/flask.log" 2>&1 &
SERVER_PID=$!
wait_for_port "$PORT"
for scenario in me refresh password; do
    measure Flask "$scenario" --token-path /token
done
memory Flask
stop_server

python3 "$ROOT/bench/peers_report.py" "$RESULTS" "$CONNECTIONS" "$SECONDS_PER_SCENARIO" \
    "$(node --version)"
