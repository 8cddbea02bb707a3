//! The oxide-auth endpoint behind `/oauth/authorize`: the registrar, the authorizer, the
//! request extension (PKCE challenge, `redirect_uri` as sent), and the consent step: sign-in
//! first (as OpenID Connect's `prompt`, `max_age` and `id_token_hint` require it), then
//! `oauth::authorize::consent` decides, and the consent page when it asks.

use async_trait::async_trait;
use oxide_auth::endpoint::{OAuthError, OwnerConsent, Scopes, Solicitation, Template as Kind};
use oxide_auth_async::endpoint::{Endpoint, Extension, OwnerSolicitor};
use oxide_auth_async::primitives::{Authorizer, Issuer, Registrar};
use rocket::http::Status;
use rocket_dyn_templates::{context, Template};
use serde::Serialize;

use super::adapter::{error_redirect, OAuthRequest, OAuthResponse};
use crate::config::Config;
use crate::http::pages::PageError;
use crate::keys::KeyRing;
use crate::oauth::authorize::consent::{self, Choice, Consent};
use crate::oauth::authorize::{MongoAuthorizer, MongoRegistrar, RequestExtension, SignInSlot};
use crate::oauth::claims::unix_now;
use crate::oauth::scope::Scope;
use crate::oidc::id_token::read_hint;
use crate::oidc::request::{AuthParams, SessionFacts, SignInVerdict};
use crate::secrets::constant_time_eq;
use crate::store::{ClientKind, SignInRecord, Store};

/// Request-object parameters and the error each one answers (OpenID Connect Core §3.1.2.6).
const REQUEST_OBJECTS: [(&str, &str); 2] = [
    ("request", "request_not_supported"),
    ("request_uri", "request_uri_not_supported"),
];

pub struct AuthorizeEndpoint {
    registrar: MongoRegistrar,
    authorizer: MongoAuthorizer,
    extension: RequestExtension,
    solicitor: ConsentSolicitor,
}

impl AuthorizeEndpoint {
    pub fn new(store: &Store, config: &Config, keys: &KeyRing) -> Self {
        let sign_in = SignInSlot::default();
        AuthorizeEndpoint {
            registrar: MongoRegistrar::new(store.clone()),
            authorizer: MongoAuthorizer::new(store.clone(), sign_in.clone()),
            extension: RequestExtension::new(store.clone(), config.require_pkce),
            solicitor: ConsentSolicitor {
                store: store.clone(),
                config: config.clone(),
                keys: keys.clone(),
                sign_in,
            },
        }
    }
}

impl Endpoint<OAuthRequest> for AuthorizeEndpoint {
    type Error = PageError;

    fn registrar(&self) -> Option<&(dyn Registrar + Sync)> {
        Some(&self.registrar)
    }

    fn authorizer_mut(&mut self) -> Option<&mut (dyn Authorizer + Send)> {
        Some(&mut self.authorizer)
    }

    /// Tokens are issued by the token endpoint, not here.
    fn issuer_mut(&mut self) -> Option<&mut (dyn Issuer + Send)> {
        None
    }

    fn owner_solicitor(&mut self) -> Option<&mut (dyn OwnerSolicitor<OAuthRequest> + Send)> {
        Some(&mut self.solicitor)
    }

    fn scopes(&mut self) -> Option<&mut dyn Scopes<OAuthRequest>> {
        None
    }

    fn response(&mut self, _: &mut OAuthRequest, _: Kind<'_>) -> Result<OAuthResponse, PageError> {
        Ok(OAuthResponse::default())
    }

    fn error(&mut self, error: OAuthError) -> PageError {
        match error {
            // Unknown client or redirect URI: show a page, never redirect (RFC 6749 §4.1.2.1).
            OAuthError::DenySilently => PageError::BadClient,
            OAuthError::BadRequest => {
                PageError::BadRequest("The authorization request is malformed.")
            }
            OAuthError::PrimitiveError => PageError::Unavailable,
        }
    }

    fn web_error(&mut self, error: PageError) -> PageError {
        error
    }

    fn extension(&mut self) -> Option<&mut (dyn Extension + Send)> {
        Some(&mut self.extension)
    }
}

/// The sign-in page, coming back to this request afterwards: with the request's `login_hint`
/// as the name, and, when `again`, even though the browser is signed in.
fn sign_in_page(request: &OAuthRequest, params: &AuthParams, again: bool) -> OAuthResponse {
    let back = format!("/oauth/authorize?{}", request.raw_query);
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("return_to", &back);
    if let Some(hint) = &params.login_hint {
        query.append_pair("login_hint", hint);
    }
    if again {
        query.append_pair("prompt", "login");
    }
    OAuthResponse::SignIn {
        to: format!("/login?{}", query.finish()),
        again,
    }
}

/// One scope as the consent page lists it.
#[derive(Serialize)]
struct ScopeLine {
    name: String,
    description: String,
}

pub struct ConsentSolicitor {
    store: Store,
    config: Config,
    /// For `id_token_hint`.
    keys: KeyRing,
    /// Where an approval leaves how the user signed in, for the code.
    sign_in: SignInSlot,
}

#[async_trait]
impl OwnerSolicitor<OAuthRequest> for ConsentSolicitor {
    async fn check_consent(
        &mut self,
        request: &mut OAuthRequest,
        solicitation: Solicitation<'_>,
    ) -> OwnerConsent<OAuthResponse> {
        match self.decide(request, solicitation).await {
            Ok(consent) => consent,
            Err(error) => OwnerConsent::Error(error),
        }
    }
}

impl ConsentSolicitor {
    /// Sign-in first; then the consent form's answer (checked against the session's CSRF
    /// token), a remembered consent, or the consent page.
    async fn decide(
        &self,
        request: &OAuthRequest,
        solicitation: Solicitation<'_>,
    ) -> Result<OwnerConsent<OAuthResponse>, PageError> {
        // OpenID Connect Core §6.1, §6.2: request objects are not supported, and the client is
        // told so rather than having parameters it sent ignored.
        for (parameter, error) in REQUEST_OBJECTS {
            if request.has_parameter(parameter) {
                let description = format!("the {parameter} parameter is not supported");
                let to = solicitation.pre_grant().redirect_uri.to_url();
                let refusal = error_redirect(to, solicitation.state(), error, &description);
                return Ok(OwnerConsent::InProgress(refusal));
            }
        }
        let to = solicitation.pre_grant().redirect_uri.to_url();
        let state = solicitation.state();
        let refuse = |error: &str, description: &str| {
            let refusal = error_redirect(to.clone(), state, error, description);
            Ok(OwnerConsent::InProgress(refusal))
        };
        let params = match AuthParams::read(|name| request.parameter(name)) {
            Ok(params) => params,
            Err(why) => return refuse("invalid_request", why),
        };
        let hinted = match &params.id_token_hint {
            None => None,
            Some(token) => match read_hint(&self.config, &self.keys, token) {
                Some(hint) => Some(hint.sub),
                None => {
                    let why = "id_token_hint is not an id token this server issued";
                    return refuse("invalid_request", why);
                }
            },
        };
        // OIDC Core §3.1.2.1, §3.1.2.6: with prompt=none no page is ever shown; what would
        // need one is an error at the redirect URI instead.
        let Some(signed_in) = &request.signed_in else {
            if params.prompt.none {
                return refuse("login_required", "the user is not signed in");
            }
            return Ok(OwnerConsent::InProgress(sign_in_page(
                request, &params, false,
            )));
        };
        let session = &signed_in.session;
        let facts = SessionFacts {
            user: &signed_in.user.id.to_hex(),
            auth_time: session
                .auth_time
                .unwrap_or(session.created_at)
                .unix_secs()
                .unwrap_or(0),
            reauth_asked_at: request.reauth_asked_at,
        };
        match params.verdict(facts, hinted.as_deref(), unix_now()) {
            SignInVerdict::Satisfied => {}
            SignInVerdict::Again if params.prompt.none => {
                return refuse("login_required", "the user must sign in again");
            }
            SignInVerdict::Again => {
                return Ok(OwnerConsent::InProgress(sign_in_page(
                    request, &params, true,
                )));
            }
            SignInVerdict::OtherUser => {
                let why = "the signed-in user is not the one id_token_hint names";
                return refuse("login_required", why);
            }
        }
        let choice = match &request.form {
            None => None,
            Some(form) => {
                let csrf_ok = form
                    .get("csrf")
                    .is_some_and(|csrf| constant_time_eq(&signed_in.session.csrf, csrf));
                if !csrf_ok {
                    return Err(PageError::Forbidden);
                }
                match form.get("decision").map(String::as_str) {
                    Some("allow") => Some(Choice::Allow),
                    Some("deny") => Some(Choice::Deny),
                    _ => return Err(PageError::BadRequest("Choose allow or deny.")),
                }
            }
        };
        let grant = solicitation.pre_grant();
        let asked = Scope::from_tokens(grant.scope.iter().map(str::to_owned));
        let user = &signed_in.user;
        let consent = consent::decide(
            &self.store,
            &self.config,
            user,
            &grant.client_id,
            &asked,
            choice,
            params.prompt.consent,
        )
        .await?;
        let (client, scopes) = match consent {
            Consent::UnknownClient => return Err(PageError::BadClient),
            Consent::Denied => return Ok(OwnerConsent::Denied),
            Consent::Approved => {
                let session = &signed_in.session;
                let _ = self.sign_in.set(SignInRecord {
                    auth_time: session.auth_time.unwrap_or(session.created_at),
                    amr: session.amr.clone(),
                    sid: session.sid.clone(),
                });
                return Ok(OwnerConsent::Authorized(user.id.to_hex()));
            }
            Consent::Ask { .. } if params.prompt.none => {
                let why = "the user has not approved these scopes for this client";
                return refuse("consent_required", why);
            }
            Consent::Ask { client, scopes } => (client, scopes),
        };
        let lines: Vec<ScopeLine> = scopes
            .iter()
            .map(|scope| ScopeLine {
                name: scope.to_owned(),
                description: self
                    .config
                    .scope_descriptions
                    .get(scope)
                    .cloned()
                    .unwrap_or_else(|| scope.to_owned()),
            })
            .collect();
        let page = Template::render(
            "consent",
            context! {
                client_name: &client.name,
                public_client: client.kind == ClientKind::Public,
                username: &user.username,
                scopes: lines,
                csrf: &signed_in.session.csrf,
                action: format!("/oauth/authorize?{}", request.raw_query),
            },
        );
        Ok(OwnerConsent::InProgress(OAuthResponse::Page(
            Status::Ok,
            Box::new(page),
        )))
    }
}
