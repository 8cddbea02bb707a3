//! `POST /register`: self-registration rules.

use rocket::http::{ContentType, Status};
use serde_json::Value;

use crate::common::{app, app_with};

async fn register(app: &crate::common::TestApp, body: &str) -> (Status, Value) {
    let response = app
        .client
        .post("/register")
        .header(ContentType::JSON)
        .body(body)
        .dispatch()
        .await;
    let status = response.status();
    (status, response.into_json().await.unwrap_or(Value::Null))
}

#[rocket::async_test]
async fn registration_is_off_unless_configured() {
    let app = app().await;
    let (status, body) = register(&app, r#"{"username":"eve","password":"long enough"}"#).await;
    assert_eq!(status, Status::Forbidden);
    assert_eq!(body["error"], "access_denied");
}

#[rocket::async_test]
async fn registration_creates_user_role_accounts_only() {
    let app = app_with(|c| c.self_registration = true).await;
    let (status, body) = register(&app, r#"{"username":"Eve","password":"long enough"}"#).await;
    assert_eq!(status, Status::Created, "{body}");
    assert_eq!(body["role"], "user");
    assert_eq!(body["username"], "Eve");

    let (status, body) = register(&app, r#"{"username":"eve","password":"long enough"}"#).await;
    assert_eq!(status, Status::Conflict, "{body}");
    let (status, body) = register(&app, r#"{"username":"mallory","password":"short"}"#).await;
    assert_eq!(status, Status::BadRequest);
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("8 characters"));
    let (status, _) = register(&app, r#"{"username":"bad name","password":"long enough"}"#).await;
    assert_eq!(status, Status::BadRequest);
    let (status, _) = register(
        &app,
        r#"{"username":"mallory","password":"long enough","role":"admin"}"#,
    )
    .await;
    assert_eq!(
        status,
        Status::BadRequest,
        "a role in the body is refused, never applied"
    );
    let (status, _) = register(&app, "not json").await;
    assert_eq!(status, Status::BadRequest);
    assert!(
        portcullis::services::users::find_user(&app.store, "mallory")
            .await
            .unwrap()
            .is_none()
    );
}

#[rocket::async_test]
async fn look_alike_names_cannot_sit_beside_real_ones() {
    let app = app_with(|c| c.self_registration = true).await;
    let (status, _) = register(&app, r#"{"username":"root","password":"long enough"}"#).await;
    assert_eq!(status, Status::Created);
    // Cyrillic о twice; digit zeroes; a fullwidth r: all look like "root".
    for name in ["r\u{43e}\u{43e}t", "r00t", "\u{ff52}oot"] {
        let body = serde_json::json!({ "username": name, "password": "long enough" }).to_string();
        let (status, answer) = register(&app, &body).await;
        assert_eq!(status, Status::Conflict, "{name}: {answer}");
    }
    // Concurrent registrations of two look-alikes: exactly one account.
    let a =
        serde_json::json!({ "username": "admin\u{456}", "password": "long enough" }).to_string();
    let b = r#"{"username":"admini","password":"long enough"}"#.to_owned();
    let (first, second) = futures_util::join!(register(&app, &a), register(&app, &b));
    let created = [first.0, second.0]
        .iter()
        .filter(|s| **s == Status::Created)
        .count();
    assert_eq!(created, 1, "{first:?} {second:?}");
}

/// Creating an account from the sign-in page of an authorization request continues that
/// request: the new user is signed in, asked for consent, and the app gets its code.
#[rocket::async_test]
async fn registering_in_the_middle_of_an_authorization_continues_it() {
    use crate::code_flow::{authorize, authorize_url, location, param, register_clients};
    use crate::common::{csrf_of, seed};

    let app = app_with(|c| c.self_registration = true).await;
    seed(&app).await;
    register_clients(&app).await;
    let url = authorize_url("thirdparty", crate::code_flow::CALLBACK, "profile", "");
    let to_login = app.client.get(url.clone()).dispatch().await;
    let login = location(&to_login).expect("sent to sign in");
    let login_page = app
        .client
        .get(login)
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    // The "Create one" link carries the pending request.
    let link = login_page
        .split("href=\"")
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.starts_with("/register"))
        .expect("a link to the registration page")
        .replace("&amp;", "&");
    assert!(
        link.starts_with("/register?return_to=%2Foauth%2Fauthorize"),
        "{link}"
    );
    let register_page = app
        .client
        .get(link)
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    let return_to = register_page
        .split("name=\"return_to\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form keeps the request")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&");
    assert_eq!(return_to, url);

    // A refused registration keeps the request too.
    let form = |username: &str, password: &str| {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf", &csrf_of(&register_page))
            .append_pair("username", username)
            .append_pair("password", password)
            .append_pair("return_to", &return_to)
            .finish()
    };
    let weak = app
        .client
        .post("/register")
        .header(ContentType::Form)
        .body(form("newcomer", "short"))
        .dispatch()
        .await;
    assert_eq!(weak.status(), Status::BadRequest);
    assert!(weak
        .into_string()
        .await
        .unwrap()
        .contains("name=\"return_to\""));

    let created = app
        .client
        .post("/register")
        .header(ContentType::Form)
        .body(form("newcomer", "long enough password"))
        .dispatch()
        .await;
    assert_eq!(created.status(), Status::SeeOther);
    assert_eq!(location(&created).as_deref(), Some(url.as_str()));
    // Signed in: the consent page, then the redirect with a code.
    let params = authorize(&app.client, &url, true).await;
    assert!(param(&params, "code").is_some(), "{params:?}");
    assert_eq!(param(&params, "state"), Some("xyz 123"));

    // A return address that is not the authorization endpoint is dropped, as at sign-in.
    let elsewhere = app
        .client
        .get("/register?return_to=https%3A%2F%2Fevil.example%2F")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(!elsewhere.contains("evil.example"), "{elsewhere}");
}
