//! The authorization code at the token endpoint: bound to the client it was issued to (another
//! client neither redeems nor burns it), to the `redirect_uri` of its authorization request
//! (RFC 6749 §4.1.3), and to its PKCE challenge or the lack of one (RFC 9700 §4.8.2); and it carries how and when
//! the user signed in, and the request's `nonce`, to the tokens it is redeemed for.

use rocket::http::{Header, Method, Status};
use url::Url;

use crate::code_flow::{
    authorize, authorize_url, exchange, param, register_clients, CALLBACK, VERIFIER,
};
use crate::common::{app, app_with, basic, bearer, post_form, seed, sign_in, Answer, TestApp};
use portcullis::store::{AuditKind, CodeUse};

/// An authorization URL without the named query parameters.
fn without(url: &str, names: &[&str]) -> String {
    let full = Url::parse(&format!("http://portcullis.test{url}")).unwrap();
    let mut kept = full.clone();
    kept.query_pairs_mut()
        .clear()
        .extend_pairs(full.query_pairs().filter(|(k, _)| !names.contains(&&**k)));
    format!("{}?{}", kept.path(), kept.query().unwrap())
}

/// A fresh code through the browser flow, for whoever is signed in.
async fn code(app: &TestApp, url: &str) -> String {
    let params = authorize(&app.client, url, true).await;
    param(&params, "code").expect("code").to_owned()
}

/// A code-grant token request with exactly these fields (URL-encoded here).
async fn redeem(app: &TestApp, auth: Option<Header<'static>>, fields: &[(&str, &str)]) -> Answer {
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .extend_pairs(fields)
        .finish();
    post_form(&app.client, "/oauth/token", &form, auth).await
}

fn assert_invalid_grant(answer: &Answer, description: &str) {
    assert_eq!(answer.status, Status::BadRequest, "{}", answer.body);
    assert_eq!(answer.body["error"], "invalid_grant");
    assert_eq!(answer.body["error_description"], description);
    assert!(answer.body.get("access_token").is_none());
}

async fn issued_count(app: &TestApp) -> usize {
    let events = app.store.recent_audit_events(100).await.unwrap();
    events
        .iter()
        .filter(|e| e.kind == AuditKind::TokenIssued)
        .count()
}

#[rocket::async_test]
async fn a_verifier_for_a_code_issued_without_a_challenge_is_refused() {
    let app = app_with(|c| c.require_pkce = false).await;
    seed(&app).await;
    let secret = register_clients(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let url = without(
        &authorize_url("thirdparty", CALLBACK, "profile", ""),
        &["code_challenge", "code_challenge_method"],
    );

    // RFC 9700 §4.8.2: a code_verifier where no code_challenge was sent is a downgrade.
    let downgraded = exchange(&app, &secret, &code(&app, &url).await, VERIFIER).await;
    assert_invalid_grant(&downgraded, "PKCE verification failed");
    assert_eq!(issued_count(&app).await, 0, "nothing was issued");

    // Without a verifier such a code is still good, since PKCE is optional for this client.
    let code = code(&app, &url).await;
    let auth = Some(basic("thirdparty", &secret));
    let fields = [("code", code.as_str()), ("redirect_uri", CALLBACK)];
    let plain = redeem(&app, auth, &fields).await;
    assert_eq!(plain.status, Status::Ok, "{}", plain.body);
    assert_eq!(issued_count(&app).await, 1);
}

#[rocket::async_test]
async fn redirect_uri_is_required_and_identical_when_the_authorization_request_sent_it() {
    let app = app().await;
    seed(&app).await;
    let secret = register_clients(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let auth = || Some(basic("thirdparty", &secret));
    let with_uri = authorize_url("thirdparty", CALLBACK, "profile", "");
    let mismatch = "redirect_uri does not match the authorization request";

    // Sent with the authorization request: required at the token endpoint (the client has
    // one registered URI, which used to be enough)...
    let code_a = code(&app, &with_uri).await;
    let omitted = redeem(
        &app,
        auth(),
        &[("code", code_a.as_str()), ("code_verifier", VERIFIER)],
    )
    .await;
    assert_invalid_grant(&omitted, mismatch);
    // ...and identical: the same URL spelled differently is refused.
    let code_b = code(&app, &with_uri).await;
    let respelled = redeem(
        &app,
        auth(),
        &[
            ("code", code_b.as_str()),
            ("redirect_uri", "https://CLIENT.example/cb"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_invalid_grant(&respelled, mismatch);

    // Left out of the authorization request (one registered URI): may be left out here too,
    // but a URI that is sent must still be the registered one.
    let without_uri = without(&with_uri, &["redirect_uri"]);
    let code_c = code(&app, &without_uri).await;
    let wrong = redeem(
        &app,
        auth(),
        &[
            ("code", code_c.as_str()),
            ("redirect_uri", "https://client.example/other"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_invalid_grant(&wrong, mismatch);
    let code_d = code(&app, &without_uri).await;
    let both_omitted = redeem(
        &app,
        auth(),
        &[("code", code_d.as_str()), ("code_verifier", VERIFIER)],
    )
    .await;
    assert_eq!(both_omitted.status, Status::Ok, "{}", both_omitted.body);

    // A loopback client's URI carries the port it chose; the exchange must repeat it.
    let loopback = "http://127.0.0.1:53682/cb";
    let native = authorize_url("native", loopback, "profile", "");
    let code_e = code(&app, &native).await;
    let registered = redeem(
        &app,
        None,
        &[
            ("client_id", "native"),
            ("code", code_e.as_str()),
            ("redirect_uri", "http://127.0.0.1/cb"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_invalid_grant(&registered, mismatch);
    let code_f = code(&app, &native).await;
    let same = redeem(
        &app,
        None,
        &[
            ("client_id", "native"),
            ("code", code_f.as_str()),
            ("redirect_uri", loopback),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(same.status, Status::Ok, "{}", same.body);
}

#[rocket::async_test]
async fn a_code_presented_by_another_client_is_refused_and_left_for_its_own() {
    let app = app().await;
    seed(&app).await;
    let secret = register_clients(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let code = code(&app, &authorize_url("thirdparty", CALLBACK, "profile", "")).await;

    // `native` is registered for the code grant, so the request reaches the code itself.
    let stolen = redeem(
        &app,
        None,
        &[
            ("client_id", "native"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_invalid_grant(
        &stolen,
        "authorization code is invalid, expired or already used",
    );
    let events = app.store.recent_audit_events(50).await.unwrap();
    let flagged = events
        .iter()
        .find(|e| e.kind == AuditKind::AuthorizationCodeWrongClient)
        .expect("an audit event for the foreign client");
    assert_eq!(flagged.client_id.as_deref(), Some("native"));
    assert!(events
        .iter()
        .all(|e| e.kind != AuditKind::AuthorizationCodeReuse));

    // The code was not spent: its own client redeems it and the tokens work.
    let tokens = exchange(&app, &secret, &code, VERIFIER).await;
    assert_eq!(tokens.status, Status::Ok, "{}", tokens.body);
    let access = tokens.body["access_token"].as_str().unwrap();
    let me = bearer(&app.client, Method::Get, "/api/me", Some(access), None).await;
    assert_eq!(me.status, Status::Ok);

    // Its own second redemption is still reuse, and revokes what the first one issued.
    let again = exchange(&app, &secret, &code, VERIFIER).await;
    assert_eq!(again.body["error"], "invalid_grant");
    let me = bearer(&app.client, Method::Get, "/api/me", Some(access), None).await;
    assert_eq!(me.status, Status::Unauthorized);
    let events = app.store.recent_audit_events(50).await.unwrap();
    let reuse = events
        .iter()
        .find(|e| e.kind == AuditKind::AuthorizationCodeReuse)
        .expect("reuse is audited");
    assert_eq!(reuse.client_id.as_deref(), Some("thirdparty"));
}

#[rocket::async_test]
async fn a_code_carries_how_and_when_the_user_signed_in_and_the_nonce() {
    let app = app().await;
    seed(&app).await;
    register_clients(&app).await;
    let before = portcullis::store::now();
    sign_in(&app.client, "alice", "alice-password").await;
    let after = portcullis::store::now();
    let alice = app.store.find_user_by_key("alice").await.unwrap().unwrap();
    let sessions = app.store.user_sessions(alice.id).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].amr, ["pwd"]);
    let auth_time = sessions[0].auth_time.expect("auth_time");
    // Whole seconds: the sign-in's second, not before it.
    assert!(auth_time.unix_secs() >= before.unix_secs());
    assert!(auth_time <= after);

    let url = authorize_url("thirdparty", CALLBACK, "profile", "&nonce=n-0S6_WzA2Mj");
    let params = authorize(&app.client, &url, true).await;
    let code = param(&params, "code").expect("code");
    let hash = portcullis::secrets::sha256_b64(code);
    let CodeUse::Redeemed(stored) = app.store.redeem_code(&hash, "thirdparty").await.unwrap()
    else {
        panic!("the code was not redeemable");
    };
    assert_eq!(stored.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
    let signed_in = stored.sign_in.expect("the sign-in");
    assert_eq!(signed_in.amr, ["pwd"]);
    assert_eq!(signed_in.auth_time, auth_time);

    // A nonce longer than is ever needed is refused, never stored: an error redirect
    // (RFC 6749 §4.1.2.1), no code.
    let long = format!("&nonce={}", "n".repeat(513));
    let refused = app
        .client
        .get(authorize_url("thirdparty", CALLBACK, "profile", &long))
        .dispatch()
        .await;
    assert_eq!(refused.status(), Status::Found);
    let to = Url::parse(refused.headers().get_one("Location").unwrap()).unwrap();
    let pairs: Vec<(String, String)> = to.query_pairs().into_owned().collect();
    assert_eq!(param(&pairs, "error"), Some("invalid_request"));
    assert_eq!(param(&pairs, "code"), None);
}
