# The pinned libraries the tests run against a live Portcullis (sourced by the test script after
# db.sh): PyJWT in the project's virtualenv and jose in the Node recipe's own node_modules, for
# the token-verification recipes (examples/recipes/); openid-client in tests/relying-party, the
# OpenID Connect relying party. Installed only when missing or at another version.

PYJWT_VERSION="2.10.1"
RECIPE_NODE="$ROOT/examples/recipes/node"
RELYING_PARTY="$ROOT/tests/relying-party"

# Installs FOLDER's package.json dependencies unless PACKAGE is there at the pinned version.
ensure_npm_folder() {
    local folder="$1" package="$2" wanted installed=""
    wanted="$(python3 -c "import json; print(json.load(open('$folder/package.json'))['dependencies']['$package'])")"
    if [ -f "$folder/node_modules/$package/package.json" ]; then
        installed="$(python3 -c "import json; print(json.load(open('$folder/node_modules/$package/package.json'))['version'])")"
    fi
    if [ "$installed" != "$wanted" ]; then
        echo "installing $package $wanted into $folder/node_modules ..." >&2
        npm install --silent --no-audit --no-fund --no-package-lock --prefix "$folder" >/dev/null
    fi
}

ensure_recipe_packages() {
    ensure_secantus
    if ! "$VENV/bin/python" -c "import jwt, cryptography, sys; sys.exit(jwt.__version__ != '$PYJWT_VERSION')" 2>/dev/null; then
        echo "installing PyJWT $PYJWT_VERSION into $VENV ..." >&2
        "$VENV/bin/pip" install --quiet --disable-pip-version-check "PyJWT[crypto]==$PYJWT_VERSION"
    fi
    ensure_npm_folder "$RECIPE_NODE" jose
    ensure_npm_folder "$RELYING_PARTY" openid-client
}
