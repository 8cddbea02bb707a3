//! `POST /oauth/token`: every grant's success path, every RFC 6749 §5.2 error, client
//! authentication methods, scopes, and the caching headers.

use rocket::http::{ContentType, Status};
use serde_json::Value;

use crate::common::{app, basic, seed, token, Answer};
use crate::jwt::verify_with_jwks;

fn assert_no_store(answer: &Answer) {
    assert_eq!(answer.header("Cache-Control"), Some("no-store"));
    assert_eq!(answer.header("Pragma"), Some("no-cache"));
}

fn assert_error(answer: &Answer, status: Status, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.body["error"], code, "{}", answer.body);
    let description = answer.body["error_description"].as_str().unwrap();
    assert!(description.is_ascii() && !description.is_empty());
    assert_no_store(answer);
}

#[rocket::async_test]
async fn password_grant_issues_a_verifiable_jwt_and_refresh_token() {
    let app = app().await;
    let seed = seed(&app).await;
    let answer = token(
        &app,
        "grant_type=password&username=alice&password=alice-password",
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    assert_no_store(&answer);
    assert_eq!(answer.body["token_type"], "Bearer");
    assert_eq!(answer.body["expires_in"], 900);
    // Role `user` allows profile and data:read; the client's defaults are all four.
    assert_eq!(answer.body["scope"], "data:read profile");
    assert_eq!(answer.body["refresh_token"].as_str().unwrap().len(), 43);

    let (header, claims) =
        verify_with_jwks(&app, answer.body["access_token"].as_str().unwrap()).await;
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(
        header.kid.as_deref(),
        Some(app.keys.snapshot().active().kid())
    );
    assert_eq!(claims["iss"], "http://portcullis.test");
    assert_eq!(claims["aud"], serde_json::json!(["portcullis-api"]));
    assert_eq!(claims["sub"], seed.alice.id.to_hex());
    assert_eq!(claims["username"], "alice");
    assert_eq!(claims["role"], "user");
    assert_eq!(claims["client_id"], "app");
    assert_eq!(claims["scope"], "data:read profile");
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        900
    );
    assert_eq!(claims["nbf"], claims["iat"]);
    assert_eq!(claims["jti"].as_str().unwrap().len(), 22);
    assert!(
        claims["sid"].is_string(),
        "tokens from a refresh family name it"
    );

    let events = app.store.recent_audit_events(10).await.unwrap();
    let issued = events
        .iter()
        .find(|e| e.kind == portcullis::store::AuditKind::TokenIssued)
        .expect("token issue audited");
    assert_eq!(issued.jti.as_deref(), claims["jti"].as_str());
    assert_eq!(issued.grant_type.as_deref(), Some("password"));
}

#[rocket::async_test]
async fn client_secret_post_and_public_clients() {
    let app = app().await;
    let seed = seed(&app).await;
    let form = format!(
        "grant_type=password&username=alice&password=alice-password&client_id=app&client_secret={}",
        seed.app_secret
    );
    assert_eq!(token(&app, &form, None).await.status, Status::Ok);

    // Two authentication methods in one request.
    let both = token(&app, &form, Some(basic("app", &seed.app_secret))).await;
    assert_error(&both, Status::BadRequest, "invalid_request");

    // A public client names itself and presents no secret: it is authenticated (the refresh
    // token is what is wrong), while one presenting a secret is not.
    let public = token(
        &app,
        "grant_type=refresh_token&refresh_token=unknown&client_id=mobile",
        None,
    )
    .await;
    assert_error(&public, Status::BadRequest, "invalid_grant");
    let pretending = token(
        &app,
        "grant_type=refresh_token&refresh_token=unknown&client_id=mobile&client_secret=x",
        None,
    )
    .await;
    assert_error(&pretending, Status::Unauthorized, "invalid_client");

    // A confidential client without its secret.
    let bare = token(
        &app,
        "grant_type=password&username=alice&password=alice-password&client_id=app",
        None,
    )
    .await;
    assert_error(&bare, Status::Unauthorized, "invalid_client");
}

#[rocket::async_test]
async fn failed_client_authentication_is_401_with_a_basic_challenge() {
    let app = app().await;
    let seed = seed(&app).await;
    let form = "grant_type=password&username=alice&password=alice-password";
    for auth in [
        basic("app", "wrong"),
        basic("nobody", &seed.app_secret),
        basic("m2m", &seed.app_secret),
    ] {
        let answer = token(&app, form, Some(auth)).await;
        assert_error(&answer, Status::Unauthorized, "invalid_client");
        assert_eq!(
            answer.header("WWW-Authenticate"),
            Some("Basic realm=\"portcullis\"")
        );
    }
    assert_error(
        &token(&app, form, None).await,
        Status::Unauthorized,
        "invalid_client",
    );
    let garbage = rocket::http::Header::new("Authorization", "Basic !!!");
    assert_error(
        &token(&app, form, Some(garbage)).await,
        Status::BadRequest,
        "invalid_request",
    );
}

#[rocket::async_test]
async fn wrong_password_unknown_user_and_disabled_user_look_the_same() {
    let app = app().await;
    let seed = seed(&app).await;
    let auth = || Some(basic("app", &seed.app_secret));
    let wrong = token(
        &app,
        "grant_type=password&username=alice&password=nope",
        auth(),
    )
    .await;
    let unknown = token(
        &app,
        "grant_type=password&username=zed&password=alice-password",
        auth(),
    )
    .await;
    portcullis::services::users::set_disabled(
        &app.store,
        &app.revocations,
        &portcullis::services::Actor::CommandLine,
        "alice",
        true,
    )
    .await
    .unwrap();
    let disabled = token(
        &app,
        "grant_type=password&username=alice&password=alice-password",
        auth(),
    )
    .await;
    for answer in [&wrong, &unknown, &disabled] {
        assert_error(answer, Status::BadRequest, "invalid_grant");
        assert_eq!(answer.body, wrong.body);
    }
    let events = app.store.recent_audit_events(20).await.unwrap();
    let reasons: Vec<_> = events
        .iter()
        .filter(|e| e.kind == portcullis::store::AuditKind::LoginFailed)
        .map(|e| e.reason.clone().unwrap())
        .collect();
    for reason in ["bad_password", "unknown_user", "disabled"] {
        assert!(reasons.iter().any(|r| r == reason), "{reasons:?}");
    }
    let printed = format!("{events:?}");
    assert!(!printed.contains("alice-password") && !printed.contains("nope"));
}

#[rocket::async_test]
async fn malformed_requests_are_invalid_request() {
    let app = app().await;
    let seed = seed(&app).await;
    let auth = || Some(basic("app", &seed.app_secret));
    let repeated = token(
        &app,
        "grant_type=password&username=alice&username=bob&password=x",
        auth(),
    )
    .await;
    assert_error(&repeated, Status::BadRequest, "invalid_request");
    assert!(repeated.body["error_description"]
        .as_str()
        .unwrap()
        .contains("username"));

    assert_error(
        &token(&app, "username=alice", auth()).await,
        Status::BadRequest,
        "invalid_request",
    );
    assert_error(
        &token(&app, "grant_type=password&password=x", auth()).await,
        Status::BadRequest,
        "invalid_request",
    );

    let json = app
        .client
        .post("/oauth/token")
        .header(ContentType::JSON)
        .header(basic("app", &seed.app_secret))
        .body(r#"{"grant_type":"password"}"#)
        .dispatch()
        .await;
    assert_eq!(json.status(), Status::BadRequest);
    assert_eq!(json.headers().get_one("Cache-Control"), Some("no-store"));
    let body: Value = json.into_json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");

    let get = app.client.get("/oauth/token").dispatch().await;
    assert_eq!(get.status(), Status::MethodNotAllowed);
    assert_eq!(get.headers().get_one("Allow"), Some("POST"));

    let too_big = format!("grant_type=password&username={}", "a".repeat(20_000));
    let answer = token(&app, &too_big, auth()).await;
    assert_eq!(answer.status, Status::PayloadTooLarge);
    assert_eq!(answer.body["error"], "invalid_request");
}

#[rocket::async_test]
async fn grant_types_are_checked_against_the_registration() {
    let app = app().await;
    let seed = seed(&app).await;
    let unsupported = token(
        &app,
        "grant_type=implicit",
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_error(&unsupported, Status::BadRequest, "unsupported_grant_type");
    let unauthorized = token(
        &app,
        "grant_type=password&username=alice&password=alice-password",
        Some(basic("m2m", &seed.m2m_secret)),
    )
    .await;
    assert_error(&unauthorized, Status::BadRequest, "unauthorized_client");
    let public_m2m = token(&app, "grant_type=client_credentials&client_id=mobile", None).await;
    assert_error(&public_m2m, Status::BadRequest, "unauthorized_client");
}

#[rocket::async_test]
async fn scopes_are_the_intersection_of_request_client_and_role() {
    let app = app().await;
    let seed = seed(&app).await;
    let auth = || Some(basic("app", &seed.app_secret));
    let alice = "grant_type=password&username=alice&password=alice-password";
    let root = "grant_type=password&username=root&password=root-password";

    let narrowed = token(&app, &format!("{alice}&scope=profile"), auth()).await;
    assert_eq!(narrowed.body["scope"], "profile");
    let beyond_role = token(&app, &format!("{alice}&scope=data:write"), auth()).await;
    assert_error(&beyond_role, Status::BadRequest, "invalid_scope");
    let malformed = token(&app, &format!("{alice}&scope=a%22b"), auth()).await;
    assert_error(&malformed, Status::BadRequest, "invalid_scope");

    let admin = token(&app, &format!("{root}&scope=admin%20data:write"), auth()).await;
    assert_eq!(admin.body["scope"], "admin data:write", "{}", admin.body);
    let admin_default = token(&app, root, auth()).await;
    assert_eq!(
        admin_default.body["scope"],
        "admin data:read data:write profile"
    );

    // A public client never gets the password grant (RFC 9700 §2.4), whatever it asks for.
    let mobile = token(
        &app,
        "grant_type=password&username=root&password=root-password&client_id=mobile&scope=admin",
        None,
    )
    .await;
    assert_error(&mobile, Status::BadRequest, "unauthorized_client");
}

#[rocket::async_test]
async fn client_credentials_issue_a_client_token_without_refresh() {
    let app = app().await;
    let seed = seed(&app).await;
    let answer = token(
        &app,
        "grant_type=client_credentials",
        Some(basic("m2m", &seed.m2m_secret)),
    )
    .await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    assert!(answer.body.get("refresh_token").is_none());
    assert_eq!(answer.body["scope"], "data:read");
    let (_, claims) = verify_with_jwks(&app, answer.body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], "m2m");
    assert_eq!(claims["client_id"], "m2m");
    assert!(claims.get("role").is_none() && claims.get("username").is_none());

    let beyond = token(
        &app,
        "grant_type=client_credentials&scope=admin",
        Some(basic("m2m", &seed.m2m_secret)),
    )
    .await;
    assert_error(&beyond, Status::BadRequest, "invalid_scope");
}

#[rocket::async_test]
async fn clients_without_the_refresh_grant_get_no_refresh_token() {
    let app = app().await;
    let seed = seed(&app).await;
    let answer = token(
        &app,
        "grant_type=password&username=alice&password=alice-password",
        Some(basic("noref", &seed.noref_secret)),
    )
    .await;
    assert_eq!(answer.status, Status::Ok);
    assert!(answer.body.get("refresh_token").is_none());
}
