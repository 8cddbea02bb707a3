#!/usr/bin/env bash
# Runs every check: formatting, lints, and the whole test suite against a real database server
# started on a free port (and stopped afterwards, whatever the outcome).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/db.sh"
source "$(dirname "${BASH_SOURCE[0]}")/recipes.sh"
cd "$ROOT"

# Debian packages the tests need: openssl (key generation), Chromium and its WebDriver (the
# browser test), Node and npm (the Node recipe, the OpenID Connect relying party). Installed only
# when missing.
missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
# Node and npm for the Node recipe's test (tests/integration/recipes.rs) and openid-client
# (tests/integration/oidc/relying_party.rs).
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing ${missing[*]} ..." >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
ensure_secantus
# PyJWT and jose for the recipes' test, openid-client for the relying party's.
ensure_recipe_packages

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The opt-in AWS-LC signer (the `aws-lc-rs` feature) is linted and tested on its own below.
cargo clippy -p portcullis-kit --features aws-lc-rs --all-targets --quiet -- -D warnings

DB_PORT="$(free_port)"
DB_LOG="$(mktemp -t portcullis-test-db.XXXXXX.log)"
start_db "$DB_PORT" ":memory:" "$DB_LOG"
trap 'stop_db; rm -f "$DB_LOG"' EXIT

export TEST_MONGODB_URI="mongodb://127.0.0.1:$DB_PORT"

# The OpenAPI contract, fuzzed against a live server (schemathesis).
MONGODB_URI="$TEST_MONGODB_URI" ./scripts/contract.sh

# The benchmark, one second per scenario, only to prove it runs (numbers live in bench/).
MONGODB_URI="$TEST_MONGODB_URI" ./bench/run.sh --quick

# The example resource server, as a program: the kit's end-to-end test runs it beside Portcullis
# (`cargo test` builds examples only as test targets, under hashed names).
cargo build --quiet --workspace --example resource_server

TEST_LOG="$(mktemp -t portcullis-test.XXXXXX.log)"
trap 'stop_db; rm -f "$DB_LOG" "$TEST_LOG"' EXIT
cargo test --workspace --all-targets "$@" 2>&1 | tee "$TEST_LOG"
# Tokens signed by AWS-LC are byte for byte ring's, and verify.
cargo test -p portcullis-kit --features aws-lc-rs --lib crypto 2>&1 | tee -a "$TEST_LOG"

# One closing line for every test binary together (the last binary cargo runs, the benchmark's
# load generator, has no tests of its own).
python3 - "$TEST_LOG" <<'PY'
import re, sys
passed = failed = 0
for line in open(sys.argv[1], errors="replace"):
    match = re.match(r"test result: \w+\. (\d+) passed; (\d+) failed", line)
    if match:
        passed += int(match.group(1))
        failed += int(match.group(2))
print(f"total: {passed} passed, {failed} failed")
PY
