"""Verifying Portcullis access tokens in a Python API (Flask, FastAPI, Django, ...) with PyJWT.

    pip install "PyJWT[crypto]==2.10.1"

`PortcullisVerifier(issuer).verify(token, scope="data:read")` returns the token's claims, or
raises `jwt.InvalidTokenError` (answer 401) or `InsufficientScope` (answer 403). The checks are
those of RFC 9068 §4: RS256 only, `typ` `at+jwt`, `iss`, `aud`, `exp` and `nbf`, then the scope
and, when asked, the role. `is_active` asks the introspection endpoint (RFC 7662) whether the
token was revoked. Run as a script it verifies one token and prints the outcome as JSON.
"""

import base64
import json
import sys
import urllib.parse
import urllib.request

import jwt
from jwt import PyJWKClient


class InsufficientScope(Exception):
    """A valid token without the scope or role an endpoint needs (RFC 6750 §3.1: 403)."""


class PortcullisVerifier:
    def __init__(self, issuer, audience="portcullis-api", leeway=10):
        url = f"{issuer}/.well-known/oauth-authorization-server"
        with urllib.request.urlopen(url, timeout=5) as answer:
            metadata = json.load(answer)
        # RFC 8414 §3.3: the metadata must name the issuer it was fetched for.
        if metadata["issuer"] != issuer:
            raise ValueError(f"the metadata names issuer {metadata['issuer']!r}, not {issuer!r}")
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.introspection_endpoint = metadata.get("introspection_endpoint")
        # Keys are cached; an unknown key id fetches the set again (after a rotation).
        self.keys = PyJWKClient(metadata["jwks_uri"], cache_keys=True, lifespan=300)

    def verify(self, token, scope=None, role=None):
        header = jwt.get_unverified_header(token)
        # RFC 9068 §4: only access tokens, not other JWTs signed with the same keys.
        if header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
            raise jwt.InvalidTokenError("not an access token (typ must be at+jwt)")
        key = self.keys.get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=self.audience,
            issuer=self.issuer,
            leeway=self.leeway,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "client_id", "jti"]},
        )
        if scope is not None and scope not in claims.get("scope", "").split():
            raise InsufficientScope(f"the token lacks the scope {scope}")
        if role is not None and claims.get("role") != role:
            raise InsufficientScope(f"the token's user does not have the role {role}")
        return claims

    def is_active(self, token, client_id, client_secret):
        """RFC 7662 §2: whether Portcullis still considers the token active (not revoked)."""
        body = urllib.parse.urlencode({"token": token, "token_type_hint": "access_token"})
        # RFC 6749 §2.3.1: id and secret are form-encoded before Basic encoding.
        pair = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(client_secret)}"
        request = urllib.request.Request(self.introspection_endpoint, data=body.encode(), method="POST")
        request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.load(answer)["active"] is True


def main(argv):
    """portcullis_verify.py ISSUER TOKEN [--scope S] [--role R] [--introspect ID SECRET]"""
    issuer, token, rest = argv[0], argv[1], argv[2:]
    options = {}
    while rest:
        flag = rest.pop(0)
        if flag == "--introspect":
            options["introspect"] = (rest.pop(0), rest.pop(0))
        else:
            options[flag.lstrip("-")] = rest.pop(0)
    verifier = PortcullisVerifier(issuer)
    try:
        claims = verifier.verify(token, scope=options.get("scope"), role=options.get("role"))
        if "introspect" in options and not verifier.is_active(token, *options["introspect"]):
            raise jwt.InvalidTokenError("the token has been revoked")
    except InsufficientScope as refusal:
        print(json.dumps({"status": 403, "error": "insufficient_scope", "why": str(refusal)}))
        return 1
    except jwt.InvalidTokenError as refusal:
        print(json.dumps({"status": 401, "error": "invalid_token", "why": str(refusal)}))
        return 1
    print(json.dumps({"status": 200, "sub": claims["sub"], "scope": claims["scope"],
                      "role": claims.get("role")}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
