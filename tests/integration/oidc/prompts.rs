//! The authentication request's OpenID Connect parameters (OIDC Core §3.1.2.1): `prompt`,
//! `max_age`, `login_hint`, `id_token_hint`, and the form-post response mode, each branch with
//! what the client gets back.

use rocket::http::{ContentType, Status};
use rocket::local::asynchronous::Client;
use url::Url;

use super::{code_flow, exchange, register_rp, verified_id_token, RP};
use crate::code_flow::{authorize_url, location, param, CALLBACK};
use crate::common::{app, csrf_of, seed, sign_in, sign_out, wall_clock_advance, TestApp};

/// Where the authorization endpoint sends the browser, and the page when it shows one.
async fn visit(client: &Client, url: &str) -> (Status, Option<String>, String) {
    let response = client.get(url.to_owned()).dispatch().await;
    let (status, to) = (response.status(), location(&response));
    (status, to, response.into_string().await.unwrap_or_default())
}

/// The query parameters of a redirect to the client.
fn answer_of(to: &str) -> Vec<(String, String)> {
    assert!(to.starts_with(CALLBACK), "not to the client: {to}");
    Url::parse(to).unwrap().query_pairs().into_owned().collect()
}

/// Signs in on the page the endpoint sent the browser to, and follows the way back.
async fn sign_in_at(client: &Client, login: &str, username: &str) -> String {
    let page = client.get(login.to_owned()).dispatch().await;
    assert_eq!(page.status(), Status::Ok);
    let page = page.into_string().await.unwrap();
    let return_to = Url::parse(&format!("http://portcullis.test{login}"))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "return_to")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &csrf_of(&page))
        .append_pair("username", username)
        .append_pair("password", &format!("{username}-password"))
        .append_pair("return_to", &return_to)
        .finish();
    let response = client
        .post("/login")
        .header(ContentType::Form)
        .body(form)
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::SeeOther);
    location(&response).unwrap()
}

/// Approves the consent page once, so later requests for `openid` need no page.
async fn remember_consent(app: &TestApp, secret: &str) -> serde_json::Value {
    let tokens = code_flow(app, secret, "openid", "&nonce=first").await;
    verified_id_token(app, secret, &tokens, Some("first"))
        .await
        .1
}

#[rocket::async_test]
async fn prompt_none_never_shows_a_page() {
    let app = app().await;
    seed(&app).await;
    let secret = register_rp(&app).await;
    let url = authorize_url(RP, CALLBACK, "openid", "&prompt=none");

    // Not signed in: login_required at the redirect URI, with state and iss.
    let (status, to, _) = visit(&app.client, &url).await;
    assert_eq!(status, Status::Found);
    let answer = answer_of(&to.unwrap());
    assert_eq!(param(&answer, "error"), Some("login_required"));
    assert_eq!(param(&answer, "state"), Some("xyz 123"));
    assert_eq!(param(&answer, "iss"), Some(app.config.issuer.as_str()));

    // Signed in, never approved: consent_required.
    sign_in(&app.client, "alice", "alice-password").await;
    let (_, to, _) = visit(&app.client, &url).await;
    assert_eq!(
        param(&answer_of(&to.unwrap()), "error"),
        Some("consent_required")
    );

    // Approved once: the code, silently.
    remember_consent(&app, &secret).await;
    let (status, to, _) = visit(&app.client, &url).await;
    assert_eq!(status, Status::Found);
    let code = param(&answer_of(&to.unwrap()), "code").unwrap().to_owned();
    assert_eq!(
        exchange(&app.client, &secret, &code).await.status,
        Status::Ok
    );

    // A fresh sign-in would need the page: login_required (max_age=0 is prompt=login).
    let fresh = authorize_url(RP, CALLBACK, "openid", "&prompt=none&max_age=0");
    let (_, to, _) = visit(&app.client, &fresh).await;
    assert_eq!(
        param(&answer_of(&to.unwrap()), "error"),
        Some("login_required")
    );
    // none with another value is malformed.
    let both = authorize_url(RP, CALLBACK, "openid", "&prompt=none%20login");
    let (_, to, _) = visit(&app.client, &both).await;
    assert_eq!(
        param(&answer_of(&to.unwrap()), "error"),
        Some("invalid_request")
    );
}

#[rocket::async_test]
async fn prompt_login_and_max_age_ask_for_a_sign_in_that_cannot_be_skipped() {
    let app = app().await;
    seed(&app).await;
    let secret = register_rp(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let first = remember_consent(&app, &secret).await;
    let first_auth_time = first["auth_time"].as_u64().unwrap();

    for extra in ["&prompt=login&nonce=again", "&max_age=0&nonce=again"] {
        wall_clock_advance(1100).await;
        let url = authorize_url(RP, CALLBACK, "openid", extra);
        let (status, to, _) = visit(&app.client, &url).await;
        assert_eq!(status, Status::Found, "{extra}");
        let login = to.unwrap();
        assert!(
            login.starts_with("/login?") && login.contains("prompt=login"),
            "{login}"
        );
        // The page asks even though the browser is signed in.
        let (status, _, page) = visit(&app.client, &login).await;
        assert_eq!(status, Status::Ok);
        assert!(page.contains("sign in again"), "{page}");
        // Coming back without signing in is sent to sign in again, not through.
        let (_, skipped, _) = visit(&app.client, &url).await;
        assert!(skipped.unwrap().starts_with("/login?"), "{extra}");

        let back = sign_in_at(&app.client, &login, "alice").await;
        assert_eq!(back, url);
        let (status, to, _) = visit(&app.client, &back).await;
        assert_eq!(status, Status::Found);
        let code = param(&answer_of(&to.unwrap()), "code").unwrap().to_owned();
        let tokens = exchange(&app.client, &secret, &code).await;
        let (_, claims) = verified_id_token(&app, &secret, &tokens, Some("again")).await;
        assert!(
            claims["auth_time"].as_u64().unwrap() > first_auth_time,
            "{extra}: {claims}"
        );
        assert_eq!(
            claims["sid"], first["sid"],
            "the same user signing in again keeps the browser's session id"
        );
    }

    // A generous max_age is satisfied by the session as it is.
    let url = authorize_url(RP, CALLBACK, "openid", "&max_age=3600");
    let (_, to, _) = visit(&app.client, &url).await;
    assert!(param(&answer_of(&to.unwrap()), "code").is_some());
    // A malformed one is refused.
    let url = authorize_url(RP, CALLBACK, "openid", "&max_age=soon");
    let (_, to, _) = visit(&app.client, &url).await;
    assert_eq!(
        param(&answer_of(&to.unwrap()), "error"),
        Some("invalid_request")
    );
}

#[rocket::async_test]
async fn id_token_hint_must_name_the_signed_in_user() {
    let app = app().await;
    seed(&app).await;
    let secret = register_rp(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let tokens = code_flow(&app, &secret, "openid", "").await;
    let alice_hint = tokens.body["id_token"].as_str().unwrap().to_owned();

    // Alice's own hint: straight through.
    let url = authorize_url(
        RP,
        CALLBACK,
        "openid",
        &format!("&id_token_hint={alice_hint}"),
    );
    let (_, to, _) = visit(&app.client, &url).await;
    assert!(param(&answer_of(&to.unwrap()), "code").is_some());

    // Signed in as root, with alice's hint: sign in again; with prompt=none, login_required;
    // signing in again as root anyway, login_required too.
    sign_out(&app.client).await;
    sign_in(&app.client, "root", "root-password").await;
    let (_, to, _) = visit(&app.client, &url).await;
    let login = to.unwrap();
    assert!(
        login.starts_with("/login?") && login.contains("prompt=login"),
        "{login}"
    );
    let none = format!("{url}&prompt=none");
    let (_, to, _) = visit(&app.client, &none).await;
    assert_eq!(
        param(&answer_of(&to.unwrap()), "error"),
        Some("login_required")
    );
    let back = sign_in_at(&app.client, &login, "root").await;
    let (_, to, _) = visit(&app.client, &back).await;
    assert_eq!(
        param(&answer_of(&to.unwrap()), "error"),
        Some("login_required")
    );

    // Not an id token of this server: invalid_request.
    let access = tokens.body["access_token"].as_str().unwrap();
    for bad in ["garbage", access] {
        let url = authorize_url(RP, CALLBACK, "openid", &format!("&id_token_hint={bad}"));
        let (_, to, _) = visit(&app.client, &url).await;
        assert_eq!(
            param(&answer_of(&to.unwrap()), "error"),
            Some("invalid_request")
        );
    }
}

#[rocket::async_test]
async fn prompt_consent_asks_again_and_login_hint_fills_in_the_name() {
    let app = app().await;
    seed(&app).await;
    let secret = register_rp(&app).await;
    let url = authorize_url(RP, CALLBACK, "openid", "&login_hint=alice%40example");
    let (_, to, _) = visit(&app.client, &url).await;
    let login = to.unwrap();
    let (_, _, page) = visit(&app.client, &login).await;
    assert!(page.contains("value=\"alice@example\""), "{page}");

    sign_in(&app.client, "alice", "alice-password").await;
    remember_consent(&app, &secret).await;
    let url = authorize_url(RP, CALLBACK, "openid", "&prompt=consent");
    let (status, _, page) = visit(&app.client, &url).await;
    assert_eq!(status, Status::Ok);
    assert!(page.contains("wants access"), "{page}");
}

#[rocket::async_test]
async fn form_post_answers_with_a_form_that_posts_itself() {
    let app = app().await;
    seed(&app).await;
    let secret = register_rp(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    remember_consent(&app, &secret).await;

    let url = authorize_url(
        RP,
        CALLBACK,
        "openid",
        "&response_mode=form_post&nonce=%22%3E%3Cb%3E",
    );
    let response = app.client.get(url).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    let policy = response
        .headers()
        .get_one("Content-Security-Policy")
        .unwrap()
        .to_owned();
    // Tera escapes `/` in attribute values as `&#x2F;`, which the browser reads back as `/`.
    let page = response.into_string().await.unwrap().replace("&#x2F;", "/");
    // The one script runs by its nonce; nothing else may.
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a script nonce in the policy");
    assert!(
        page.contains(&format!("<script nonce=\"{nonce}\">")),
        "{page}"
    );
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(page.contains(&format!("action=\"{CALLBACK}\"")), "{page}");
    for field in ["code", "state", "iss"] {
        assert!(
            page.contains(&format!("name=\"{field}\"")),
            "{field}: {page}"
        );
    }
    assert!(page.contains("value=\"xyz 123\""));
    let code = page
        .split("name=\"code\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    assert_eq!(
        exchange(&app.client, &secret, code).await.status,
        Status::Ok
    );

    // Errors travel the same way.
    let url = authorize_url(
        RP,
        CALLBACK,
        "openid",
        "&response_mode=form_post&prompt=consent&prompt=none",
    );
    let (status, _, _) = visit(&app.client, &url).await;
    assert_eq!(
        status,
        Status::BadRequest,
        "a repeated parameter is malformed, not posted"
    );
    let url = authorize_url(RP, CALLBACK, "openid", "&response_mode=form_post&max_age=x");
    let (status, _, page) = visit(&app.client, &url).await;
    assert_eq!(status, Status::Ok);
    assert!(
        page.contains("name=\"error\" value=\"invalid_request\""),
        "{page}"
    );
    // A mode Portcullis does not offer is refused in the query.
    let url = authorize_url(RP, CALLBACK, "openid", "&response_mode=fragment");
    let (_, to, _) = visit(&app.client, &url).await;
    assert_eq!(
        param(&answer_of(&to.unwrap()), "error"),
        Some("invalid_request")
    );
}
