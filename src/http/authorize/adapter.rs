//! The Rocket 0.5 glue for oxide-auth (its own Rocket frontend targets Rocket 0.4): an
//! `OAuthRequest` built from the query string, the form body and the browser session, and an
//! `OAuthResponse` that becomes a redirect, a page or an error page.

use std::borrow::Cow;
use std::collections::HashMap;

use oxide_auth::endpoint::{NormalizedParameter, QueryParameter, WebRequest, WebResponse};
use rocket::http::Status;
use rocket::response::{self, Redirect, Responder};
use rocket::Request;
use rocket_dyn_templates::Template;
use url::Url;

use crate::http::pages::session::SignedIn;
use crate::http::pages::{Page, PageError};

/// An authorization request as oxide-auth reads it, plus what the consent step needs.
pub struct OAuthRequest {
    query: NormalizedParameter,
    body: NormalizedParameter,
    /// The query string as received, to come back to after signing in.
    pub raw_query: String,
    pub signed_in: Option<SignedIn>,
    /// When this request last sent the user to sign in again (`authorize::reauth`).
    pub reauth_asked_at: Option<u64>,
    /// The consent form's fields, on POST.
    pub form: Option<HashMap<String, String>>,
}

impl OAuthRequest {
    pub fn new(
        query: HashMap<String, String>,
        raw_query: String,
        signed_in: Option<SignedIn>,
        form: Option<HashMap<String, String>>,
    ) -> Self {
        OAuthRequest {
            query: query.into_iter().collect(),
            body: NormalizedParameter::new(),
            raw_query,
            signed_in,
            reauth_asked_at: None,
            form,
        }
    }
}

impl OAuthRequest {
    pub fn has_parameter(&self, name: &str) -> bool {
        self.query.unique_value(name).is_some()
    }

    /// A query parameter sent once, as sent.
    pub fn parameter(&self, name: &str) -> Option<String> {
        self.query
            .unique_value(name)
            .map(|value| value.into_owned())
    }
}

/// What every redirect back to the client gets before it leaves: on an error, RFC 6749
/// §4.1.2.1's shape (below); on every answer, success or error, RFC 9207 §2's `iss`, the
/// issuer's identifier, so a client that talks to several servers can tell which one answered
/// and is not mixed up into sending one server's code to another.
pub fn finish_client_redirect(to: &mut String, issuer: &str, response_type_missing: bool) {
    let Ok(mut url) = Url::parse(to) else {
        return;
    };
    explain_error(&mut url, response_type_missing);
    url.query_pairs_mut().append_pair("iss", issuer);
    *to = url.to_string();
}

/// The redirect `to` (the bound redirect URI `base` with the response's parameters after its
/// own) as a form post to `base` carrying those parameters (Form Post Response Mode §2). Without
/// a base, which only an unbound request lacks, the redirect stays one.
pub fn form_post(to: &str, base: Option<&str>) -> OAuthResponse {
    let (Ok(url), Some(base)) = (Url::parse(to), base) else {
        return OAuthResponse::Redirect(to.to_owned());
    };
    let own = Url::parse(base)
        .map(|b| b.query_pairs().count())
        .unwrap_or(0);
    let fields = url.query_pairs().into_owned().skip(own).collect();
    OAuthResponse::FormPost {
        action: base.to_owned(),
        fields,
    }
}

/// An error this server decides itself, back to the client's bound redirect URI with the
/// request's `state` (RFC 6749 §4.1.2.1); `finish_client_redirect` adds `iss` as to any other.
pub fn error_redirect(
    mut to: Url,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> OAuthResponse {
    {
        let mut query = to.query_pairs_mut();
        query.append_pair("error", error);
        query.append_pair("error_description", description);
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    OAuthResponse::Redirect(to.to_string())
}

/// RFC 6749 §4.1.2.1 on an error redirect built by oxide-auth: a missing `response_type` is
/// `invalid_request` (oxide-auth reports `unsupported_response_type` for it), and every error
/// carries an `error_description` a developer can act on.
fn explain_error(url: &mut Url, response_type_missing: bool) {
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let Some(error) = pairs
        .iter()
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v.clone())
    else {
        return;
    };
    let error = if error == "unsupported_response_type" && response_type_missing {
        "invalid_request".to_owned()
    } else {
        error
    };
    let description = pairs
        .iter()
        .find(|(k, _)| k == "error_description")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| describe(&error, response_type_missing).to_owned());
    let mut query = url.query_pairs_mut();
    query.clear();
    for (key, value) in pairs
        .iter()
        .filter(|(k, _)| k != "error" && k != "error_description")
    {
        query.append_pair(key, value);
    }
    query.append_pair("error", &error);
    query.append_pair("error_description", &description);
}

/// What each RFC 6749 §4.1.2.1 error code means here.
fn describe(error: &str, response_type_missing: bool) -> &'static str {
    match error {
        "invalid_request" if response_type_missing => "response_type is required",
        "invalid_request" => "the authorization request is missing or repeats a parameter",
        "unsupported_response_type" => "only response_type=code is supported",
        "invalid_scope" => "the requested scope is unknown or not allowed for this client",
        "access_denied" => "the resource owner or the server denied the request",
        "unauthorized_client" => "the client may not use the authorization code grant",
        "server_error" => "the server could not process the request",
        "temporarily_unavailable" => "the server is temporarily unable to handle the request",
        _ => "the authorization request was refused",
    }
}

impl WebRequest for OAuthRequest {
    type Error = PageError;
    type Response = OAuthResponse;

    fn query(&mut self) -> Result<Cow<'_, dyn QueryParameter + 'static>, PageError> {
        Ok(Cow::Borrowed(&self.query))
    }

    /// The authorization endpoint reads only the query; the consent form is read separately.
    fn urlbody(&mut self) -> Result<Cow<'_, dyn QueryParameter + 'static>, PageError> {
        Ok(Cow::Borrowed(&self.body))
    }

    fn authheader(&mut self) -> Result<Option<Cow<'_, str>>, PageError> {
        Ok(None)
    }
}

/// What the authorization endpoint answers.
#[derive(Default)]
pub enum OAuthResponse {
    /// Nothing decided yet (oxide-auth fills it in).
    #[default]
    Empty,
    /// To the client's redirect URI: its code or its error.
    Redirect(String),
    /// To the sign-in page, which returns to this request; `again` when a session exists and
    /// the request wants a fresh sign-in (`authorize::reauth` remembers when it asked).
    SignIn { to: String, again: bool },
    /// A page: the consent form.
    Page(Status, Box<Template>),
    /// The authorization response as a form the browser posts to the redirect URI (OAuth 2.0
    /// Form Post Response Mode §2).
    FormPost {
        action: String,
        fields: Vec<(String, String)>,
    },
    /// oxide-auth reported a malformed request without a redirect target.
    BadRequest,
}

impl WebResponse for OAuthResponse {
    type Error = PageError;

    fn ok(&mut self) -> Result<(), PageError> {
        Ok(())
    }

    fn redirect(&mut self, url: Url) -> Result<(), PageError> {
        *self = OAuthResponse::Redirect(url.to_string());
        Ok(())
    }

    fn client_error(&mut self) -> Result<(), PageError> {
        *self = OAuthResponse::BadRequest;
        Ok(())
    }

    fn unauthorized(&mut self, _header_value: &str) -> Result<(), PageError> {
        *self = OAuthResponse::BadRequest;
        Ok(())
    }

    fn body_text(&mut self, _text: &str) -> Result<(), PageError> {
        Ok(())
    }

    fn body_json(&mut self, _data: &str) -> Result<(), PageError> {
        Ok(())
    }
}

impl<'r> Responder<'r, 'static> for OAuthResponse {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        match self {
            OAuthResponse::Redirect(to) | OAuthResponse::SignIn { to, .. } => {
                Page(Redirect::found(to)).respond_to(request)
            }
            OAuthResponse::Page(status, template) => Page((status, *template)).respond_to(request),
            OAuthResponse::FormPost { action, fields } => {
                // The page's one script, allowed by its nonce alone (CSP3 §6.7.2.3); without
                // script, the user presses the button.
                let nonce =
                    crate::secrets::random_token().map_err(|_| Status::InternalServerError)?;
                let template = Template::render(
                    "form_post",
                    rocket_dyn_templates::context! { action, fields, nonce: &nonce },
                );
                let policy = format!(
                    "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self'; \
                     frame-ancestors 'none'; base-uri 'none'"
                );
                rocket::Response::build_from(Page((Status::Ok, template)).respond_to(request)?)
                    .header(rocket::http::Header::new("Content-Security-Policy", policy))
                    .ok()
            }
            OAuthResponse::Empty | OAuthResponse::BadRequest => {
                PageError::BadRequest("The authorization request is malformed.").respond_to(request)
            }
        }
    }
}
