//! Browser sessions' cookies and CSRF protection. The session cookie is a Rocket private cookie
//! (encrypted and authenticated with the server's secret key) holding a random token whose
//! SHA-256 names the session in MongoDB (`services::sessions`), so a session can be ended
//! server-side. Forms carry a
//! CSRF token: the session's own once signed in, a pre-session cookie's before.

use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest};
use rocket::Request;

use super::PageError;
use crate::config::Config;
use crate::error::Result;
use crate::http::AppState;
use crate::secrets::{constant_time_eq, random_token, sha256_b64};
use crate::services::sessions;
use crate::signin::Authenticated;

/// The cookies' names. With an https issuer they carry the `__Host-` prefix (RFC 6265bis
/// §4.1.3.2): the browser then accepts them only from this host, Secure, on path `/`, so a
/// sibling subdomain cannot plant its own copy (cookie tossing, a way to login CSRF).
pub const SESSION_COOKIE: &str = "portcullis_session";
pub const CSRF_COOKIE: &str = "portcullis_csrf";
const HOST_SESSION_COOKIE: &str = "__Host-portcullis_session";
const HOST_CSRF_COOKIE: &str = "__Host-portcullis_csrf";

/// A cookie's name for this issuer: the `__Host-` one with https.
pub(crate) fn cookie_name(
    config: &Config,
    plain: &'static str,
    host: &'static str,
) -> &'static str {
    if config.issuer_is_https() {
        host
    } else {
        plain
    }
}

fn session_cookie(config: &Config) -> &'static str {
    cookie_name(config, SESSION_COOKIE, HOST_SESSION_COOKIE)
}

fn csrf_cookie(config: &Config) -> &'static str {
    cookie_name(config, CSRF_COOKIE, HOST_CSRF_COOKIE)
}

pub use crate::services::sessions::SignedIn;

/// The signed-in user and their session, if any.
pub struct Browser {
    pub signed_in: Option<SignedIn>,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Browser {
    type Error = PageError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, PageError> {
        let Some(app) = AppState::of(request) else {
            return Outcome::Error((
                rocket::http::Status::InternalServerError,
                PageError::Internal,
            ));
        };
        match current(app, request.cookies()).await {
            Ok(signed_in) => Outcome::Success(Browser { signed_in }),
            Err(error) => {
                let error = PageError::from(error);
                Outcome::Error((error.status(), error))
            }
        }
    }
}

async fn current(app: &AppState, cookies: &CookieJar<'_>) -> Result<Option<SignedIn>> {
    let config = &app.config;
    let Some(cookie) = cookies.get_private(session_cookie(config)) else {
        return Ok(None);
    };
    let found = sessions::find(&app.store, cookie.value()).await?;
    if found.is_none() {
        cookies.remove_private(removal(config, session_cookie(config)));
    }
    Ok(found)
}

pub(crate) fn cookie(
    config: &Config,
    name: &'static str,
    value: String,
    max_age_secs: u64,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        // Lax: the cookie comes along on the top-level redirect from a third-party app.
        .same_site(SameSite::Lax)
        .secure(config.issuer_is_https())
        .path("/")
        .max_age(rocket::time::Duration::seconds(
            i64::try_from(max_age_secs).unwrap_or(i64::MAX),
        ))
        .build()
}

/// The cookie that removes `name`: a browser accepts a `__Host-` cookie, removal included,
/// only with `Secure` and `Path=/`.
pub(crate) fn removal(config: &Config, name: &'static str) -> Cookie<'static> {
    Cookie::build(name)
        .path("/")
        .secure(config.issuer_is_https())
        .build()
}

/// Starts a session for a completed sign-in and gives the browser its cookie; `false` (and no
/// session) when the account changed while its password was checked.
pub async fn sign_in(
    app: &AppState,
    cookies: &CookieJar<'_>,
    signed_in: &Authenticated,
) -> Result<bool> {
    let config = &app.config;
    // Signing in again (a request asked for a fresh sign-in) replaces the session: the old one
    // ends rather than linger until it expires. The same user signing in again in the same
    // browser keeps the session's public id, so logout still reaches what it signed in to.
    let previous = match cookies.get_private(session_cookie(config)) {
        Some(cookie) => app.store.find_session(&sha256_b64(cookie.value())).await?,
        None => None,
    };
    let carried = previous
        .as_ref()
        .filter(|previous| previous.user_id == signed_in.user().id)
        .and_then(|previous| previous.sid.clone());
    let Some(token) = sessions::start(&app.store, config, signed_in, carried).await? else {
        return Ok(false);
    };
    if let Some(previous) = previous {
        app.store.delete_session(&previous.hash).await?;
    }
    cookies.add_private(cookie(
        config,
        session_cookie(config),
        token.expose().to_owned(),
        config.session_ttl_secs,
    ));
    // The pre-session CSRF token has served its purpose; a fresh one comes with the next form.
    cookies.remove_private(removal(config, csrf_cookie(config)));
    Ok(true)
}

/// Ends the session server-side and forgets the cookie.
pub async fn sign_out(app: &AppState, cookies: &CookieJar<'_>) -> Result<()> {
    let config = &app.config;
    if let Some(cookie) = cookies.get_private(session_cookie(config)) {
        sessions::end(&app.store, cookie.value()).await?;
    }
    cookies.remove_private(removal(config, session_cookie(config)));
    Ok(())
}

/// The pre-session CSRF token, created when missing.
pub fn pre_session_csrf(config: &Config, cookies: &CookieJar<'_>) -> Result<String> {
    if let Some(existing) = cookies.get_private(csrf_cookie(config)) {
        return Ok(existing.value().to_owned());
    }
    let token = random_token()?;
    cookies.add_private(cookie(
        config,
        csrf_cookie(config),
        token.clone(),
        config.session_ttl_secs,
    ));
    Ok(token)
}

/// Whether a submitted form carries the pre-session CSRF token.
pub fn pre_session_csrf_matches(
    config: &Config,
    cookies: &CookieJar<'_>,
    submitted: Option<&str>,
) -> bool {
    match (cookies.get_private(csrf_cookie(config)), submitted) {
        (Some(cookie), Some(submitted)) => constant_time_eq(cookie.value(), submitted),
        _ => false,
    }
}

/// Whether a submitted form carries the session's CSRF token.
pub fn session_csrf_matches(signed_in: &SignedIn, submitted: Option<&str>) -> bool {
    submitted.is_some_and(|submitted| constant_time_eq(&signed_in.session.csrf, submitted))
}
