# Shared helpers for the run and test scripts (sourced, not executed): the local SecantusDB
# server that stands in for MongoDB on machines without one.

SECANTUS_VERSION="0.7.0b3"
# The Rust build of the same server: much faster on large collections (the benchmarks use it).
SECANTUS_RS_VERSION="0.5.3-beta.196"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

# Installs SecantusDB into the project's virtualenv on first use.
ensure_secantus() {
    local installed=""
    if [ -x "$VENV/bin/secantusd-py" ]; then
        installed="$("$VENV/bin/pip" show SecantusDB 2>/dev/null | sed -n 's/^Version: //p')"
    fi
    [ "$installed" = "$SECANTUS_VERSION" ] && return
    echo "installing SecantusDB $SECANTUS_VERSION into $VENV ..." >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "SecantusDB==$SECANTUS_VERSION"
}

# Prints a free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Installs the Rust SecantusDB server (`secantusd-rs`) with cargo on first use. It builds
# for several minutes and needs cmake.
ensure_secantus_rs() {
    if cargo install --list 2>/dev/null | grep -q "^secantus-mdb v$SECANTUS_RS_VERSION:"; then
        return
    fi
    if ! command -v cmake >/dev/null; then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        $sudo apt-get update -qq && $sudo apt-get install -y -qq cmake >/dev/null
    fi
    echo "installing the Rust SecantusDB server $SECANTUS_RS_VERSION (one-time, several minutes) ..." >&2
    # In a temporary target folder of its own, not the project's.
    env -u CARGO_TARGET_DIR cargo install --quiet secantus-mdb --version "$SECANTUS_RS_VERSION" \
        --ignore-rust-version
}

# start_db PORT STORAGE LOGFILE: starts the Python server in the background, sets DB_PID, and
# waits until it accepts connections.
start_db() {
    local port="$1" storage="$2" log="$3"
    "$VENV/bin/secantusd-py" --host 127.0.0.1 --port "$port" --storage-path "$storage" \
        --log-level WARNING >"$log" 2>&1 &
    DB_PID=$!
    wait_for_db "$port" "$log"
}

# start_db_rs PORT STORAGE LOGFILE: the same with the Rust server (`ensure_secantus_rs` first).
start_db_rs() {
    local port="$1" storage="$2" log="$3"
    secantusd-rs --host 127.0.0.1 --port "$port" --storage-path "$storage" >"$log" 2>&1 &
    DB_PID=$!
    wait_for_db "$port" "$log"
}

# wait_for_db PORT LOGFILE: waits up to 30 s for the server started as DB_PID to listen.
wait_for_db() {
    local port="$1" log="$2"
    for _ in $(seq 1 300); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$DB_PID" 2>/dev/null; then
            echo "error: the database server exited; its log:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "error: the database server did not start listening on port $port" >&2
    return 1
}

stop_db() {
    if [ -n "${DB_PID:-}" ] && kill -0 "$DB_PID" 2>/dev/null; then
        kill "$DB_PID" 2>/dev/null
        wait "$DB_PID" 2>/dev/null || true
    fi
}
