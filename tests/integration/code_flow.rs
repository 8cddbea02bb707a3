//! The browser authorization-code flow driven through the in-process client (which keeps
//! cookies like a browser): the clients it needs, the authorization URL, following the
//! redirects through sign-in and consent, and the code exchange. Shared by the modules that
//! test the flow.

use rocket::http::{ContentType, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use url::Url;

use crate::common::{basic, csrf_of, post_form, TestApp};

pub const CALLBACK: &str = "https://client.example/cb";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// RFC 7636 Appendix B: the S256 challenge of `VERIFIER`.
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A confidential third-party client (`thirdparty`) and a public native one (`native`).
pub async fn register_clients(app: &TestApp) -> String {
    use portcullis::services::clients::{create_client, NewClient};
    use portcullis::store::ClientKind;
    let new = |id: &str, kind, uri: &str| NewClient {
        client_id: Some(id.into()),
        name: format!("{id} app"),
        kind,
        redirect_uris: vec![uri.into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["profile".into(), "data:read".into(), "data:write".into()],
        default_scopes: Some(vec!["profile".into()]),
        can_introspect: false,
    };
    let (_, secret) = create_client(
        &app.store,
        &portcullis::services::Actor::CommandLine,
        new("thirdparty", ClientKind::Confidential, CALLBACK),
    )
    .await
    .unwrap();
    create_client(
        &app.store,
        &portcullis::services::Actor::CommandLine,
        new("native", ClientKind::Public, "http://127.0.0.1/cb"),
    )
    .await
    .unwrap();
    secret.unwrap().expose().to_owned()
}

pub fn authorize_url(client_id: &str, redirect: &str, scope: &str, extra: &str) -> String {
    let mut url = Url::parse("http://portcullis.test/oauth/authorize").unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", scope)
        .append_pair("state", "xyz 123")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    format!("/oauth/authorize?{}{extra}", url.query().unwrap())
}

pub fn location(response: &LocalResponse<'_>) -> Option<String> {
    response.headers().get_one("Location").map(str::to_owned)
}

/// Runs GET /oauth/authorize and, when the consent page shows, approves it. Returns the
/// final redirect's query parameters.
pub async fn authorize(client: &Client, url: &str, approve: bool) -> Vec<(String, String)> {
    let response = client.get(url.to_owned()).dispatch().await;
    let redirect = if response.status() == Status::Ok {
        let page = response.into_string().await.unwrap();
        assert!(page.contains("wants access"), "{page}");
        let decision = if approve { "allow" } else { "deny" };
        let consent = client
            .post(url.to_owned())
            .header(ContentType::Form)
            .body(format!("csrf={}&decision={decision}", csrf_of(&page)))
            .dispatch()
            .await;
        assert_eq!(consent.status(), Status::Found);
        location(&consent).unwrap()
    } else {
        assert_eq!(response.status(), Status::Found);
        location(&response).unwrap()
    };
    assert!(
        redirect.starts_with(CALLBACK) || redirect.starts_with("http://127.0.0.1"),
        "{redirect}"
    );
    Url::parse(&redirect)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub async fn exchange(
    app: &TestApp,
    secret: &str,
    code: &str,
    verifier: &str,
) -> crate::common::Answer {
    let form = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={verifier}",
        url::form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
    );
    post_form(
        &app.client,
        "/oauth/token",
        &form,
        Some(basic("thirdparty", secret)),
    )
    .await
}
