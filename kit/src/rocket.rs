//! The kit for Rocket 0.5: guards that protect handlers with Portcullis access tokens, a
//! responder for their refusals, and the [`ResourceServer`] fairing for a service that knows
//! only Portcullis's issuer URL.
//!
//! ```ignore
//! use portcullis_kit::{DataRead, GuardError, KitConfig, RequireScope};
//! use portcullis_kit::rocket::ResourceServer;
//!
//! #[get("/reports")]
//! fn reports(auth: Result<RequireScope<DataRead>, GuardError>) -> Result<String, GuardError> {
//!     let RequireScope(claims, _) = auth?;
//!     Ok(format!("reports for {}", claims.sub))
//! }
//!
//! rocket::build()
//!     .attach(ResourceServer::new(KitConfig::new("https://auth.example.com")))
//!     .mount("/", routes![reports])
//! ```
//!
//! The guards ask the [`Verifier`] in Rocket's managed state, once per request however many
//! guards a handler has. Refusals answer as RFC 6750 §3 says, with `WWW-Authenticate: Bearer`.

use std::sync::Arc;

use ::rocket::fairing::{self, Fairing, Info, Kind};
use ::rocket::http::{Header, HeaderMap, Status};
use ::rocket::outcome::{try_outcome, Outcome};
use ::rocket::request::{self, FromRequest};
use ::rocket::response::{self, Responder};
use ::rocket::serde::json::Json;
use ::rocket::{Build, Request, Response, Rocket};

use crate::bearer::{RequestHeaders, Verifier};
use crate::claims::AccessClaims;
use crate::error::GuardError;
use crate::remote::{KitConfig, RemoteVerifier};
use crate::require::{RequireRole, RequireScope, RequiredRole, RequiredScope};

impl RequestHeaders for HeaderMap<'_> {
    fn values(&self, name: &str) -> Vec<&str> {
        self.get(name).collect()
    }
}

/// The verdict on a request's bearer token, reached once per request however many guards ask.
async fn verdict<'r>(request: &'r Request<'_>) -> &'r Result<Arc<AccessClaims>, GuardError> {
    request
        .local_cache_async(async {
            let verifier = request
                .rocket()
                .state::<Verifier>()
                .ok_or(GuardError::Misconfigured)?;
            let uri = request.uri();
            verifier
                .verify(
                    request.method().as_str(),
                    uri.path().as_str(),
                    uri.query().map(|query| query.as_str()),
                    request.headers(),
                )
                .await
        })
        .await
}

/// A refusal as a guard outcome, for guards built on these.
pub fn reject<T>(error: GuardError) -> request::Outcome<T, GuardError> {
    Outcome::Error((Status::new(error.status()), error))
}

fn outcome<T>(checked: Result<T, GuardError>) -> request::Outcome<T, GuardError> {
    match checked {
        Ok(value) => Outcome::Success(value),
        Err(error) => reject(error),
    }
}

/// A verified, unrevoked access token, borrowed from the request: the cheapest guard.
#[::rocket::async_trait]
impl<'r> FromRequest<'r> for &'r AccessClaims {
    type Error = GuardError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, GuardError> {
        outcome(verdict(request).await.as_deref().map_err(Clone::clone))
    }
}

/// A verified, unrevoked access token, owned by the handler.
#[::rocket::async_trait]
impl<'r> FromRequest<'r> for AccessClaims {
    type Error = GuardError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, GuardError> {
        outcome(
            verdict(request)
                .await
                .as_deref()
                .cloned()
                .map_err(Clone::clone),
        )
    }
}

#[::rocket::async_trait]
impl<'r, S: RequiredScope> FromRequest<'r> for RequireScope<S> {
    type Error = GuardError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, GuardError> {
        let claims = try_outcome!(request.guard::<AccessClaims>().await);
        outcome(RequireScope::check(claims))
    }
}

#[::rocket::async_trait]
impl<'r, R: RequiredRole> FromRequest<'r> for RequireRole<R> {
    type Error = GuardError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, GuardError> {
        let claims = try_outcome!(request.guard::<AccessClaims>().await);
        outcome(RequireRole::check(claims))
    }
}

/// The RFC 6750 §3 answer: status, challenge, JSON body, never cached.
impl<'r> Responder<'r, 'static> for GuardError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build_from(Json(self.body()).respond_to(request)?);
        response.status(Status::new(self.status()));
        response.header(Header::new("Cache-Control", "no-store"));
        if let Some(challenge) = self.challenge() {
            response.header(Header::new("WWW-Authenticate", challenge));
        }
        response.ok()
    }
}

/// The fairing: builds a [`RemoteVerifier`] at ignite and manages it as the guards'
/// [`Verifier`]. Ignition fails when the issuer cannot be read, so a misconfigured service
/// does not start answering 401 to everyone.
pub struct ResourceServer {
    config: KitConfig,
}

impl ResourceServer {
    pub fn new(config: KitConfig) -> Self {
        ResourceServer { config }
    }
}

#[::rocket::async_trait]
impl Fairing for ResourceServer {
    fn info(&self) -> Info {
        Info {
            name: "Portcullis resource server",
            kind: Kind::Ignite,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        match RemoteVerifier::connect(self.config.clone()).await {
            Ok(verifier) => Ok(rocket.manage(Verifier::new(verifier))),
            Err(error) => {
                tracing::error!(%error, issuer = %self.config.issuer, "cannot read the issuer");
                Err(rocket)
            }
        }
    }
}
