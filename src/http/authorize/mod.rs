//! `GET /oauth/authorize` and the consent form's `POST /oauth/authorize` (RFC 6749 §4.1.1 with
//! PKCE), run through oxide-auth's authorization flow.

mod adapter;
mod endpoint;
mod reauth;

use oxide_auth_async::endpoint::authorization::AuthorizationFlow;
use rocket::http::CookieJar;
use rocket::request::{self, FromRequest};
use rocket::{get, post, routes, Request, Route, State};

use self::adapter::{OAuthRequest, OAuthResponse};
use self::endpoint::AuthorizeEndpoint;
use super::form::{parse, OAuthForm};
use super::pages::origin::SameOrigin;
use super::pages::session::Browser;
use super::pages::PageError;
use crate::config::Config;
use crate::http::error::HttpError;
use crate::http::AppState;
use crate::keys::KeyRing;
use crate::oauth::authorize::why_unbound;
use crate::store::Store;

/// Longest query string accepted on the authorization endpoint.
const MAX_QUERY_LEN: usize = 8 * 1024;

pub fn routes() -> Vec<Route> {
    routes![authorize, consent]
}

/// The raw query string, parameters each once (RFC 6749 §3.1).
struct Query {
    raw: String,
    params: std::collections::HashMap<String, String>,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Query {
    type Error = PageError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, PageError> {
        let raw = request
            .uri()
            .query()
            .map(|q| q.as_str().to_owned())
            .unwrap_or_default();
        let bad = |why| {
            let error = PageError::BadRequest(why);
            request::Outcome::Error((rocket::http::Status::BadRequest, error))
        };
        if raw.len() > MAX_QUERY_LEN {
            return bad("The authorization request is too long.");
        }
        match parse(raw.as_bytes()) {
            Ok(params) => request::Outcome::Success(Query { raw, params }),
            Err(_) => bad("The authorization request repeats a parameter or is not UTF-8."),
        }
    }
}

/// Runs the request and answers it: on the way out, the demand for a fresh sign-in is
/// remembered, or forgotten once the client has its answer.
async fn answer(
    app: &AppState,
    cookies: &CookieJar<'_>,
    mut request: OAuthRequest,
) -> Result<OAuthResponse, PageError> {
    let config = &app.config;
    let raw_query = request.raw_query.clone();
    request.reauth_asked_at = reauth::asked_at(config, cookies, &raw_query);
    let response = run(&app.store, config, &app.keys, request).await?;
    match response {
        OAuthResponse::SignIn { again: true, .. } => reauth::ask(config, cookies, &raw_query),
        OAuthResponse::Redirect(_) | OAuthResponse::FormPost { .. } => {
            reauth::forget(config, cookies, &raw_query)
        }
        _ => {}
    }
    Ok(response)
}

/// The one redirect URI of a client registered with only one (a request may then leave
/// `redirect_uri` out, RFC 6749 §3.1.2.3).
async fn only_redirect_uri(
    store: &Store,
    client_id: Option<&str>,
) -> Result<Option<String>, PageError> {
    let Some(client_id) = client_id else {
        return Ok(None);
    };
    let client = store.find_client_cached(client_id).await?;
    Ok(client.and_then(|c| (c.redirect_uris.len() == 1).then(|| c.redirect_uris[0].clone())))
}

async fn run(
    store: &Store,
    config: &Config,
    keys: &KeyRing,
    request: OAuthRequest,
) -> Result<OAuthResponse, PageError> {
    let endpoint = AuthorizeEndpoint::new(store, config, keys);
    let mut flow = AuthorizationFlow::prepare(endpoint)?;
    let response_type_missing = !request.has_parameter("response_type");
    let form_post = request.parameter("response_mode").as_deref() == Some("form_post");
    let client_id = request.parameter("client_id");
    let redirect_uri = request.parameter("redirect_uri");
    let mut response = match flow.execute(request).await {
        Ok(response) => response,
        // oxide-auth says only that the request cannot be bound; find out why, for the page
        // and the log.
        Err(PageError::BadClient) => {
            let why = why_unbound(store, client_id.as_deref(), redirect_uri.as_deref()).await?;
            let Some(unbound) = why else {
                return Err(PageError::BadClient);
            };
            tracing::info!(
                reason = unbound.reason.code(),
                client_id = %client_id.as_deref().map(shown_client_id).unwrap_or("-"),
                "authorization request refused without a redirect"
            );
            return Err(PageError::Unbound(unbound));
        }
        Err(other) => return Err(other),
    };
    if let OAuthResponse::Redirect(to) = &mut response {
        adapter::finish_client_redirect(to, &config.issuer, response_type_missing);
    }
    // The answer the way `response_mode` asks (Form Post Response Mode §2).
    match response {
        OAuthResponse::Redirect(to) if form_post => {
            let base = match redirect_uri {
                Some(sent) => Some(sent),
                None => only_redirect_uri(store, client_id.as_deref()).await?,
            };
            Ok(adapter::form_post(&to, base.as_deref()))
        }
        other => Ok(other),
    }
}

/// A client id as logs may show it: as given when it is made of the characters client ids
/// are made of, else a placeholder, so a request cannot write arbitrary text into the log.
fn shown_client_id(id: &str) -> &str {
    let plain = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if plain {
        id
    } else {
        "(not a client id)"
    }
}

#[get("/oauth/authorize")]
async fn authorize(
    query: Result<Query, PageError>,
    browser: Result<Browser, PageError>,
    cookies: &CookieJar<'_>,
    app: &State<AppState>,
) -> Result<OAuthResponse, PageError> {
    let query = query?;
    let request = OAuthRequest::new(query.params, query.raw, browser?.signed_in, None);
    answer(app, cookies, request).await
}

/// The consent form posts back to the same URL, so the whole request is checked again.
#[post("/oauth/authorize", data = "<form>")]
async fn consent(
    same_origin: Result<SameOrigin, PageError>,
    query: Result<Query, PageError>,
    browser: Result<Browser, PageError>,
    form: Result<OAuthForm, HttpError>,
    cookies: &CookieJar<'_>,
    app: &State<AppState>,
) -> Result<OAuthResponse, PageError> {
    same_origin?;
    let query = query?;
    let form = form.map_err(|_| PageError::BadRequest("The form could not be read."))?;
    let request = OAuthRequest::new(query.params, query.raw, browser?.signed_in, Some(form.0));
    answer(app, cookies, request).await
}
