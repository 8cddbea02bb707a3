//! The kit's axum extractors, in a real axum router served on 127.0.0.1, verifying tokens of a
//! live Portcullis through a `RemoteVerifier`: the same answers as the Rocket guards, from the
//! same check — RFC 6750 §3 challenges, scopes and roles, and revocation through
//! introspection.

use std::time::Duration;

use axum::extract::FromRef;
use axum::routing::get;
use axum::Router;
use portcullis_kit::{
    AccessClaims, Admin, DataRead, DataWrite, KitConfig, RemoteVerifier, RequireRole, RequireScope,
    SecretString, Verifier,
};
use serde_json::Value;

use crate::kit::{call, live_issuer, password_token, refused_once_revoked};

/// A state of the API's own, from which the extractors take the verifier.
#[derive(Clone)]
struct ApiState {
    verifier: Verifier,
}

impl FromRef<ApiState> for Verifier {
    fn from_ref(state: &ApiState) -> Verifier {
        state.verifier.clone()
    }
}

async fn whoami(claims: AccessClaims) -> String {
    claims.sub
}

/// Two extractors in one handler: the token is verified once, both see it.
async fn reports(RequireScope(scoped, _): RequireScope<DataRead>, claims: AccessClaims) -> String {
    assert_eq!(scoped, claims);
    format!("reports of {}", claims.sub)
}

async fn add_report(RequireScope(claims, _): RequireScope<DataWrite>) -> String {
    format!("added by {}", claims.sub)
}

async fn stats(RequireRole(claims, _): RequireRole<Admin>) -> String {
    format!("stats for {}", claims.username.unwrap_or_default())
}

/// Stops the API's server task when the test ends, however it ends.
struct Served(tokio::task::JoinHandle<()>);

impl Drop for Served {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn serve(verifier: Verifier) -> (String, Served) {
    let app = Router::new()
        .route("/whoami", get(whoami))
        .route("/reports", get(reports).post(add_report))
        .route("/admin/stats", get(stats))
        .with_state(ApiState { verifier });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{address}"), Served(task))
}

/// The text of a 200 answer to a GET with `token`.
async fn text(http: &reqwest::Client, url: &str, token: &str) -> String {
    let response = http.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200, "{url}");
    response.text().await.unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

#[rocket::async_test]
async fn an_axum_api_is_protected_by_the_kits_extractors() {
    let http = reqwest::Client::new();
    let live = live_issuer(&http).await;
    let issuer = live.portcullis.issuer();
    let mut config = KitConfig::new(&issuer);
    config.introspection = Some(("kit-rs".into(), SecretString::new(&live.rs_secret)));
    config.introspection_cache = Duration::from_secs(1);
    let verifier = Verifier::new(RemoteVerifier::connect(config).await.unwrap());
    let (api, _served) = serve(verifier).await;

    // No token: a bare challenge (RFC 6750 §3.1), never cached.
    let anonymous = http.get(format!("{api}/whoami")).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(
        header(&anonymous, "www-authenticate"),
        "Bearer realm=\"portcullis\""
    );
    assert_eq!(header(&anonymous, "cache-control"), "no-store");
    assert_eq!(header(&anonymous, "content-type"), "application/json");
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");

    // A malformed header is the client's error; a token that is no JWT is an invalid token.
    let malformed = http
        .get(format!("{api}/whoami"))
        .header("Authorization", "Bearer a b")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status().as_u16(), 400);
    assert!(header(&malformed, "www-authenticate").contains("error=\"invalid_request\""));
    let (status, body) = call(&http, &format!("{api}/whoami"), "not-a-jwt").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );

    // A user's token: scopes and the role checked by the extractors.
    let token = password_token(&http, &issuer, &live.app_secret, "data:read admin").await;
    let sub = text(&http, &format!("{api}/whoami"), &token).await;
    let reports = text(&http, &format!("{api}/reports"), &token).await;
    assert_eq!(reports, format!("reports of {sub}"));
    let stats = text(&http, &format!("{api}/admin/stats"), &token).await;
    assert_eq!(stats, "stats for alice");
    let refused = http
        .post(format!("{api}/reports"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert!(
        header(&refused, "www-authenticate").contains("error=\"insufficient_scope\""),
        "{}",
        header(&refused, "www-authenticate")
    );
    assert!(header(&refused, "www-authenticate").contains("scope=\"data:write\""));

    // A client's own token carries no role.
    let client_token: Value = http
        .post(format!("{issuer}/oauth/token"))
        .basic_auth("kit-app", Some(&live.app_secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "data:read")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_token = client_token["access_token"].as_str().unwrap();
    let (status, body) = call(&http, &format!("{api}/admin/stats"), client_token).await;
    assert_eq!(status, 403);
    assert_eq!(body["error_description"], "the admin role is required");
    let (status, _) = call(&http, &format!("{api}/reports"), client_token).await;
    assert_eq!(status, 200);

    // Revoked at Portcullis: refused once the remembered introspection answer is gone.
    let reports = format!("{api}/reports");
    refused_once_revoked(&http, &issuer, &live.app_secret, &reports, &token).await;
}
