//! Nothing secret reaches the logs: a full flow (registration, password grant, refresh,
//! revocation, browser sign-in, consent and code exchange) runs with every log event captured at
//! TRACE, and no password, client secret, code, refresh token or access token may appear.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use rocket::http::{ContentType, Status};
use url::Url;

use crate::common::{app_with, basic, csrf_of, post_form, seed, sign_in, token};

#[derive(Clone)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every `tracing` event of this test process from now on (and Rocket's `log` records, unless
/// an instance launched earlier installed Rocket's own logger, which is off).
pub fn captured_logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured(Arc::new(Mutex::new(Vec::new())));
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("trace")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other tracing subscriber in the test process");
        let _ = tracing_log::LogTracer::init();
        logs
    })
}

#[rocket::async_test]
async fn a_full_flow_logs_no_secret() {
    let logs = captured_logs();
    let app = app_with(|c| c.self_registration = true).await;
    let seed = seed(&app).await;
    let password = "Zq8-unique-Password-4417";
    let mut secrets = vec![password.to_owned(), seed.app_secret.clone()];

    let registered = app
        .client
        .post("/register")
        .header(ContentType::JSON)
        .body(format!(r#"{{"username":"carol","password":"{password}"}}"#))
        .dispatch()
        .await;
    assert_eq!(registered.status(), Status::Created);

    let auth = || Some(basic("app", &seed.app_secret));
    let grant = token(
        &app,
        &format!("grant_type=password&username=carol&password={password}"),
        auth(),
    )
    .await;
    assert_eq!(grant.status, Status::Ok);
    let refresh_token = grant.body["refresh_token"].as_str().unwrap().to_owned();
    secrets.push(grant.body["access_token"].as_str().unwrap().to_owned());
    secrets.push(refresh_token.clone());
    let failed = token(
        &app,
        "grant_type=password&username=carol&password=Wrong-Guess-9931",
        auth(),
    )
    .await;
    assert_eq!(failed.status, Status::BadRequest);
    secrets.push("Wrong-Guess-9931".into());

    let refreshed = token(
        &app,
        &format!("grant_type=refresh_token&refresh_token={refresh_token}"),
        auth(),
    )
    .await;
    assert_eq!(refreshed.status, Status::Ok);
    let next = refreshed.body["refresh_token"].as_str().unwrap().to_owned();
    secrets.push(refreshed.body["access_token"].as_str().unwrap().to_owned());
    secrets.push(next.clone());
    let revoked = post_form(
        &app.client,
        "/oauth/revoke",
        &format!("token={next}"),
        auth(),
    )
    .await;
    assert_eq!(revoked.status, Status::Ok);

    // The browser flow, through a client registered for it.
    let (_, third_party_secret) = portcullis::services::clients::create_client(
        &app.store,
        &portcullis::services::Actor::CommandLine,
        portcullis::services::clients::NewClient {
            client_id: Some("web".into()),
            name: "Web".into(),
            kind: portcullis::store::ClientKind::Confidential,
            redirect_uris: vec!["https://web.example/cb".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into()],
            scopes: vec!["profile".into()],
            default_scopes: None,
            can_introspect: false,
        },
    )
    .await
    .unwrap();
    let third_party_secret = third_party_secret.unwrap().expose().to_owned();
    secrets.push(third_party_secret.clone());
    sign_in(&app.client, "carol", password).await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let authorize = "/oauth/authorize?response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
    let consent = app
        .client
        .get(authorize)
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    let approved = app
        .client
        .post(authorize)
        .header(ContentType::Form)
        .body(format!("csrf={}&decision=allow", csrf_of(&consent)))
        .dispatch()
        .await;
    let location = Url::parse(approved.headers().get_one("Location").unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    secrets.push(code.clone());
    secrets.push(verifier.into());
    let exchanged = post_form(
        &app.client,
        "/oauth/token",
        &format!("grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fweb.example%2Fcb&code_verifier={verifier}"),
        Some(basic("web", &third_party_secret)),
    )
    .await;
    assert_eq!(exchanged.status, Status::Ok, "{}", exchanged.body);
    secrets.push(exchanged.body["access_token"].as_str().unwrap().to_owned());

    let captured = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        captured.contains("portcullis::audit"),
        "the flow was logged at all"
    );
    assert!(
        captured.contains("carol"),
        "usernames are logged, secrets are not"
    );
    for secret in &secrets {
        assert!(
            !captured.contains(secret.as_str()),
            "a secret reached the logs: {secret}"
        );
    }
}

/// Every type that holds a secret prints it redacted.
#[test]
fn secrets_are_redacted_in_debug_output() {
    use portcullis::secrets::SecretString;
    let secret = "s3cr3t-value-that-must-not-print";
    let mut kit = portcullis_kit::KitConfig::new("http://issuer.test");
    kit.introspection = Some(("rs".into(), SecretString::new(secret)));
    let issued = portcullis::oauth::tokens::IssuedTokens {
        access_token: SecretString::new(secret),
        jti: portcullis::ids::Jti::carried("jti"),
        expires_in: 60,
        refresh_token: Some(SecretString::new(secret)),
        family_id: None,
        scope: portcullis::oauth::scope::Scope::from_tokens(["profile".to_owned()]),
        id_token: Some(SecretString::new(secret)),
    };
    let form = portcullis::http::OAuthForm(
        [
            ("password", secret),
            ("client_secret", secret),
            ("refresh_token", secret),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
    );
    let mut config = portcullis::Config::default();
    config.mongodb_uri = portcullis::config::Secret::new(format!("mongodb://u:{secret}@h"));
    config.session_secret = Some(portcullis::config::Secret::new(secret));
    for printed in [
        format!("{kit:?}"),
        format!("{issued:?}"),
        format!("{form:?}"),
        format!("{config:?}"),
        format!("{:?}", SecretString::new(secret)),
    ] {
        assert!(!printed.contains(secret), "{printed}");
        assert!(
            printed.contains("***") || printed.contains("parameters"),
            "{printed}"
        );
    }
}
