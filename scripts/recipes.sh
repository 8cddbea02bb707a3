# The pinned libraries the token-verification recipes use (examples/recipes/; sourced by the
# test script after db.sh): PyJWT in the project's virtualenv, jose in the Node recipe's own
# node_modules. Installed only when missing or at another version.

PYJWT_VERSION="2.10.1"
RECIPE_NODE="$ROOT/examples/recipes/node"

ensure_recipe_packages() {
    ensure_secantus
    if ! "$VENV/bin/python" -c "import jwt, cryptography, sys; sys.exit(jwt.__version__ != '$PYJWT_VERSION')" 2>/dev/null; then
        echo "installing PyJWT $PYJWT_VERSION into $VENV ..." >&2
        "$VENV/bin/pip" install --quiet --disable-pip-version-check "PyJWT[crypto]==$PYJWT_VERSION"
    fi
    local wanted installed=""
    wanted="$(python3 -c "import json; print(json.load(open('$RECIPE_NODE/package.json'))['dependencies']['jose'])")"
    if [ -f "$RECIPE_NODE/node_modules/jose/package.json" ]; then
        installed="$(python3 -c "import json; print(json.load(open('$RECIPE_NODE/node_modules/jose/package.json'))['version'])")"
    fi
    if [ "$installed" != "$wanted" ]; then
        echo "installing jose $wanted into $RECIPE_NODE/node_modules ..." >&2
        npm install --silent --no-audit --no-fund --no-package-lock --prefix "$RECIPE_NODE" >/dev/null
    fi
}
