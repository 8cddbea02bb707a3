//! Remembering that an authorization request sent the user to sign in again (`prompt=login`,
//! `max_age`, an `id_token_hint` for someone else; OIDC Core §3.1.2.1), so that when the
//! browser comes back with the same request, a sign-in made since then is recognised as the
//! fresh one, and an older session is not. A Rocket private cookie (encrypted and
//! authenticated with the server's key) holds the request's digest and the moment it asked:
//! the browser can neither forge nor backdate it, and without it the request simply asks again.

use rocket::http::CookieJar;

use crate::config::Config;
use crate::http::pages::session::{cookie, cookie_name, removal};
use crate::oauth::claims::unix_now;
use crate::secrets::sha256_b64;

const REAUTH_COOKIE: &str = "portcullis_reauth";
const HOST_REAUTH_COOKIE: &str = "__Host-portcullis_reauth";

/// How long the demand stands: long enough to type a password, short enough that an old
/// cookie replayed later proves nothing.
const REAUTH_WINDOW_SECS: u64 = 600;

fn name(config: &Config) -> &'static str {
    cookie_name(config, REAUTH_COOKIE, HOST_REAUTH_COOKIE)
}

/// Records that the request with this query string asks for a sign-in from now on.
pub fn ask(config: &Config, cookies: &CookieJar<'_>, raw_query: &str) {
    let value = format!("{}:{}", sha256_b64(raw_query), unix_now());
    cookies.add_private(cookie(config, name(config), value, REAUTH_WINDOW_SECS));
}

/// When this same request asked for a fresh sign-in, if it did within the window.
pub fn asked_at(config: &Config, cookies: &CookieJar<'_>, raw_query: &str) -> Option<u64> {
    let stored = cookies.get_private(name(config))?;
    let (digest, at) = stored.value().split_once(':')?;
    let at: u64 = at.parse().ok()?;
    let current = digest == sha256_b64(raw_query) && at + REAUTH_WINDOW_SECS >= unix_now();
    current.then_some(at)
}

/// Forgets the demand once the request that made it has been answered (another request's
/// answer leaves it for its own).
pub fn forget(config: &Config, cookies: &CookieJar<'_>, raw_query: &str) {
    let ours = cookies
        .get_private(name(config))
        .is_some_and(|stored| stored.value().split(':').next() == Some(&sha256_b64(raw_query)));
    if ours {
        cookies.remove_private(removal(config, name(config)));
    }
}
