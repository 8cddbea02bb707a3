//! The bearer-token guards and the example API: every refusal with its exact status and
//! RFC 6750 `WWW-Authenticate` header, forgeries refused, rotated keys honoured.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rocket::http::{Header, Method, Status};
use serde_json::json;

use crate::common::{app, app_with, basic, bearer, seed, temp_dir, token, user_tokens, Answer};

const REALM: &str = "Bearer realm=\"portcullis\"";

fn assert_refused(answer: &Answer, status: Status, challenge: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.header("WWW-Authenticate"), Some(challenge));
}

#[rocket::async_test]
async fn missing_and_malformed_credentials() {
    let app = app().await;
    let none = bearer(&app.client, Method::Get, "/api/me", None, None).await;
    assert_refused(&none, Status::Unauthorized, REALM);
    assert_eq!(none.header("Cache-Control"), Some("no-store"));
    assert_eq!(
        none.body["error_description"],
        "an access token is required"
    );

    let basic_auth = app
        .client
        .get("/api/me")
        .header(basic("app", "x"))
        .dispatch()
        .await;
    assert_eq!(basic_auth.status(), Status::Unauthorized);
    assert_eq!(
        basic_auth.headers().get_one("WWW-Authenticate"),
        Some(REALM)
    );

    let malformed = app
        .client
        .get("/api/me")
        .header(Header::new("Authorization", "Bearer a b"))
        .dispatch()
        .await;
    assert_eq!(malformed.status(), Status::BadRequest);
    assert_eq!(
        malformed.headers().get_one("WWW-Authenticate"),
        Some("Bearer realm=\"portcullis\", error=\"invalid_request\", error_description=\"malformed bearer token\"")
    );

    let twice = app
        .client
        .get("/api/me")
        .header(Header::new("Authorization", "Bearer abc"))
        .header(Header::new("Authorization", "Bearer def"))
        .dispatch()
        .await;
    assert_eq!(twice.status(), Status::BadRequest);
}

#[rocket::async_test]
async fn valid_tokens_pass_and_scheme_is_case_insensitive() {
    let app = app().await;
    let seed = seed(&app).await;
    let (access, _) = user_tokens(&app, &seed, "alice", None).await;
    let me = app
        .client
        .get("/api/me")
        .header(Header::new("Authorization", format!("bEaReR {access}")))
        .dispatch()
        .await;
    assert_eq!(me.status(), Status::Ok);
    // One user's data: no browser or proxy keeps it.
    assert_eq!(me.headers().get_one("Cache-Control"), Some("no-store"));
    let body: serde_json::Value = me.into_json().await.unwrap();
    assert_eq!(body["username"], "alice");
    assert_eq!(body["role"], "user");
    assert_eq!(body["id"], seed.alice.id.to_hex());
    assert_eq!(body["scopes"], json!(["data:read", "profile"]));
}

#[rocket::async_test]
async fn invalid_expired_and_revoked_tokens_have_distinct_descriptions() {
    let app = app_with(|c| {
        c.access_token_ttl_secs = 1;
        c.token_leeway_secs = 0;
    })
    .await;
    let seed = seed(&app).await;
    let invalid = bearer(
        &app.client,
        Method::Get,
        "/api/me",
        Some("abc.def.ghi"),
        None,
    )
    .await;
    assert_refused(
        &invalid,
        Status::Unauthorized,
        "Bearer realm=\"portcullis\", error=\"invalid_token\", error_description=\"the access token is invalid\"",
    );
    assert_eq!(invalid.body["error"], "invalid_token");

    let (access, _) = user_tokens(&app, &seed, "alice", None).await;
    let revoke = token_form(
        &app,
        &format!("token={access}"),
        &seed.app_secret,
        "/oauth/revoke",
    )
    .await;
    assert_eq!(revoke.status, Status::Ok);
    let revoked = bearer(&app.client, Method::Get, "/api/me", Some(&access), None).await;
    assert_refused(
        &revoked,
        Status::Unauthorized,
        "Bearer realm=\"portcullis\", error=\"invalid_token\", error_description=\"the access token has been revoked\"",
    );

    let (access, _) = user_tokens(&app, &seed, "alice", None).await;
    // Verified once (and remembered), then expired: the memory does not outlive the token.
    let fresh = bearer(&app.client, Method::Get, "/api/me", Some(&access), None).await;
    assert_eq!(fresh.status, Status::Ok);
    crate::common::wall_clock_advance(2100).await;
    let expired = bearer(&app.client, Method::Get, "/api/me", Some(&access), None).await;
    assert_refused(
        &expired,
        Status::Unauthorized,
        "Bearer realm=\"portcullis\", error=\"invalid_token\", error_description=\"the access token has expired\"",
    );
}

async fn token_form(app: &crate::common::TestApp, form: &str, secret: &str, path: &str) -> Answer {
    crate::common::post_form(&app.client, path, form, Some(basic("app", secret))).await
}

#[rocket::async_test]
async fn scopes_and_roles_are_enforced_with_403() {
    let app = app().await;
    let seed = seed(&app).await;
    let (alice, _) = user_tokens(&app, &seed, "alice", None).await;
    let write = bearer(
        &app.client,
        Method::Post,
        "/api/data",
        Some(&alice),
        Some("{\"a\":1}"),
    )
    .await;
    assert_refused(
        &write,
        Status::Forbidden,
        "Bearer realm=\"portcullis\", error=\"insufficient_scope\", error_description=\"the data:write scope is required\", scope=\"data:write\"",
    );
    assert_eq!(write.body["error"], "insufficient_scope");
    let admin = bearer(
        &app.client,
        Method::Get,
        "/api/admin/users",
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(admin.status, Status::Forbidden);
    assert!(admin
        .header("WWW-Authenticate")
        .unwrap()
        .contains("error=\"insufficient_scope\""));

    // An admin whose token lacks the admin scope is refused too.
    let (root_narrow, _) = user_tokens(&app, &seed, "root", Some("profile")).await;
    let narrow = bearer(
        &app.client,
        Method::Get,
        "/api/admin/users",
        Some(&root_narrow),
        None,
    )
    .await;
    assert_refused(
        &narrow,
        Status::Forbidden,
        "Bearer realm=\"portcullis\", error=\"insufficient_scope\", error_description=\"the admin scope is required\", scope=\"admin\"",
    );

    // A client's own token is not a user's.
    let m2m = token(
        &app,
        "grant_type=client_credentials",
        Some(basic("m2m", &seed.m2m_secret)),
    )
    .await;
    let me = bearer(
        &app.client,
        Method::Get,
        "/api/me",
        m2m.body["access_token"].as_str(),
        None,
    )
    .await;
    assert_eq!(me.status, Status::Forbidden);
}

#[rocket::async_test]
async fn the_example_api_stores_notes_and_lists_users() {
    let app = app().await;
    let seed = seed(&app).await;
    let (root, _) = user_tokens(&app, &seed, "root", None).await;
    let empty = bearer(&app.client, Method::Get, "/api/data", Some(&root), None).await;
    assert_eq!(empty.status, Status::Ok);
    assert_eq!(empty.body["note"], serde_json::Value::Null);

    let note = r#"{"$set": {"role": "admin"}, "text": "hello"}"#;
    let saved = bearer(
        &app.client,
        Method::Post,
        "/api/data",
        Some(&root),
        Some(note),
    )
    .await;
    assert_eq!(saved.status, Status::Created, "{}", saved.body);
    let read = bearer(&app.client, Method::Get, "/api/data", Some(&root), None).await;
    assert_eq!(read.body["note"]["text"], "hello");
    assert_eq!(
        read.body["note"]["$set"]["role"], "admin",
        "stored as data, never as an operator"
    );

    let big = format!("{{\"text\": \"{}\"}}", "x".repeat(5000));
    let too_big = bearer(
        &app.client,
        Method::Post,
        "/api/data",
        Some(&root),
        Some(&big),
    )
    .await;
    assert_eq!(too_big.status, Status::BadRequest);
    let not_json = bearer(
        &app.client,
        Method::Post,
        "/api/data",
        Some(&root),
        Some("{oops"),
    )
    .await;
    assert_eq!(not_json.status, Status::BadRequest);

    let page = bearer(
        &app.client,
        Method::Get,
        "/api/admin/users?limit=1",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(page.status, Status::Ok, "{}", page.body);
    assert_eq!(page.body["users"].as_array().unwrap().len(), 1);
    let next = page.body["next"].as_str().unwrap().to_owned();
    let rest = bearer(
        &app.client,
        Method::Get,
        &format!("/api/admin/users?limit=10&after={next}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(rest.body["users"].as_array().unwrap().len(), 1);
    assert_eq!(rest.body["next"], serde_json::Value::Null);
    assert!(page.body["users"][0].get("password_hash").is_none());
    let bad = bearer(
        &app.client,
        Method::Get,
        "/api/admin/users?limit=1000",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(bad.status, Status::BadRequest);
}

/// Re-signs a valid token's header and claims some other way.
fn forge(valid: &str, header: serde_json::Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let claims = valid.split('.').nth(1).unwrap();
    let header = URL_SAFE_NO_PAD.encode(header.to_string());
    let input = format!("{header}.{claims}");
    let signature = URL_SAFE_NO_PAD.encode(sign(input.as_bytes()));
    format!("{input}.{signature}")
}

#[rocket::async_test]
async fn forged_tokens_are_refused() {
    let app = app().await;
    let seed = seed(&app).await;
    let (access, _) = user_tokens(&app, &seed, "alice", None).await;
    let kid = app.keys.snapshot().active().kid().to_owned();
    let jwk = app.keys.snapshot().active().jwk().clone();

    let none = forge(
        &access,
        json!({"alg": "none", "typ": "at+jwt", "kid": kid}),
        |_| vec![],
    );
    // HS256 keyed with the public key, the classic algorithm-confusion attack.
    let public_key = URL_SAFE_NO_PAD.decode(&jwk.n).unwrap();
    let hs256 = forge(
        &access,
        json!({"alg": "HS256", "typ": "at+jwt", "kid": kid}),
        |input| {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &public_key);
            ring::hmac::sign(&key, input).as_ref().to_vec()
        },
    );
    let wrong_typ = forge(
        &access,
        json!({"alg": "RS256", "typ": "JWT", "kid": kid}),
        |_| vec![1; 256],
    );

    // A well-formed token signed by a key Portcullis does not have.
    let dir = temp_dir();
    portcullis::keys::generate_key(dir.path(), true).unwrap();
    let stranger = portcullis::KeyRing::load(dir.path()).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(access.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let snapshot = stranger.snapshot();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(snapshot.active().kid().to_owned());
    let unknown_key =
        jsonwebtoken::encode(&header, &claims, snapshot.active().encoding_key()).unwrap();
    header.kid = Some(kid.clone());
    let wrong_key_same_kid =
        jsonwebtoken::encode(&header, &claims, snapshot.active().encoding_key()).unwrap();

    for forged in [none, hs256, wrong_typ, unknown_key, wrong_key_same_kid] {
        let answer = bearer(&app.client, Method::Get, "/api/me", Some(&forged), None).await;
        assert_eq!(answer.status, Status::Unauthorized, "{forged}");
        assert_eq!(
            answer.body["error_description"],
            "the access token is invalid"
        );
    }
    let genuine = bearer(&app.client, Method::Get, "/api/me", Some(&access), None).await;
    assert_eq!(genuine.status, Status::Ok);
}

#[rocket::async_test]
async fn tokens_from_a_rotated_out_key_still_pass() {
    let dir = temp_dir();
    portcullis::keys::generate_key(dir.path(), true).unwrap();
    let keys_dir = dir.path().to_path_buf();
    let app = app_with(|c| c.keys_dir = keys_dir).await;
    let seed = seed(&app).await;
    let (old, _) = user_tokens(&app, &seed, "alice", None).await;
    portcullis::keys::rotate(dir.path()).unwrap();
    app.keys.reload_if_changed().unwrap();
    let (new, _) = user_tokens(&app, &seed, "alice", None).await;
    assert_ne!(
        jsonwebtoken::decode_header(&old).unwrap().kid,
        jsonwebtoken::decode_header(&new).unwrap().kid
    );
    for token in [&old, &new] {
        let answer = bearer(&app.client, Method::Get, "/api/me", Some(token), None).await;
        assert_eq!(answer.status, Status::Ok);
    }
    // Removing the old key's file retires its tokens, verified before or not.
    let old_kid = jsonwebtoken::decode_header(&old).unwrap().kid.unwrap();
    std::fs::remove_file(dir.path().join(format!("{old_kid}.pem"))).unwrap();
    app.keys.reload_if_changed().unwrap();
    let retired = bearer(&app.client, Method::Get, "/api/me", Some(&old), None).await;
    assert_eq!(retired.status, Status::Unauthorized);
    assert_eq!(
        bearer(&app.client, Method::Get, "/api/me", Some(&new), None)
            .await
            .status,
        Status::Ok
    );
}
