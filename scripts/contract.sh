#!/usr/bin/env bash
# The OpenAPI contract check: runs schemathesis against a live Portcullis (the debug binary, on
# a free port, against the database at MONGODB_URI) with a real client's credentials and an
# admin token, and fails on any 5xx, any undocumented status or content type, and any response
# or header that does not match openapi/portcullis.json.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/db.sh"
cd "$ROOT"
: "${MONGODB_URI:?MONGODB_URI must point at a running database}"

SCHEMATHESIS_VERSION="4.32.5"
if [ "$("$VENV/bin/pip" show schemathesis 2>/dev/null | sed -n 's/^Version: //p')" != "$SCHEMATHESIS_VERSION" ]; then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

WORK="$(mktemp -d -t portcullis-contract.XXXXXX)"
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT="$(free_port)"
export PORTCULLIS_DATABASE="contract_$$"
export PORTCULLIS_KEYS_DIR="$WORK/keys"
export PORTCULLIS_PORT="$PORT"
export PORTCULLIS_ISSUER="http://127.0.0.1:$PORT"
export PORTCULLIS_SELF_REGISTRATION=true
export PORTCULLIS_LOG=warn
BIN=./target/debug/portcullis
cargo build --quiet --bin portcullis

"$BIN" keys generate >/dev/null
ADMIN_PASSWORD="contract-$(python3 -c 'import secrets; print(secrets.token_urlsafe(16))')"
printf '%s\n' "$ADMIN_PASSWORD" | "$BIN" user add contract-admin --role admin >/dev/null
SECRET="$("$BIN" client add --name Contract --id contract --introspect \
    --grant-type password,refresh_token,client_credentials \
    --scope openid,profile,email,profile:write,data:read,data:write,admin \
    | sed -n 's/^client_secret: //p')"

"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/healthz')" 2>/dev/null && break
    sleep 0.1
done

ACCESS_TOKEN="$(python3 - "$PORT" "$SECRET" "$ADMIN_PASSWORD" <<'PY'
import base64, json, sys, urllib.parse, urllib.request
port, secret, password = sys.argv[1:]
body = urllib.parse.urlencode({"grant_type": "password", "username": "contract-admin", "password": password}).encode()
request = urllib.request.Request(f"http://127.0.0.1:{port}/oauth/token", data=body)
request.add_header("Authorization", "Basic " + base64.b64encode(f"contract:{secret}".encode()).decode())
print(json.load(urllib.request.urlopen(request))["access_token"])
PY
)"

cat >"$WORK/schemathesis.toml" <<TOML
[auth.openapi.clientBasic]
username = "contract"
password = "\${CONTRACT_CLIENT_SECRET}"

[auth.openapi.bearerAuth]
bearer = "\${CONTRACT_ACCESS_TOKEN}"
TOML
export CONTRACT_CLIENT_SECRET="$SECRET" CONTRACT_ACCESS_TOKEN="$ACCESS_TOKEN"

# Operations that could end the run's own credentials (logout, ending the admin's sessions or
# resetting its password, changing, re-keying or deleting the contract client) and key
# generation (an RSA key per call) are left out;
# the Rust tests cover each of them. One worker: the generator's Python (3.11) can fail inside
# `compile` when two threads build strategies at once.
"$VENV/bin/schemathesis" --config-file "$WORK/schemathesis.toml" run \
    "http://127.0.0.1:$PORT/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --exclude-operation-id logout \
    --exclude-operation-id adminEndSessions \
    --exclude-operation-id adminResetPassword \
    --exclude-operation-id adminUpdateClient \
    --exclude-operation-id adminRotateClientSecret \
    --exclude-operation-id adminDeleteClient \
    --exclude-operation-id adminGenerateKey \
    --exclude-operation-id adminRotateKey \
    --phases examples,coverage,fuzzing \
    --max-examples "${CONTRACT_MAX_EXAMPLES:-40}" \
    --workers 1 \
    --seed 20261126 \
    --no-color \
    --report-dir "$WORK/report"
