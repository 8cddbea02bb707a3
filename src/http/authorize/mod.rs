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
use crate::oauth::error::OAuthError;
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
    let mut response = flow.execute(request).await?;
    if let OAuthResponse::Redirect(to) = &mut response {
        adapter::explain_error_redirect(to, response_type_missing);
    }
    Ok(response)
}

#[get("/oauth/authorize")]
async fn authorize(
    query: Result<Query, PageError>,
    browser: Result<Browser, PageError>,
    store: &State<Store>,
    config: &State<Config>,
) -> Result<OAuthResponse, PageError> {
    let query = query?;
    let request = OAuthRequest::new(query.params, query.raw, browser?.signed_in, None);
    run(store, config, request).await
}

/// The consent form posts back to the same URL, so the whole request is checked again.
#[post("/oauth/authorize", data = "<form>")]
async fn consent(
    same_origin: Result<SameOrigin, PageError>,
    query: Result<Query, PageError>,
    browser: Result<Browser, PageError>,
    form: Result<OAuthForm, OAuthError>,
    store: &State<Store>,
    config: &State<Config>,
) -> Result<OAuthResponse, PageError> {
    same_origin?;
    let query = query?;
    let form = form.map_err(|_| PageError::BadRequest("The form could not be read."))?;
    let request = OAuthRequest::new(query.params, query.raw, browser?.signed_in, Some(form.0));
    run(store, config, request).await
}
