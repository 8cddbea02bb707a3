# Shared helpers for the run and test scripts (sourced, not executed): the local SecantusDB
# server that stands in for MongoDB on machines without one.

SECANTUS_VERSION="0.7.0b3"
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

# start_db PORT STORAGE LOGFILE: starts the server in the background, sets DB_PID, and waits
# until it accepts connections.
start_db() {
    local port="$1" storage="$2" log="$3"
    "$VENV/bin/secantusd-py" --host 127.0.0.1 --port "$port" --storage-path "$storage" \
        --log-level WARNING >"$log" 2>&1 &
    DB_PID=$!
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
