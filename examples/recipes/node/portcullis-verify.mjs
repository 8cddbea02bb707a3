// Verifying Portcullis access tokens in a Node API (Express, Fastify, ...) with jose.
//
//     npm install jose@6.2.18
//
// `const verifier = await portcullisVerifier(issuer)`, then `await verifier.verify(token,
// { scope: 'data:read' })` returns the token's claims, or throws a jose error (answer 401) or an
// `InsufficientScope` (answer 403). The checks are those of RFC 9068 §4: RS256 only, `typ`
// `at+jwt`, `iss`, `aud`, `exp` and `nbf`, then the scope and, when asked, the role.
// `isActive` asks the introspection endpoint (RFC 7662) whether the token was revoked. Run as a
// script it verifies one token and prints the outcome as JSON.

import { createRemoteJWKSet, jwtVerify, errors } from 'jose';

/** A valid token without the scope or role an endpoint needs (RFC 6750 §3.1: 403). */
export class InsufficientScope extends Error {}

export async function portcullisVerifier(issuer, { audience = 'portcullis-api', leeway = 10 } = {}) {
  const answer = await fetch(`${issuer}/.well-known/oauth-authorization-server`);
  const metadata = await answer.json();
  // RFC 8414 §3.3: the metadata must name the issuer it was fetched for.
  if (metadata.issuer !== issuer) {
    throw new Error(`the metadata names issuer ${metadata.issuer}, not ${issuer}`);
  }
  // Keys are cached; an unknown key id fetches the set again, at most every 30 s.
  const keys = createRemoteJWKSet(new URL(metadata.jwks_uri), { cooldownDuration: 30_000 });
  return {
    async verify(token, { scope, role } = {}) {
      const { payload } = await jwtVerify(token, keys, {
        issuer,
        audience,
        algorithms: ['RS256'],
        typ: 'at+jwt',
        clockTolerance: leeway,
        requiredClaims: ['exp', 'iat', 'sub', 'client_id', 'jti'],
      });
      if (scope !== undefined && !String(payload.scope ?? '').split(' ').includes(scope)) {
        throw new InsufficientScope(`the token lacks the scope ${scope}`);
      }
      if (role !== undefined && payload.role !== role) {
        throw new InsufficientScope(`the token's user does not have the role ${role}`);
      }
      return payload;
    },

    /** RFC 7662 §2: whether Portcullis still considers the token active (not revoked). */
    async isActive(token, clientId, clientSecret) {
      // RFC 6749 §2.3.1: id and secret are form-encoded before Basic encoding.
      const pair = `${formEncode(clientId)}:${formEncode(clientSecret)}`;
      const reply = await fetch(metadata.introspection_endpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(pair).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
      });
      return (await reply.json()).active === true;
    },
  };
}

function formEncode(value) {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

// portcullis-verify.mjs ISSUER TOKEN [--scope S] [--role R] [--introspect ID SECRET]
async function main([issuer, token, ...rest]) {
  const options = {};
  while (rest.length) {
    const flag = rest.shift();
    if (flag === '--introspect') options.introspect = [rest.shift(), rest.shift()];
    else options[flag.replace(/^--/, '')] = rest.shift();
  }
  const verifier = await portcullisVerifier(issuer);
  try {
    const claims = await verifier.verify(token, { scope: options.scope, role: options.role });
    if (options.introspect && !(await verifier.isActive(token, ...options.introspect))) {
      throw new errors.JWTInvalid('the token has been revoked');
    }
    console.log(JSON.stringify({ status: 200, sub: claims.sub, scope: claims.scope, role: claims.role ?? null }));
    return 0;
  } catch (refusal) {
    if (refusal instanceof InsufficientScope) {
      console.log(JSON.stringify({ status: 403, error: 'insufficient_scope', why: refusal.message }));
    } else if (refusal instanceof errors.JOSEError) {
      console.log(JSON.stringify({ status: 401, error: 'invalid_token', why: refusal.message }));
    } else {
      throw refusal;
    }
    return 1;
  }
}

if (import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.exitCode = await main(process.argv.slice(2));
}
