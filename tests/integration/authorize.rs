//! The authorization-code grant with PKCE through the browser pages, over the in-process
//! client (which keeps cookies like a browser): every redirect and error branch, sign-in,
//! consent, CSRF, open-redirect attempts, sessions, and code redemption.

use rocket::http::{ContentType, Method, Status};
use rocket::local::asynchronous::Client;
use url::Url;

use crate::code_flow::{
    authorize, authorize_url, exchange, location, param, register_clients, CALLBACK, VERIFIER,
};
use crate::common::{app, app_with, basic, bearer, csrf_of, post_form, seed, sign_in};

#[rocket::async_test]
async fn the_full_flow_issues_tokens_and_remembers_consent() {
    let app = app().await;
    seed(&app).await;
    let secret = register_clients(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;

    let url = authorize_url("thirdparty", CALLBACK, "profile", "");
    let params = authorize(&app.client, &url, true).await;
    assert_eq!(param(&params, "state"), Some("xyz 123"));
    let code = param(&params, "code").expect("code").to_owned();

    let tokens = exchange(&app, &secret, &code, VERIFIER).await;
    assert_eq!(tokens.status, Status::Ok, "{}", tokens.body);
    assert_eq!(tokens.header("Cache-Control"), Some("no-store"));
    assert_eq!(tokens.body["scope"], "profile");
    assert!(tokens.body["refresh_token"].is_string());
    let access = tokens.body["access_token"].as_str().unwrap();
    let me = bearer(&app.client, Method::Get, "/api/me", Some(access), None).await;
    assert_eq!(me.status, Status::Ok);
    assert_eq!(me.body["username"], "alice");
    let (_, claims) = crate::jwt::verify_with_jwks(&app, access).await;
    assert_eq!(claims["client_id"], "thirdparty");

    // The same scopes again: no consent page, straight back with a code.
    let again = app.client.get(url.clone()).dispatch().await;
    assert_eq!(again.status(), Status::Found);
    assert!(location(&again).unwrap().contains("code="));
    // A new scope asks again; one the role does not allow is never shown.
    let wider = authorize_url("thirdparty", CALLBACK, "profile data:read data:write", "");
    let response = app.client.get(wider).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    let page = response.into_string().await.unwrap();
    assert!(page.contains("data:read") && page.contains("Read your data"));
    assert!(!page.contains("data:write"));
}

#[rocket::async_test]
async fn a_code_works_once_and_reuse_revokes_its_tokens() {
    let app = app().await;
    seed(&app).await;
    let secret = register_clients(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let params = authorize(
        &app.client,
        &authorize_url("thirdparty", CALLBACK, "profile", ""),
        true,
    )
    .await;
    let code = param(&params, "code").unwrap().to_owned();
    let first = exchange(&app, &secret, &code, VERIFIER).await;
    assert_eq!(first.status, Status::Ok);

    let second = exchange(&app, &secret, &code, VERIFIER).await;
    assert_eq!(second.status, Status::BadRequest);
    assert_eq!(second.body["error"], "invalid_grant");
    let access = first.body["access_token"].as_str().unwrap();
    let me = bearer(&app.client, Method::Get, "/api/me", Some(access), None).await;
    assert_eq!(
        me.status,
        Status::Unauthorized,
        "tokens from a reused code are revoked"
    );
    let refresh = post_form(
        &app.client,
        "/oauth/token",
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            first.body["refresh_token"].as_str().unwrap()
        ),
        Some(basic("thirdparty", &secret)),
    )
    .await;
    assert_eq!(refresh.body["error"], "invalid_grant");
}

#[rocket::async_test]
async fn pkce_is_verified_and_required() {
    let app = app().await;
    seed(&app).await;
    let secret = register_clients(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let params = authorize(
        &app.client,
        &authorize_url("thirdparty", CALLBACK, "profile", ""),
        true,
    )
    .await;
    let code = param(&params, "code").unwrap().to_owned();
    let wrong = exchange(&app, &secret, &code, &"a".repeat(43)).await;
    assert_eq!(wrong.body["error"], "invalid_grant");
    assert_eq!(wrong.body["error_description"], "PKCE verification failed");

    // No challenge at all, or the plain method: refused with a redirect carrying the state.
    for query in [
        "response_type=code&client_id=thirdparty&state=s1",
        "response_type=code&client_id=thirdparty&state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=plain",
    ] {
        let response = app.client.get(format!("/oauth/authorize?{query}")).dispatch().await;
        assert_eq!(response.status(), Status::Found, "{query}");
        let to = Url::parse(&location(&response).unwrap()).unwrap();
        assert!(to.as_str().starts_with(CALLBACK));
        let pairs: Vec<(String, String)> = to.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
        assert_eq!(param(&pairs, "error"), Some("invalid_request"), "{query}");
        assert_eq!(param(&pairs, "state"), Some("s1"));
    }
}

#[rocket::async_test]
async fn unknown_clients_and_redirect_uris_get_a_page_never_a_redirect() {
    let logs = crate::secrecy::captured_logs();
    let app = app().await;
    seed(&app).await;
    register_clients(&app).await;
    for url in [
        authorize_url(
            "thirdparty",
            "https://client.example/cb/../evil",
            "profile",
            "",
        ),
        authorize_url("thirdparty", "https://client.example/cb?x=1", "profile", ""),
        "/oauth/authorize?response_type=code&client_id=thirdparty&client_id=native".to_owned(),
    ] {
        let response = app.client.get(url.clone()).dispatch().await;
        assert_eq!(response.status(), Status::BadRequest, "{url}");
        assert!(location(&response).is_none(), "{url}");
        assert_eq!(response.content_type(), Some(ContentType::HTML));
    }
    // Each case says which it is, on the page and in the log, without echoing the request.
    let evil = "https://evil.example/<b>cb</b>";
    for (url, title, reason) in [
        (
            authorize_url("nobody-at-all", CALLBACK, "profile", ""),
            "Unknown application",
            "reason=\"unknown_client\" client_id=nobody-at-all",
        ),
        (
            authorize_url("thirdparty", evil, "profile", ""),
            "Unregistered return address",
            "reason=\"unregistered_redirect_uri\" client_id=thirdparty",
        ),
        (
            "/oauth/authorize".to_owned(),
            "No application named",
            "reason=\"no_client_id\" client_id=-",
        ),
        (
            authorize_url("<script>", CALLBACK, "profile", ""),
            "Unknown application",
            "reason=\"unknown_client\" client_id=(not a client id)",
        ),
    ] {
        let response = app.client.get(url.clone()).dispatch().await;
        assert_eq!(response.status(), Status::BadRequest, "{url}");
        assert!(location(&response).is_none(), "{url}");
        let page = response.into_string().await.unwrap();
        assert!(page.contains(title), "{url}: {page}");
        assert!(
            !page.contains("evil.example") && !page.contains("<script>"),
            "{page}"
        );
        let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
        assert!(logged.contains(reason), "{reason} not in the log");
    }
    let named = app
        .client
        .get(authorize_url("thirdparty", evil, "profile", ""))
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(
        named.contains("thirdparty app"),
        "the registered name: {named}"
    );
}

#[rocket::async_test]
async fn other_errors_redirect_with_error_and_state() {
    let app = app().await;
    seed(&app).await;
    register_clients(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let cases = [
        (
            authorize_url("thirdparty", CALLBACK, "profile", "")
                .replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (
            authorize_url("thirdparty", CALLBACK, "admin", ""),
            "invalid_scope",
        ),
    ];
    for (url, error) in cases {
        let response = app.client.get(url.clone()).dispatch().await;
        assert_eq!(response.status(), Status::Found, "{url}");
        let to = Url::parse(&location(&response).unwrap()).unwrap();
        let pairs: Vec<(String, String)> = to
            .query_pairs()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        assert_eq!(param(&pairs, "error"), Some(error));
        assert_eq!(param(&pairs, "state"), Some("xyz 123"));
    }
    // Denying consent.
    let params = authorize(
        &app.client,
        &authorize_url("thirdparty", CALLBACK, "profile", ""),
        false,
    )
    .await;
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert_eq!(param(&params, "state"), Some("xyz 123"));
}

#[rocket::async_test]
async fn a_loopback_client_may_use_any_port() {
    let app = app().await;
    seed(&app).await;
    register_clients(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let params = authorize(
        &app.client,
        &authorize_url("native", "http://127.0.0.1:53682/cb", "profile", ""),
        true,
    )
    .await;
    assert!(param(&params, "code").is_some());
}

#[rocket::async_test]
async fn sign_in_is_required_and_returns_only_to_the_authorization_endpoint() {
    let app = app().await;
    seed(&app).await;
    register_clients(&app).await;
    let url = authorize_url("thirdparty", CALLBACK, "profile", "");
    let response = app.client.get(url.clone()).dispatch().await;
    assert_eq!(response.status(), Status::Found);
    let login = location(&response).unwrap();
    assert!(
        login.starts_with("/login?return_to=%2Foauth%2Fauthorize%3F"),
        "{login}"
    );

    let page = app.client.get(login.clone()).dispatch().await;
    assert_eq!(page.status(), Status::Ok);
    let csp = page
        .headers()
        .get_one("Content-Security-Policy")
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));
    assert_eq!(
        page.headers().get_one("X-Content-Type-Options"),
        Some("nosniff")
    );
    assert_eq!(
        page.headers().get_one("Referrer-Policy"),
        Some("no-referrer")
    );
    let html = page.into_string().await.unwrap();
    assert!(!html.contains("<script"), "no scripts on pages");
    assert!(html.contains("<label for=\"username\">") && html.contains("<label for=\"password\">"));

    // A wrong password shows the generic message, the same as an unknown name.
    let csrf = csrf_of(&html);
    let mut bodies = Vec::new();
    for (user, password) in [("alice", "nope"), ("nobody", "nope")] {
        let failed = app
            .client
            .post("/login")
            .header(ContentType::Form)
            .body(format!("csrf={csrf}&username={user}&password={password}"))
            .dispatch()
            .await;
        assert_eq!(failed.status(), Status::Unauthorized);
        let body = failed.into_string().await.unwrap();
        assert!(body.contains("Invalid username or password."));
        bodies.push(body.replace(user, "USER"));
    }
    assert_eq!(bodies[0], bodies[1]);

    // Open-redirect attempts land on the login page, never elsewhere.
    for target in [
        "https://evil.example/",
        "//evil.example/x",
        "/oauth/authorize/../../evil",
        // Control characters: once past the check, the redirect could not be built (500).
        "/oauth/authorize?client_id=a\tb",
        "/oauth/authorize?client_id=a\u{1}b",
    ] {
        let client = Client::tracked(portcullis::build_rocket(
            app.config.clone(),
            app.store.clone(),
            app.keys.clone(),
        ))
        .await
        .unwrap();
        let page = client
            .get("/login")
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap();
        let encoded: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
        let response = client
            .post("/login")
            .header(ContentType::Form)
            .body(format!(
                "csrf={}&username=alice&password=alice-password&return_to={encoded}",
                csrf_of(&page)
            ))
            .dispatch()
            .await;
        assert_eq!(location(&response).as_deref(), Some("/login"), "{target}");
    }
}

#[rocket::async_test]
async fn forms_without_the_right_csrf_token_are_refused() {
    let app = app().await;
    seed(&app).await;
    register_clients(&app).await;
    app.client.get("/login").dispatch().await;
    let no_token = app
        .client
        .post("/login")
        .header(ContentType::Form)
        .body("username=alice&password=alice-password")
        .dispatch()
        .await;
    assert_eq!(no_token.status(), Status::Forbidden);
    let wrong = app
        .client
        .post("/login")
        .header(ContentType::Form)
        .body("csrf=forged&username=alice&password=alice-password")
        .dispatch()
        .await;
    assert_eq!(wrong.status(), Status::Forbidden);

    sign_in(&app.client, "alice", "alice-password").await;
    let url = authorize_url("thirdparty", CALLBACK, "profile", "");
    let consent = app
        .client
        .post(url)
        .header(ContentType::Form)
        .body("csrf=forged&decision=allow")
        .dispatch()
        .await;
    assert_eq!(consent.status(), Status::Forbidden);
    assert!(location(&consent).is_none());
}

#[rocket::async_test]
async fn sessions_expire_and_end_on_logout() {
    let app = app_with(|c| c.session_ttl_secs = 1).await;
    seed(&app).await;
    register_clients(&app).await;
    let url = authorize_url("thirdparty", CALLBACK, "profile", "");
    sign_in(&app.client, "alice", "alice-password").await;
    assert_eq!(
        app.client.get(url.clone()).dispatch().await.status(),
        Status::Ok
    );
    crate::common::wall_clock_advance(1500).await;
    let expired = app.client.get(url.clone()).dispatch().await;
    assert!(
        location(&expired).unwrap().starts_with("/login"),
        "expired sessions sign out"
    );

    let app = app_with(|_| {}).await;
    seed(&app).await;
    register_clients(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let page = app
        .client
        .get("/login")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert!(page.contains("Signed in"));
    let out = app
        .client
        .post("/logout")
        .header(ContentType::Form)
        .body(format!("csrf={}", csrf_of(&page)))
        .dispatch()
        .await;
    assert_eq!(out.status(), Status::Ok);
    assert!(location(&app.client.get(url).dispatch().await)
        .unwrap()
        .starts_with("/login"));
}

#[rocket::async_test]
async fn the_registration_form_creates_user_accounts() {
    let app = app_with(|c| c.self_registration = true).await;
    let page = app.client.get("/register").dispatch().await;
    assert_eq!(page.status(), Status::Ok);
    let csrf = csrf_of(&page.into_string().await.unwrap());
    let post = |body: String| {
        app.client
            .post("/register")
            .header(ContentType::Form)
            .body(body)
            .dispatch()
    };
    let created = post(format!("csrf={csrf}&username=zoe&password=long+enough")).await;
    assert_eq!(created.status(), Status::Created);
    let taken = post(format!("csrf={csrf}&username=ZOE&password=long+enough")).await;
    assert_eq!(taken.status(), Status::Conflict);
    let weak = post(format!("csrf={csrf}&username=yan&password=short")).await;
    assert_eq!(weak.status(), Status::BadRequest);
    assert!(weak
        .into_string()
        .await
        .unwrap()
        .contains("at least 8 characters"));
    let forged = post("csrf=nope&username=yan&password=long+enough".to_owned()).await;
    assert_eq!(forged.status(), Status::Forbidden);
    let user = portcullis::services::users::find_user(&app.store, "zoe")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.role, "user");

    let closed = app_with(|_| {}).await;
    assert_eq!(
        closed.client.get("/register").dispatch().await.status(),
        Status::BadRequest
    );
}

/// RFC 9207 §2: every authorization response, success or error, names the issuer (`iss`), so a
/// client talking to several servers can tell which one answered; the sign-in page, which is
/// not an authorization response, does not get it. The metadata's flag is checked with the
/// rest of discovery below.
#[rocket::async_test]
async fn every_authorization_response_names_its_issuer() {
    let app = app().await;
    seed(&app).await;
    register_clients(&app).await;
    const ISSUER: Option<&str> = Some("http://portcullis.test");
    let url = authorize_url("thirdparty", CALLBACK, "profile", "");
    let to_login = app.client.get(url.clone()).dispatch().await;
    let login = location(&to_login).unwrap();
    assert!(
        login.starts_with("/login?") && !login.contains("iss="),
        "{login}"
    );

    sign_in(&app.client, "alice", "alice-password").await;
    let denied = authorize(&app.client, &url, false).await;
    assert_eq!(param(&denied, "error"), Some("access_denied"));
    assert_eq!(param(&denied, "iss"), ISSUER);
    let granted = authorize(&app.client, &url, true).await;
    assert!(param(&granted, "code").is_some());
    assert_eq!(param(&granted, "state"), Some("xyz 123"));
    assert_eq!(param(&granted, "iss"), ISSUER);
    // Remembered consent: straight back, still named.
    let again = authorize(&app.client, &url, true).await;
    assert_eq!(param(&again, "iss"), ISSUER);
    // An error oxide-auth reports, reshaped on its way out, keeps the one `iss`.
    let scope_error = authorize_url("thirdparty", CALLBACK, "admin", "");
    let refused = authorize(&app.client, &scope_error, true).await;
    assert_eq!(param(&refused, "error"), Some("invalid_scope"));
    let issuers: Vec<_> = refused.iter().filter(|(k, _)| k == "iss").collect();
    assert_eq!(issuers.len(), 1, "{refused:?}");
    assert_eq!(param(&refused, "iss"), ISSUER);
}

/// OpenID Connect Core §6.1, §6.2: request objects are not supported, and the client hears it
/// at its redirect URI (with `state` and `iss`), signed in or not, instead of the parameter
/// being silently ignored.
#[rocket::async_test]
async fn request_objects_are_refused_to_the_client() {
    let app = app().await;
    seed(&app).await;
    register_clients(&app).await;
    let cases = [
        ("&request=eyJhbGciOiJub25lIn0.e30.", "request_not_supported"),
        (
            "&request_uri=https%3A%2F%2Fapp.example%2Freq.jwt",
            "request_uri_not_supported",
        ),
    ];
    for signed_in in [false, true] {
        if signed_in {
            sign_in(&app.client, "alice", "alice-password").await;
        }
        for (extra, error) in cases {
            let url = authorize_url("thirdparty", CALLBACK, "profile", extra);
            let response = app.client.get(url).dispatch().await;
            assert_eq!(response.status(), Status::Found, "{extra}");
            let to = location(&response).unwrap();
            assert!(to.starts_with(CALLBACK), "{to}");
            let pairs: Vec<(String, String)> = Url::parse(&to)
                .unwrap()
                .query_pairs()
                .into_owned()
                .collect();
            assert_eq!(param(&pairs, "error"), Some(error));
            assert_eq!(param(&pairs, "state"), Some("xyz 123"));
            assert_eq!(param(&pairs, "iss"), Some("http://portcullis.test"));
            assert!(param(&pairs, "code").is_none());
        }
    }
}

#[rocket::async_test]
async fn discovery_advertises_the_authorization_endpoint() {
    let app = app().await;
    let doc: serde_json::Value = app
        .client
        .get("/.well-known/oauth-authorization-server")
        .dispatch()
        .await
        .into_json()
        .await
        .unwrap();
    assert_eq!(
        doc["authorization_endpoint"],
        "http://portcullis.test/oauth/authorize"
    );
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    // RFC 9207 §3.
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    // OpenID Connect Discovery 1.0 §3: said outright, since absent would mean supported.
    assert_eq!(doc["request_parameter_supported"], false);
    assert_eq!(doc["request_uri_parameter_supported"], false);
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert!(doc["grant_types_supported"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g == "authorization_code"));
}

#[rocket::async_test]
async fn a_public_client_never_gets_a_code_without_the_page() {
    let app = app().await;
    seed(&app).await;
    register_clients(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    // The user approves the app once, on its own port.
    let first = authorize_url("native", "http://127.0.0.1:53682/cb", "profile", "");
    assert!(param(&authorize(&app.client, &first, true).await, "code").is_some());
    // Another local program, on another port and with its own PKCE pair, asks for the same:
    // the page is shown again rather than a code handed over silently (RFC 8252 §8.6).
    for port in [53682, 40001] {
        let url = authorize_url(
            "native",
            &format!("http://127.0.0.1:{port}/cb"),
            "profile",
            "",
        );
        let response = app.client.get(url).dispatch().await;
        assert_eq!(response.status(), Status::Ok, "port {port}: no silent code");
        let page = response.into_string().await.unwrap();
        assert!(page.contains("wants access") && page.contains("public-client-note"));
    }
    // A confidential client's remembered consent still applies.
    let url = authorize_url("thirdparty", CALLBACK, "profile", "");
    authorize(&app.client, &url, true).await;
    assert_eq!(app.client.get(url).dispatch().await.status(), Status::Found);
}

#[rocket::async_test]
async fn a_missing_response_type_is_invalid_request_with_a_description() {
    let app = app().await;
    seed(&app).await;
    register_clients(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let url =
        authorize_url("thirdparty", CALLBACK, "profile", "").replace("response_type=code&", "");
    let response = app.client.get(url).dispatch().await;
    assert_eq!(response.status(), Status::Found);
    let to = Url::parse(&location(&response).unwrap()).unwrap();
    let pairs: Vec<(String, String)> = to.query_pairs().into_owned().collect();
    assert_eq!(param(&pairs, "error"), Some("invalid_request"));
    assert_eq!(
        param(&pairs, "error_description"),
        Some("response_type is required")
    );
    assert_eq!(param(&pairs, "state"), Some("xyz 123"));

    // An unsupported one keeps its own code (RFC 6749 §4.1.2.1), also described.
    let url = authorize_url("thirdparty", CALLBACK, "profile", "")
        .replace("response_type=code", "response_type=token");
    let response = app.client.get(url).dispatch().await;
    let to = Url::parse(&location(&response).unwrap()).unwrap();
    let pairs: Vec<(String, String)> = to.query_pairs().into_owned().collect();
    assert_eq!(param(&pairs, "error"), Some("unsupported_response_type"));
    assert!(param(&pairs, "error_description").is_some());
}

#[rocket::async_test]
async fn forms_posted_from_another_site_are_refused() {
    let app = app().await;
    seed(&app).await;
    register_clients(&app).await;
    let page = app
        .client
        .get("/login")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    let form = format!(
        "csrf={}&username=alice&password=alice-password",
        csrf_of(&page)
    );
    for (name, value) in [
        ("Sec-Fetch-Site", "cross-site"),
        // A sibling subdomain: the same site, not the same origin.
        ("Sec-Fetch-Site", "same-site"),
        ("Origin", "https://evil.portcullis.test"),
        ("Origin", "null"),
    ] {
        let response = app
            .client
            .post("/login")
            .header(ContentType::Form)
            .header(rocket::http::Header::new(name, value))
            .body(form.clone())
            .dispatch()
            .await;
        assert_eq!(response.status(), Status::Forbidden, "{name}: {value}");
        let body = response.into_string().await.unwrap();
        assert!(body.contains("Request from another site"));
    }
    // Nothing was signed in by those; the same form from this site works.
    let response = app
        .client
        .post("/login")
        .header(ContentType::Form)
        .header(rocket::http::Header::new("Sec-Fetch-Site", "same-origin"))
        .header(rocket::http::Header::new(
            "Origin",
            "http://portcullis.test",
        ))
        .body(form)
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::SeeOther);

    // Consent and sign-out refuse cross-site posts as well.
    let url = authorize_url("thirdparty", CALLBACK, "profile", "");
    let page = app
        .client
        .get(url.clone())
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    let consent = app
        .client
        .post(url)
        .header(ContentType::Form)
        .header(rocket::http::Header::new("Sec-Fetch-Site", "cross-site"))
        .body(format!("csrf={}&decision=allow", csrf_of(&page)))
        .dispatch()
        .await;
    assert_eq!(consent.status(), Status::Forbidden);
    let logout = app
        .client
        .post("/logout")
        .header(ContentType::Form)
        .header(rocket::http::Header::new("Origin", "https://evil.example"))
        .body(format!("csrf={}", csrf_of(&page)))
        .dispatch()
        .await;
    assert_eq!(logout.status(), Status::Forbidden);
}

#[rocket::async_test]
async fn an_https_issuer_uses_host_only_cookies() {
    let app = app_with(|c| c.issuer = "https://portcullis.test".into()).await;
    seed(&app).await;
    let response = app.client.get("/login").dispatch().await;
    let set_cookie: Vec<String> = response
        .headers()
        .get("Set-Cookie")
        .map(str::to_owned)
        .collect();
    let csrf = set_cookie
        .iter()
        .find(|c| c.starts_with("__Host-portcullis_csrf="))
        .expect("a __Host- CSRF cookie");
    assert!(csrf.contains("Secure") && csrf.contains("Path=/") && !csrf.contains("Domain"));

    // Signing in replaces the pre-session cookie; a browser takes the removal of a `__Host-`
    // cookie only with `Secure` and `Path=/` as well.
    let page = response.into_string().await.unwrap();
    let signed_in = app
        .client
        .post("/login")
        .header(ContentType::Form)
        .body(format!(
            "csrf={}&username=alice&password=alice-password",
            csrf_of(&page)
        ))
        .dispatch()
        .await;
    assert_eq!(signed_in.status(), Status::SeeOther);
    let set_cookie: Vec<String> = signed_in
        .headers()
        .get("Set-Cookie")
        .map(str::to_owned)
        .collect();
    assert!(
        set_cookie
            .iter()
            .any(|c| c.starts_with("__Host-portcullis_session=")),
        "{set_cookie:?}"
    );
    let removal = set_cookie
        .iter()
        .find(|c| c.starts_with("__Host-portcullis_csrf="))
        .expect("the pre-session cookie is removed");
    assert!(
        removal.contains("Secure") && removal.contains("Path=/"),
        "{removal}"
    );
}
