//! `GET /oauth/authorize` and the consent form's `POST /oauth/authorize` (RFC 6749 §4.1.1 with
//! PKCE), run through oxide-auth's authorization flow.

mod adapter;
mod endpoint;

use oxide_auth_async::endpoint::authorization::AuthorizationFlow;
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

async fn run(
    store: &Store,
    config: &Config,
    request: OAuthRequest,
) -> Result<OAuthResponse, PageError> {
    let endpoint = AuthorizeEndpoint::new(store, config);
    let mut flow = AuthorizationFlow::prepare(endpoint)?;
    let response_type_missing = !request.has_parameter("response_type");
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
    Ok(response)
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
    app: &State<AppState>,
) -> Result<OAuthResponse, PageError> {
    let query = query?;
    let request = OAuthRequest::new(query.params, query.raw, browser?.signed_in, None);
    run(&app.store, &app.config, request).await
}

/// The consent form posts back to the same URL, so the whole request is checked again.
#[post("/oauth/authorize", data = "<form>")]
async fn consent(
    same_origin: Result<SameOrigin, PageError>,
    query: Result<Query, PageError>,
    browser: Result<Browser, PageError>,
    form: Result<OAuthForm, HttpError>,
    app: &State<AppState>,
) -> Result<OAuthResponse, PageError> {
    same_origin?;
    let query = query?;
    let form = form.map_err(|_| PageError::BadRequest("The form could not be read."))?;
    let request = OAuthRequest::new(query.params, query.raw, browser?.signed_in, Some(form.0));
    run(&app.store, &app.config, request).await
}
