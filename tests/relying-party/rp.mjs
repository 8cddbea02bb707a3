// An OpenID Connect relying party built on openid-client, run against a live Portcullis by
// tests/integration/oidc/relying_party.rs. It plays the browser too (a cookie jar over fetch):
// sign-in and consent pages, the form-post page, logout. Every id token, UserInfo answer and
// authorization response is checked by openid-client's own rules; what it saw is printed as
// one JSON object for the Rust test to assert on. Any refusal by the library fails the run.
//
// usage: node rp.mjs ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI POST_LOGOUT_URI USER PASSWORD

import * as client from "openid-client";

const [issuer, clientId, clientSecret, redirectUri, postLogoutUri, username, password] =
  process.argv.slice(2);

/** A browser as far as these pages need one: cookies, and no automatic redirects. */
class Browser {
  jar = new Map();

  async send(url, init = {}) {
    const cookie = [...this.jar].map(([name, value]) => `${name}=${value}`).join("; ");
    const headers = { ...(init.headers ?? {}), cookie };
    const response = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const set of response.headers.getSetCookie()) {
      const [pair] = set.split(";");
      const at = pair.indexOf("=");
      const [name, value] = [pair.slice(0, at), pair.slice(at + 1)];
      if (value === "" || /max-age=0/i.test(set)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return response;
  }

  post(url, fields) {
    return this.send(url, {
      method: "POST",
      body: new URLSearchParams(fields),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
  }
}

const decode = (text) =>
  text
    .replaceAll("&#x2F;", "/")
    .replaceAll("&#x3D;", "=")
    .replaceAll("&quot;", '"')
    .replaceAll("&#x27;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");

const hidden = (html, name) => {
  const match = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  return match ? decode(match[1]) : undefined;
};

/**
 * Follows the authorization request through Portcullis's pages as a user would (signing in and
 * allowing when asked) until the answer leaves for the client: a URL for a redirect, a Request
 * for a form post. `pages` counts the pages the user saw.
 */
async function authorize(browser, start) {
  let url = new URL(start);
  let response = await browser.send(url);
  let pages = 0;
  for (let step = 0; step < 10; step++) {
    const location = response.headers.get("location");
    if (location) {
      const next = new URL(location, issuer);
      if (next.href.startsWith(redirectUri)) return { answer: next, pages };
      url = next;
      response = await browser.send(url);
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) throw new Error(`${response.status} at ${url}: ${html}`);
    pages += 1;
    if (html.includes('id="form-post"')) {
      const fields = {};
      for (const [, name, value] of html.matchAll(/name="([^"]+)" value="([^"]*)"/g)) {
        fields[name] = decode(value);
      }
      const body = new URLSearchParams(fields);
      const headers = { "content-type": "application/x-www-form-urlencoded" };
      return { answer: new Request(redirectUri, { method: "POST", body, headers }), pages };
    }
    if (html.includes('name="password"')) {
      response = await browser.post(new URL("/login", issuer), {
        csrf: hidden(html, "csrf"),
        return_to: hidden(html, "return_to"),
        username,
        password,
      });
    } else if (html.includes('name="decision"')) {
      response = await browser.post(url, { csrf: hidden(html, "csrf"), decision: "allow" });
    } else {
      throw new Error(`an unexpected page at ${url}: ${html}`);
    }
  }
  throw new Error("too many steps");
}

/** One code flow: the request openid-client builds, the pages, and its checks on the answer. */
async function codeFlow(config, browser, extra = {}, checks = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: "openid profile email",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    nonce,
    state,
    ...extra,
  });
  const { answer, pages } = await authorize(browser, url);
  const tokens = await client.authorizationCodeGrant(config, answer, {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    expectedState: state,
    idTokenExpected: true,
    ...checks,
  });
  return { tokens, claims: tokens.claims(), nonce, pages };
}

const config = await client.discovery(
  new URL(issuer),
  clientId,
  { client_secret: clientSecret },
  client.ClientSecretBasic(clientSecret),
  { execute: [client.allowInsecureRequests] },
);
const metadata = config.serverMetadata();
const browser = new Browser();
const seen = { issuer: metadata.issuer, end_session_endpoint: metadata.end_session_endpoint };

const first = await codeFlow(config, browser);
seen.code = {
  sub: first.claims.sub,
  aud: first.claims.aud,
  nonce_matches: first.claims.nonce === first.nonce,
  auth_time: first.claims.auth_time,
  amr: first.claims.amr,
  email: first.claims.email,
  pages: first.pages,
};

const info = await client.fetchUserInfo(config, first.tokens.access_token, first.claims.sub);
seen.userinfo = { sub: info.sub, email: info.email, preferred_username: info.preferred_username };

const refreshed = await client.refreshTokenGrant(config, first.tokens.refresh_token);
const again = refreshed.claims();
seen.refresh = { sub: again.sub, auth_time: again.auth_time, nonce: again.nonce ?? null };

const silent = await codeFlow(config, browser, { prompt: "none" });
seen.prompt_none_signed_in = { sub: silent.claims.sub, pages: silent.pages };

const fresh = await codeFlow(config, browser, { max_age: "0" }, { maxAge: 0 });
seen.max_age_0 = {
  signed_in_again: fresh.claims.auth_time >= first.claims.auth_time,
  pages: fresh.pages,
};

const posted = await codeFlow(config, browser, { response_mode: "form_post" });
seen.form_post = { sub: posted.claims.sub, pages: posted.pages };

const logout = client.buildEndSessionUrl(config, {
  id_token_hint: posted.tokens.id_token,
  post_logout_redirect_uri: postLogoutUri,
  state: "bye",
});
const out = await browser.send(logout);
seen.logout = { status: out.status, location: out.headers.get("location") };

try {
  await codeFlow(config, browser, { prompt: "none" });
  seen.prompt_none_signed_out = "a code";
} catch (error) {
  seen.prompt_none_signed_out = error.error ?? error.code ?? String(error);
}
try {
  await client.refreshTokenGrant(config, refreshed.refresh_token);
  seen.refresh_after_logout = "refreshed";
} catch (error) {
  seen.refresh_after_logout = error.error ?? String(error);
}

console.log(JSON.stringify(seen));
