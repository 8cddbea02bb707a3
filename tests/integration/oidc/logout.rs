//! RP-Initiated Logout 1.0: the session and the refresh-token families begun in it end, the
//! browser returns only to a registered address, and the user confirms whenever the request
//! does not name exactly this sign-in.

use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::Client;
use serde_json::json;

use super::{code_flow, register_rp, RP, SIGNED_OUT};
use crate::admin::{admin_token, call, error_of};
use crate::code_flow::location;
use crate::common::{app, basic, csrf_of, seed, sign_in, sign_out, token};

fn end_session(params: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("/oauth/end_session?{query}")
}

/// Whether the browser is signed in (the sign-in page sends it on, or shows who it is).
async fn signed_in(client: &Client) -> bool {
    let page = client.get("/login").dispatch().await;
    page.into_string()
        .await
        .unwrap()
        .contains("You are signed in")
}

async fn refresh(app: &crate::common::TestApp, secret: &str, refresh: &str) -> Status {
    let form = format!("grant_type=refresh_token&refresh_token={refresh}");
    token(app, &form, Some(basic(RP, secret))).await.status
}

#[rocket::async_test]
async fn a_hinted_logout_ends_the_session_and_its_families_and_returns_to_the_client() {
    let app = app().await;
    seed(&app).await;
    let secret = register_rp(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let browser = code_flow(&app, &secret, "openid", "").await;
    let id_token = browser.body["id_token"].as_str().unwrap().to_owned();
    let browser_refresh = browser.body["refresh_token"].as_str().unwrap().to_owned();
    // A family from elsewhere (the password grant): not this browser's, so it lives on.
    let form = "grant_type=password&username=alice&password=alice-password&scope=openid";
    let elsewhere = token(&app, form, Some(basic(RP, &secret))).await;
    let elsewhere_refresh = elsewhere.body["refresh_token"].as_str().unwrap().to_owned();

    let url = end_session(&[
        ("id_token_hint", &id_token),
        ("post_logout_redirect_uri", SIGNED_OUT),
        ("state", "bye 1"),
    ]);
    let response = app.client.get(url).dispatch().await;
    assert_eq!(response.status(), Status::SeeOther);
    assert_eq!(
        location(&response).as_deref(),
        Some(format!("{SIGNED_OUT}?state=bye+1").as_str())
    );
    assert!(!signed_in(&app.client).await);
    assert_eq!(
        refresh(&app, &secret, &browser_refresh).await,
        Status::BadRequest
    );
    assert_eq!(refresh(&app, &secret, &elsewhere_refresh).await, Status::Ok);

    // Signed out already: straight back, nothing to ask. Without a return address, the
    // signed-out page.
    let again = end_session(&[
        ("id_token_hint", &id_token),
        ("post_logout_redirect_uri", SIGNED_OUT),
    ]);
    let response = app.client.get(again).dispatch().await;
    assert_eq!(location(&response).as_deref(), Some(SIGNED_OUT));
    let page = app.client.get("/oauth/end_session").dispatch().await;
    assert_eq!(page.status(), Status::Ok);
    assert!(page
        .into_string()
        .await
        .unwrap()
        .contains("You are signed out"));
}

#[rocket::async_test]
async fn without_a_hint_for_this_sign_in_the_user_confirms() {
    let app = app().await;
    seed(&app).await;
    let secret = register_rp(&app).await;
    // Root's id token, while alice is signed in: not this sign-in.
    sign_in(&app.client, "root", "root-password").await;
    let roots = code_flow(&app, &secret, "openid", "").await;
    let roots_hint = roots.body["id_token"].as_str().unwrap().to_owned();
    sign_out(&app.client).await;
    sign_in(&app.client, "alice", "alice-password").await;

    for params in [
        vec![
            ("client_id", RP),
            ("post_logout_redirect_uri", SIGNED_OUT),
            ("state", "s"),
        ],
        vec![
            ("id_token_hint", roots_hint.as_str()),
            ("post_logout_redirect_uri", SIGNED_OUT),
            ("state", "s"),
        ],
    ] {
        let response = app.client.get(end_session(&params)).dispatch().await;
        assert_eq!(response.status(), Status::Ok, "{params:?}");
        let page = response.into_string().await.unwrap();
        assert!(
            page.contains("Sign out?") && page.contains("Relying party"),
            "{page}"
        );
        assert!(
            signed_in(&app.client).await,
            "nothing ends before the user says so"
        );

        let csrf = csrf_of(&page);
        let form = |decision: &str, csrf: &str| {
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("csrf", csrf)
                .append_pair("client_id", RP)
                .append_pair("post_logout_redirect_uri", SIGNED_OUT)
                .append_pair("state", "s")
                .append_pair("decision", decision)
                .finish()
        };
        let post = |body: String| {
            app.client
                .post("/oauth/end_session")
                .header(ContentType::Form)
                .body(body)
        };
        // A forged confirmation: wrong token, or posted from another site.
        assert_eq!(
            post(form("logout", "forged")).dispatch().await.status(),
            Status::Forbidden
        );
        let cross = post(form("logout", &csrf)).header(Header::new("Sec-Fetch-Site", "cross-site"));
        assert_eq!(cross.dispatch().await.status(), Status::Forbidden);
        assert!(signed_in(&app.client).await);
        // "Stay signed in" stays.
        let stay = post(form("stay", &csrf)).dispatch().await;
        assert_eq!(stay.status(), Status::Ok);
        assert!(signed_in(&app.client).await);
        // "Sign out" signs out and returns with state.
        let out = post(form("logout", &csrf)).dispatch().await;
        assert_eq!(out.status(), Status::SeeOther);
        assert_eq!(
            location(&out).as_deref(),
            Some(format!("{SIGNED_OUT}?state=s").as_str())
        );
        assert!(!signed_in(&app.client).await);
        sign_in(&app.client, "alice", "alice-password").await;
    }
}

#[rocket::async_test]
async fn unregistered_return_addresses_are_never_followed() {
    let app = app().await;
    let seed = seed(&app).await;
    let secret = register_rp(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let tokens = code_flow(&app, &secret, "openid", "").await;
    let hint = tokens.body["id_token"].as_str().unwrap().to_owned();
    let access = tokens.body["access_token"].as_str().unwrap().to_owned();

    for params in [
        vec![
            ("client_id", RP),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ],
        vec![
            ("client_id", RP),
            (
                "post_logout_redirect_uri",
                "https://client.example/signed-out/",
            ),
        ],
        vec![("post_logout_redirect_uri", SIGNED_OUT)],
        vec![
            ("client_id", "nobody"),
            ("post_logout_redirect_uri", SIGNED_OUT),
        ],
        vec![("client_id", "m2m"), ("id_token_hint", &hint)],
        vec![("id_token_hint", "garbage")],
        vec![("id_token_hint", &access)],
    ] {
        let response = app.client.get(end_session(&params)).dispatch().await;
        assert_eq!(response.status(), Status::BadRequest, "{params:?}");
        assert!(location(&response).is_none());
    }
    assert!(
        signed_in(&app.client).await,
        "a refused request ends nothing"
    );

    // The addresses are registered through the admin API (and the CLI), checked as redirect
    // URIs are.
    let admin = admin_token(&app, &seed).await;
    let path = format!("/admin/v1/clients/{RP}");
    let bad = json!({ "post_logout_redirect_uris": ["http://evil.example/out"] });
    let refused = call(&app, &admin, rocket::http::Method::Patch, &path, Some(bad)).await;
    assert_eq!(refused.status, Status::BadRequest, "{}", refused.body);
    assert_eq!(error_of(&refused), "invalid_request");
    let good = json!({ "post_logout_redirect_uris": ["https://evil.example/out"] });
    let changed = call(&app, &admin, rocket::http::Method::Patch, &path, Some(good)).await;
    assert_eq!(changed.status, Status::Ok, "{}", changed.body);
    assert_eq!(
        changed.body["post_logout_redirect_uris"],
        json!(["https://evil.example/out"])
    );
    let url = end_session(&[
        ("id_token_hint", &hint),
        ("post_logout_redirect_uri", "https://evil.example/out"),
    ]);
    let response = app.client.get(url).dispatch().await;
    assert_eq!(
        location(&response).as_deref(),
        Some("https://evil.example/out")
    );
}
