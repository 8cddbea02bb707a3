//! Requirements of the compliance table in `docs/security.md` that no other module proves on
//! their own: where credentials may travel, how long a code lives, what the database keeps,
//! which signed tokens the guards still refuse, and the headers that keep pages unframed and
//! endpoints free of CORS.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use mongodb::bson::{doc, DateTime, Document};
use portcullis::secrets::sha256_b64;
use portcullis::store::AuditKind;
use rocket::http::{ContentType, Header, Method, Status};
use serde_json::{json, Value};

use crate::authorize::{
    authorize, authorize_url, exchange, param, register_clients, CALLBACK, VERIFIER,
};
use crate::common::{
    answer, app, app_with, basic, bearer, post_form, seed, sign_in, token, user_tokens, Answer,
    TestApp,
};

const NO_CREDENTIALS: &str = "Bearer realm=\"portcullis\"";

/// The app's database through the driver, bypassing the store.
async fn database(app: &TestApp) -> mongodb::Database {
    mongodb::Client::with_uri_str(app.config.mongodb_uri.expose())
        .await
        .unwrap()
        .database(app.store.database_name())
}

/// A fresh code through the browser flow, for whoever is signed in.
async fn fresh_code(app: &TestApp) -> String {
    let url = authorize_url("thirdparty", CALLBACK, "profile", "");
    let params = authorize(&app.client, &url, true).await;
    param(&params, "code").expect("code").to_owned()
}

/// RFC 6749 §2.3.1: client credentials are never read from the request URI. A confidential
/// client's id and secret, or a public client's bare id, in the query authenticate nobody
/// at the token, revocation or introspection endpoint.
#[rocket::async_test]
async fn client_credentials_in_the_request_uri_are_ignored() {
    let app = app().await;
    let seed = seed(&app).await;
    let confidential = format!("client_id=app&client_secret={}", seed.app_secret);
    for (path, query, form) in [
        (
            "/oauth/token",
            confidential.as_str(),
            "grant_type=client_credentials",
        ),
        (
            "/oauth/token",
            "client_id=mobile",
            "grant_type=password&username=alice&password=alice-password",
        ),
        ("/oauth/revoke", confidential.as_str(), "token=anything"),
        ("/oauth/introspect", confidential.as_str(), "token=anything"),
    ] {
        let refused = post_form(&app.client, &format!("{path}?{query}"), form, None).await;
        assert_eq!(refused.status, Status::Unauthorized, "{path}?{query}");
        assert_eq!(refused.body["error"], "invalid_client", "{path}?{query}");
        assert!(refused.body.get("access_token").is_none());
    }
    // The same credentials in the body authenticate: only their place was wrong.
    let body = format!("grant_type=client_credentials&{confidential}");
    let accepted = token(&app, &body, None).await;
    assert_eq!(accepted.status, Status::Ok, "{}", accepted.body);
}

/// RFC 6749 §2.3: one authentication method per request, so a body `client_id` next to
/// `Authorization: Basic` must name the same client.
#[rocket::async_test]
async fn a_body_client_id_must_name_the_basic_client() {
    let app = app().await;
    let seed = seed(&app).await;
    let grant = "grant_type=client_credentials";
    let other = token(
        &app,
        &format!("{grant}&client_id=m2m"),
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(other.status, Status::BadRequest, "{}", other.body);
    assert_eq!(other.body["error"], "invalid_request");
    assert_eq!(
        other.body["error_description"],
        "client_id does not match the authenticated client"
    );
    let same = token(
        &app,
        &format!("{grant}&client_id=app"),
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(same.status, Status::Ok, "{}", same.body);
}

/// RFC 6749 §4.1.2: a code lives at most 60 seconds, and past its expiry it is
/// `invalid_grant`. The expiry is moved back in the database rather than waited for.
#[rocket::async_test]
async fn an_expired_code_is_invalid_grant() {
    let app = app().await;
    seed(&app).await;
    let secret = register_clients(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let codes = database(&app)
        .await
        .collection::<Document>("authorization_codes");

    let code = fresh_code(&app).await;
    let hash = sha256_b64(&code);
    let stored = codes
        .find_one(doc! { "_id": &hash })
        .await
        .unwrap()
        .unwrap();
    let expires = stored
        .get_datetime("expires_at")
        .unwrap()
        .timestamp_millis();
    let now = DateTime::now().timestamp_millis();
    assert!(
        expires > now && expires <= now + 60_000,
        "the code expires within 60 s of its issue: {}",
        expires - now
    );
    codes
        .update_one(
            doc! { "_id": &hash },
            doc! { "$set": { "expires_at": DateTime::from_millis(now - 1_000) } },
        )
        .await
        .unwrap();
    let late = exchange(&app, &secret, &code, VERIFIER).await;
    assert_eq!(late.status, Status::BadRequest, "{}", late.body);
    assert_eq!(late.body["error"], "invalid_grant");
    assert_eq!(
        late.body["error_description"],
        "authorization code is invalid, expired or already used"
    );
    assert!(late.body.get("access_token").is_none());

    // A code of the same request that is still within its minute redeems.
    let fresh = exchange(&app, &secret, &fresh_code(&app).await, VERIFIER).await;
    assert_eq!(fresh.status, Status::Ok, "{}", fresh.body);
}

/// RFC 6749 §10.3, §10.4 (and §10.5 for codes): after a browser sign-in, a code exchange, a
/// refresh and a password grant, no collection holds a session token, code, refresh token,
/// access token or client secret, only the SHA-256 digests of the first three.
#[rocket::async_test]
async fn secrets_are_stored_only_as_digests() {
    let app = app().await;
    let seed = seed(&app).await;
    let secret = register_clients(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let session = app
        .client
        .cookies()
        .get_private("portcullis_session")
        .expect("session cookie")
        .value()
        .to_owned();

    let code = fresh_code(&app).await;
    let issued = exchange(&app, &secret, &code, VERIFIER).await;
    assert_eq!(issued.status, Status::Ok, "{}", issued.body);
    let first_refresh = issued.body["refresh_token"].as_str().unwrap().to_owned();
    let rotated = post_form(
        &app.client,
        "/oauth/token",
        &format!("grant_type=refresh_token&refresh_token={first_refresh}"),
        Some(basic("thirdparty", &secret)),
    )
    .await;
    assert_eq!(rotated.status, Status::Ok, "{}", rotated.body);
    let (password_access, password_refresh) = user_tokens(&app, &seed, "alice", None).await;

    // Everything in every collection, audit events included (flushed first).
    app.store.recent_audit_events(1).await.unwrap();
    let db = database(&app).await;
    let mut dump = String::new();
    let mut ids = Vec::new();
    for name in db.list_collection_names().await.unwrap() {
        use futures_util::TryStreamExt;
        let cursor = db
            .collection::<Document>(&name)
            .find(doc! {})
            .await
            .unwrap();
        let docs: Vec<Document> = cursor.try_collect().await.unwrap();
        for document in docs {
            dump.push_str(&format!("{name}: {document}\n"));
            if let Ok(id) = document.get_str("_id") {
                ids.push((name.clone(), id.to_owned()));
            }
        }
    }

    let access_tokens = [
        issued.body["access_token"].as_str().unwrap(),
        rotated.body["access_token"].as_str().unwrap(),
        &password_access,
    ];
    let digested = [
        ("sessions", session.as_str()),
        ("authorization_codes", &code),
        ("refresh_tokens", &first_refresh),
        (
            "refresh_tokens",
            rotated.body["refresh_token"].as_str().unwrap(),
        ),
        ("refresh_tokens", &password_refresh),
    ];
    for (collection, raw) in digested {
        assert!(!dump.contains(raw), "{collection} holds a raw secret");
        let digest = (collection.to_owned(), sha256_b64(raw));
        assert!(ids.contains(&digest), "no digest in {collection}:\n{dump}");
    }
    for access in access_tokens {
        let signature = access.rsplit('.').next().unwrap();
        assert!(!dump.contains(signature), "an access token is stored");
    }
    for client_secret in [&secret, &seed.app_secret] {
        assert!(!dump.contains(client_secret.as_str()), "a client secret");
    }
}

/// RFC 6750 §2.3 (and §2.2; RFC 9700 §4.3.2): an access token in the query string or the
/// form body is not a credential. The guards read `Authorization` only, so such a request
/// is answered as one without credentials.
#[rocket::async_test]
async fn access_tokens_in_the_query_or_body_are_not_accepted() {
    let app = app().await;
    let seed = seed(&app).await;
    let (alice, _) = user_tokens(&app, &seed, "alice", None).await;
    let (root, _) = user_tokens(&app, &seed, "root", None).await;
    for (path, token) in [
        ("/api/me", &alice),
        ("/api/data", &alice),
        ("/admin/v1/users", &root),
    ] {
        let query = bearer(
            &app.client,
            Method::Get,
            &format!("{path}?access_token={token}"),
            None,
            None,
        )
        .await;
        assert_eq!(query.status, Status::Unauthorized, "{path}");
        assert_eq!(query.header("WWW-Authenticate"), Some(NO_CREDENTIALS));
        // The same token in the header is good.
        let header = bearer(&app.client, Method::Get, path, Some(token), None).await;
        assert_eq!(header.status, Status::Ok, "{path}: {}", header.body);
    }
    let body = app
        .client
        .post("/api/data")
        .header(ContentType::Form)
        .body(format!("access_token={root}"))
        .dispatch()
        .await;
    let body = answer(body).await;
    assert_eq!(body.status, Status::Unauthorized, "{}", body.body);
    assert_eq!(body.header("WWW-Authenticate"), Some(NO_CREDENTIALS));
}

/// A genuine token's claims, changed by `edit`, signed again with Portcullis's own active key
/// under the header `typ` given: the signature verifies, so only the change is on trial.
fn resign(
    app: &TestApp,
    genuine: &str,
    typ: Option<&str>,
    edit: impl FnOnce(&mut Value),
) -> String {
    let payload = URL_SAFE_NO_PAD
        .decode(genuine.split('.').nth(1).unwrap())
        .unwrap();
    let mut claims: Value = serde_json::from_slice(&payload).unwrap();
    edit(&mut claims);
    let snapshot = app.keys.snapshot();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.typ = typ.map(str::to_owned);
    header.kid = Some(snapshot.active().kid().to_owned());
    jsonwebtoken::encode(&header, &claims, snapshot.active().encoding_key()).unwrap()
}

async fn me_status(app: &TestApp, token: &str) -> Answer {
    bearer(&app.client, Method::Get, "/api/me", Some(token), None).await
}

fn assert_invalid_token(answer: &Answer, case: &str) {
    assert_eq!(
        answer.status,
        Status::Unauthorized,
        "{case}: {}",
        answer.body
    );
    assert_eq!(answer.body["error"], "invalid_token", "{case}");
    assert_eq!(
        answer.body["error_description"], "the access token is invalid",
        "{case}"
    );
}

/// RFC 9068 §4: a token signed with Portcullis's own key is still refused when its `iss` is
/// not the configured issuer or its `aud` does not name this resource server.
#[rocket::async_test]
async fn signed_tokens_for_another_issuer_or_audience_are_refused() {
    let app = app().await;
    let seed = seed(&app).await;
    let (genuine, _) = user_tokens(&app, &seed, "alice", None).await;
    let unchanged = resign(&app, &genuine, Some("at+jwt"), |_| {});
    assert_eq!(me_status(&app, &unchanged).await.status, Status::Ok);

    for (case, claim, value) in [
        ("another issuer", "iss", Some(json!("https://evil.example"))),
        (
            "the issuer with a trailing slash",
            "iss",
            Some(json!("http://portcullis.test/")),
        ),
        ("no issuer", "iss", None),
        ("another audience", "aud", Some(json!(["other-api"]))),
        ("an empty audience", "aud", Some(json!([]))),
        ("no audience", "aud", None),
    ] {
        let forged = resign(&app, &genuine, Some("at+jwt"), |claims| {
            let claims = claims.as_object_mut().unwrap();
            match value {
                Some(value) => claims.insert(claim.to_owned(), value),
                None => claims.remove(claim),
            };
        });
        assert_invalid_token(&me_status(&app, &forged).await, case);
    }
}

/// RFC 9068 §4: `typ` is checked on its own. A token signed with Portcullis's own key, with
/// unchanged claims, is refused when its header says `JWT` or has no `typ`, and accepted with
/// `at+jwt` or `application/at+jwt`.
#[rocket::async_test]
async fn a_validly_signed_token_without_the_at_jwt_type_is_refused() {
    let app = app().await;
    let seed = seed(&app).await;
    let (genuine, _) = user_tokens(&app, &seed, "alice", None).await;
    for typ in ["at+jwt", "application/at+jwt"] {
        let token = resign(&app, &genuine, Some(typ), |_| {});
        let accepted = me_status(&app, &token).await;
        assert_eq!(accepted.status, Status::Ok, "{typ}: {}", accepted.body);
    }
    for typ in [Some("JWT"), None] {
        let token = resign(&app, &genuine, typ, |_| {});
        assert_invalid_token(&me_status(&app, &token).await, &format!("{typ:?}"));
    }
}

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
