//! Headers that keep pages unframed and endpoints free of CORS, and the proxy header rule.

use mongodb::bson::doc;
use portcullis::store::AuditKind;
use rocket::http::{ContentType, Header, Method, Status};

use crate::code_flow::{authorize_url, register_clients, CALLBACK};
use crate::common::{answer, app, app_with, basic, seed, sign_in, user_tokens, TestApp};

/// RFC 9700 §4.16; RFC 6749 §10.13: the sign-in page, the consent page and the error page
/// forbid framing, with both `X-Frame-Options` and CSP `frame-ancestors`.
#[rocket::async_test]
async fn pages_cannot_be_framed() {
    let app = app().await;
    seed(&app).await;
    register_clients(&app).await;
    let unknown_client = authorize_url("nobody", CALLBACK, "profile", "");
    let error_page = answer(app.client.get(unknown_client).dispatch().await).await;
    let sign_in_page = answer(app.client.get("/login").dispatch().await).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let consent_url = authorize_url("thirdparty", CALLBACK, "profile", "");
    let consent_page = answer(app.client.get(consent_url).dispatch().await).await;
    for (page, answer, status) in [
        ("error", error_page, Status::BadRequest),
        ("sign-in", sign_in_page, Status::Ok),
        ("consent", consent_page, Status::Ok),
    ] {
        assert_eq!(answer.status, status, "{page}");
        assert_eq!(answer.header("X-Frame-Options"), Some("DENY"), "{page}");
        let csp = answer.header("Content-Security-Policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{page}: {csp}");
    }
}

/// RFC 9700 §2.6: CORS is never supported at the authorization endpoint. Portcullis sends no
/// CORS header anywhere, to simple requests or to preflights from another origin.
#[rocket::async_test]
async fn no_endpoint_answers_with_cors_headers() {
    let app = app().await;
    let seed = seed(&app).await;
    register_clients(&app).await;
    let (access, _) = user_tokens(&app, &seed, "alice", None).await;
    let origin = Header::new("Origin", "https://evil.example");
    let authorize = authorize_url("thirdparty", CALLBACK, "profile", "");
    let mut answers = Vec::new();
    for (method, path) in [
        (Method::Get, authorize.as_str()),
        (Method::Options, authorize.as_str()),
        (Method::Post, "/oauth/token"),
        (Method::Options, "/oauth/token"),
        (Method::Get, "/.well-known/oauth-authorization-server"),
        (Method::Get, "/.well-known/jwks.json"),
        (Method::Get, "/login"),
        (Method::Get, "/api/me"),
    ] {
        let mut request = app
            .client
            .req(method, path.to_owned())
            .header(origin.clone())
            .header(Header::new("Authorization", format!("Bearer {access}")));
        if method == Method::Options {
            request = request
                .header(Header::new("Access-Control-Request-Method", "POST"))
                .header(Header::new(
                    "Access-Control-Request-Headers",
                    "authorization",
                ));
        }
        answers.push((method, path, answer(request.dispatch().await).await));
    }
    for (method, path, answer) in answers {
        let cors: Vec<_> = answer
            .headers
            .iter()
            .filter(|(name, _)| name.to_ascii_lowercase().starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "{method} {path}: {cors:?}");
        if method == Method::Options {
            assert!(
                !answer.status.class().is_success(),
                "{path}: {}",
                answer.status
            );
        } else {
            assert!(
                answer.status.code < 500,
                "{method} {path}: {}",
                answer.status
            );
        }
    }
}

/// A password grant from `remote` carrying the given headers; the address its
/// `token_issued` audit event recorded.
async fn audited_address(
    app: &TestApp,
    secret: &str,
    remote: &str,
    headers: &[(&str, &str)],
) -> String {
    let mut request = app
        .client
        .post("/oauth/token")
        .remote(remote.parse().unwrap())
        .header(ContentType::Form)
        .header(basic("app", secret))
        .body("grant_type=password&username=alice&password=alice-password");
    for (name, value) in headers {
        request = request.header(Header::new(name.to_string(), value.to_string()));
    }
    let issued = answer(request.dispatch().await).await;
    assert_eq!(issued.status, Status::Ok, "{}", issued.body);
    let events = app.store.recent_audit_events(1).await.unwrap();
    assert_eq!(events[0].kind, AuditKind::TokenIssued);
    events[0].remote_addr.clone().unwrap_or_default()
}

/// RFC 9700 §4.13: a client-identifying header counts only when `client_ip_header` names the
/// proxy's header. Unset, `X-Real-IP` and `X-Forwarded-For` neither open `/metrics` (loopback
/// only by default) nor change the address the audit trail records, the same one rate limits
/// count by.
#[rocket::async_test]
async fn only_the_configured_proxy_header_names_the_client() {
    let spoofed = [("X-Real-IP", "127.0.0.1"), ("X-Forwarded-For", "127.0.0.1")];
    let direct = app().await;
    let direct_seed = seed(&direct).await;
    for (name, value) in spoofed {
        let metrics = direct
            .client
            .get("/metrics")
            .remote("203.0.113.9:4000".parse().unwrap())
            .header(Header::new(name, value))
            .dispatch()
            .await;
        assert_eq!(metrics.status(), Status::Forbidden, "{name}");
    }
    let address = audited_address(
        &direct,
        &direct_seed.app_secret,
        "203.0.113.9:4000",
        &spoofed,
    )
    .await;
    assert_eq!(address, "203.0.113.9");

    // Behind a proxy that sets X-Real-IP, the header names the client.
    let proxied = app_with(|config| config.client_ip_header = Some("X-Real-IP".into())).await;
    let proxied_seed = seed(&proxied).await;
    let headers = [("X-Real-IP", "198.51.100.7")];
    let address = audited_address(
        &proxied,
        &proxied_seed.app_secret,
        "10.0.0.2:4000",
        &headers,
    )
    .await;
    assert_eq!(address, "198.51.100.7");
}
