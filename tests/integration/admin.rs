//! The admin REST API (`/admin/v1`): who may call it, every operation on users, clients,
//! sessions and the audit trail, the errors on bad input, and that changes revoke what they
//! should and are audited under the administrator's name.

use rocket::http::{Method, Status};
use serde_json::{json, Value};

use crate::common::{app, basic, bearer, seed, token, user_tokens, Answer, Seed, TestApp};

/// An admin token (role `admin`, scope `admin`) for `root`.
async fn admin_token(app: &TestApp, seed: &Seed) -> String {
    user_tokens(app, seed, "root", None).await.0
}

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let body = body.map(|b| b.to_string());
    bearer(&app.client, method, path, Some(token), body.as_deref()).await
}

fn error_of(answer: &Answer) -> &str {
    answer.body["error"].as_str().unwrap_or_default()
}

#[rocket::async_test]
async fn only_admins_with_the_admin_scope_get_in() {
    let app = app().await;
    let seed = seed(&app).await;
    let none = bearer(&app.client, Method::Get, "/admin/v1/users", None, None).await;
    assert_eq!(none.status, Status::Unauthorized);
    assert!(none
        .header("WWW-Authenticate")
        .unwrap()
        .starts_with("Bearer"));

    let (alice, _) = user_tokens(&app, &seed, "alice", None).await;
    let refused = call(&app, &alice, Method::Get, "/admin/v1/users", None).await;
    assert_eq!(refused.status, Status::Forbidden, "{}", refused.body);
    assert!(refused
        .header("WWW-Authenticate")
        .unwrap()
        .contains("insufficient"));

    let (narrow, _) = user_tokens(&app, &seed, "root", Some("profile")).await;
    let refused = call(&app, &narrow, Method::Get, "/admin/v1/users", None).await;
    assert_eq!(refused.status, Status::Forbidden);
    assert!(refused
        .header("WWW-Authenticate")
        .unwrap()
        .contains("error=\"insufficient_scope\""));

    let m2m = token(
        &app,
        "grant_type=client_credentials",
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    let machine = m2m.body["access_token"].as_str().unwrap();
    let refused = call(&app, machine, Method::Get, "/admin/v1/users", None).await;
    assert_eq!(
        refused.status,
        Status::Forbidden,
        "a client token is no administrator"
    );

    let admin = admin_token(&app, &seed).await;
    let ok = call(&app, &admin, Method::Get, "/admin/v1/users", None).await;
    assert_eq!(ok.status, Status::Ok, "{}", ok.body);
}

#[rocket::async_test]
async fn users_are_created_listed_changed_and_deleted() {
    let app = app().await;
    let seed = seed(&app).await;
    let admin = admin_token(&app, &seed).await;

    let created = call(
        &app,
        &admin,
        Method::Post,
        "/admin/v1/users",
        Some(json!({ "username": "Bob", "password": "bob-password", "role": "user" })),
    )
    .await;
    assert_eq!(created.status, Status::Created, "{}", created.body);
    assert_eq!(created.body["username"], "Bob");
    let bob_id = created.body["id"].as_str().unwrap().to_owned();

    for (body, status, error) in [
        (
            json!({ "username": "bob", "password": "bob-password", "role": "user" }),
            Status::Conflict,
            "conflict",
        ),
        (
            json!({ "username": "carol", "password": "bob-password", "role": "emperor" }),
            Status::BadRequest,
            "invalid_request",
        ),
        (
            json!({ "username": "carol", "password": "short", "role": "user" }),
            Status::BadRequest,
            "invalid_request",
        ),
        (
            json!({ "username": "carol", "password": "long enough", "role": "user", "admin": true }),
            Status::BadRequest,
            "invalid_request",
        ),
        (
            json!({ "username": "carol" }),
            Status::BadRequest,
            "invalid_request",
        ),
    ] {
        let answer = call(
            &app,
            &admin,
            Method::Post,
            "/admin/v1/users",
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (answer.status, error_of(&answer)),
            (status, error),
            "{body} → {}",
            answer.body
        );
    }
    let not_json = app
        .client
        .post("/admin/v1/users")
        .header(rocket::http::Header::new(
            "Authorization",
            format!("Bearer {admin}"),
        ))
        .header(rocket::http::ContentType::JSON)
        .body("{not json")
        .dispatch()
        .await;
    assert_eq!(not_json.status(), Status::BadRequest);
    let untyped = app
        .client
        .post("/admin/v1/users")
        .header(rocket::http::Header::new(
            "Authorization",
            format!("Bearer {admin}"),
        ))
        .body(r#"{"username":"carol","password":"long enough","role":"user"}"#)
        .dispatch()
        .await;
    assert_eq!(untyped.status(), Status::UnsupportedMediaType);

    // Listing: username order, prefix search (case-insensitive), pages.
    for name in ["bobby", "bobcat", "zed"] {
        let answer = call(
            &app,
            &admin,
            Method::Post,
            "/admin/v1/users",
            Some(json!({ "username": name, "password": "long enough", "role": "user" })),
        )
        .await;
        assert_eq!(answer.status, Status::Created);
    }
    let page = call(
        &app,
        &admin,
        Method::Get,
        "/admin/v1/users?prefix=BOB&limit=2",
        None,
    )
    .await;
    let names: Vec<&str> = page.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bob", "bobby"]);
    let next = page.body["next"].as_str().unwrap();
    let rest = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/users?prefix=bob&limit=2&after={next}"),
        None,
    )
    .await;
    let names: Vec<&str> = rest.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bobcat"]);
    assert_eq!(rest.body["next"], Value::Null);
    let bad = call(&app, &admin, Method::Get, "/admin/v1/users?limit=0", None).await;
    assert_eq!(bad.status, Status::BadRequest);
    let bad = call(
        &app,
        &admin,
        Method::Get,
        "/admin/v1/users?prefix=a%20b",
        None,
    )
    .await;
    assert_eq!(bad.status, Status::BadRequest);

    // One user; unknown ids are 404.
    let got = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/users/{bob_id}"),
        None,
    )
    .await;
    assert_eq!(
        (got.body["role"].as_str(), got.body["locked_until"].clone()),
        (Some("user"), Value::Null)
    );
    for missing in ["000000000000000000000000", "not-an-id"] {
        let answer = call(
            &app,
            &admin,
            Method::Get,
            &format!("/admin/v1/users/{missing}"),
            None,
        )
        .await;
        assert_eq!(
            (answer.status, error_of(&answer)),
            (Status::NotFound, "not_found")
        );
    }

    // Role change and disabling; disabling revokes what the user holds.
    let bob_login = "grant_type=password&username=bob&password=bob-password";
    let bob = token(&app, bob_login, Some(basic("app", &seed.app_secret))).await;
    let bob_access = bob.body["access_token"].as_str().unwrap().to_owned();
    let changed = call(
        &app,
        &admin,
        Method::Patch,
        &format!("/admin/v1/users/{bob_id}"),
        Some(json!({ "role": "admin" })),
    )
    .await;
    assert_eq!(changed.body["role"], "admin", "{}", changed.body);
    let bad_role = call(
        &app,
        &admin,
        Method::Patch,
        &format!("/admin/v1/users/{bob_id}"),
        Some(json!({ "role": "emperor" })),
    )
    .await;
    assert_eq!(bad_role.status, Status::BadRequest);
    let nothing = call(
        &app,
        &admin,
        Method::Patch,
        &format!("/admin/v1/users/{bob_id}"),
        Some(json!({})),
    )
    .await;
    assert_eq!(nothing.status, Status::BadRequest);
    let disabled = call(
        &app,
        &admin,
        Method::Patch,
        &format!("/admin/v1/users/{bob_id}"),
        Some(json!({ "disabled": true })),
    )
    .await;
    assert_eq!(disabled.body["disabled"], true);
    crate::common::wall_clock_advance(1_200).await;
    let me = call(&app, &bob_access, Method::Get, "/api/me", None).await;
    assert_eq!(
        me.status,
        Status::Unauthorized,
        "a disabled user's token is revoked"
    );
    let refused = token(&app, bob_login, Some(basic("app", &seed.app_secret))).await;
    assert_eq!(refused.status, Status::BadRequest);
    call(
        &app,
        &admin,
        Method::Patch,
        &format!("/admin/v1/users/{bob_id}"),
        Some(json!({ "disabled": false })),
    )
    .await;

    // Password reset: the old password stops working, the new one works.
    let reset = call(
        &app,
        &admin,
        Method::Put,
        &format!("/admin/v1/users/{bob_id}/password"),
        Some(json!({ "password": "a new password" })),
    )
    .await;
    assert_eq!(reset.status, Status::NoContent, "{}", reset.body);
    assert_eq!(
        token(&app, bob_login, Some(basic("app", &seed.app_secret)))
            .await
            .status,
        Status::BadRequest
    );
    let renewed = token(
        &app,
        "grant_type=password&username=bob&password=a+new+password",
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(renewed.status, Status::Ok);
    let weak = call(
        &app,
        &admin,
        Method::Put,
        &format!("/admin/v1/users/{bob_id}/password"),
        Some(json!({ "password": "x" })),
    )
    .await;
    assert_eq!(weak.status, Status::BadRequest);

    // An administrator cannot lock themselves out.
    let root_id = seed.root.id.to_hex();
    for (method, path, body) in [
        (Method::Delete, format!("/admin/v1/users/{root_id}"), None),
        (
            Method::Patch,
            format!("/admin/v1/users/{root_id}"),
            Some(json!({ "disabled": true })),
        ),
        (
            Method::Patch,
            format!("/admin/v1/users/{root_id}"),
            Some(json!({ "role": "user" })),
        ),
    ] {
        let answer = call(&app, &admin, method, &path, body).await;
        assert_eq!(
            (answer.status, error_of(&answer)),
            (Status::Conflict, "conflict"),
            "{path}"
        );
    }

    // Deleting: the account is gone, and so is every token it held — including one from a
    // client without refresh tokens, which belongs to no refresh family.
    let (alice_access, alice_refresh) = user_tokens(&app, &seed, "alice", None).await;
    let familyless = token(
        &app,
        "grant_type=password&username=alice&password=alice-password",
        Some(basic("noref", &seed.noref_secret)),
    )
    .await;
    let familyless = familyless.body["access_token"].as_str().unwrap().to_owned();
    let alice_id = seed.alice.id.to_hex();
    let deleted = call(
        &app,
        &admin,
        Method::Delete,
        &format!("/admin/v1/users/{alice_id}"),
        None,
    )
    .await;
    assert_eq!(deleted.status, Status::NoContent, "{}", deleted.body);
    let gone = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/users/{alice_id}"),
        None,
    )
    .await;
    assert_eq!(gone.status, Status::NotFound);
    crate::common::wall_clock_advance(1_200).await;
    for access in [&alice_access, &familyless] {
        let me = call(&app, access, Method::Get, "/api/me", None).await;
        assert_eq!(me.status, Status::Unauthorized, "{}", me.body);
    }
    let refreshed = token(
        &app,
        &format!("grant_type=refresh_token&refresh_token={alice_refresh}"),
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(refreshed.body["error"], "invalid_grant");
    let again = call(
        &app,
        &admin,
        Method::Delete,
        &format!("/admin/v1/users/{alice_id}"),
        None,
    )
    .await;
    assert_eq!(again.status, Status::NotFound);

    // Every change is audited under the administrator's name.
    let audit = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/audit?user_id={alice_id}&kind=user_deleted"),
        None,
    )
    .await;
    let events = audit.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{}", audit.body);
    assert_eq!(events[0]["actor"], "root");
    assert_eq!(events[0]["actor_id"], root_id);
}

#[rocket::async_test]
async fn sessions_and_lockouts_are_managed() {
    let app = app().await;
    let seed = seed(&app).await;
    let admin = admin_token(&app, &seed).await;
    let alice_id = seed.alice.id.to_hex();
    let (access, refresh) = user_tokens(&app, &seed, "alice", None).await;

    let listed = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/users/{alice_id}/sessions"),
        None,
    )
    .await;
    let families = listed.body["refresh_token_families"].as_array().unwrap();
    assert_eq!(families.len(), 1, "{}", listed.body);
    assert_eq!(families[0]["client_id"], "app");
    assert!(
        families[0].get("hash").is_none(),
        "no token material is shown"
    );

    let ended = call(
        &app,
        &admin,
        Method::Delete,
        &format!("/admin/v1/users/{alice_id}/sessions"),
        None,
    )
    .await;
    assert_eq!(
        ended.body["refresh_token_families_revoked"], 1,
        "{}",
        ended.body
    );
    let refreshed = token(
        &app,
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(refreshed.body["error"], "invalid_grant");
    crate::common::wall_clock_advance(1_200).await;
    assert_eq!(
        call(&app, &access, Method::Get, "/api/me", None)
            .await
            .status,
        Status::Unauthorized
    );
    let listed = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/users/{alice_id}/sessions"),
        None,
    )
    .await;
    assert_eq!(listed.body["refresh_token_families"], json!([]));

    // Lock alice out with wrong passwords, then unlock her.
    let wrong = "grant_type=password&username=alice&password=wrong-password";
    for _ in 0..app.config.lockout.threshold {
        token(&app, wrong, Some(basic("app", &seed.app_secret))).await;
    }
    let got = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/users/{alice_id}"),
        None,
    )
    .await;
    assert!(got.body["locked_until"].is_string(), "{}", got.body);
    let unlocked = call(
        &app,
        &admin,
        Method::Post,
        &format!("/admin/v1/users/{alice_id}/unlock"),
        None,
    )
    .await;
    assert_eq!(unlocked.body["unlocked"], true);
    let again = call(
        &app,
        &admin,
        Method::Post,
        &format!("/admin/v1/users/{alice_id}/unlock"),
        None,
    )
    .await;
    assert_eq!(again.body["unlocked"], false);
    user_tokens(&app, &seed, "alice", None).await;
}

#[rocket::async_test]
async fn clients_are_registered_changed_rotated_and_deleted() {
    let app = app().await;
    let seed = seed(&app).await;
    let admin = admin_token(&app, &seed).await;

    let created = call(
        &app,
        &admin,
        Method::Post,
        "/admin/v1/clients",
        Some(json!({
            "client_id": "reports", "name": "Reports", "grant_types": ["client_credentials"],
            "scopes": ["data:read"], "can_introspect": true,
        })),
    )
    .await;
    assert_eq!(created.status, Status::Created, "{}", created.body);
    let secret = created.body["client_secret"].as_str().unwrap().to_owned();
    let shown = call(&app, &admin, Method::Get, "/admin/v1/clients/reports", None).await;
    assert_eq!(shown.body["can_introspect"], true);
    assert!(shown.body.get("client_secret").is_none() && shown.body.get("secret_hash").is_none());

    for body in [
        json!({ "name": "x", "grant_types": ["implicit"] }),
        json!({ "name": "x", "grant_types": ["authorization_code"] }),
        json!({ "name": "x", "grant_types": ["client_credentials"], "public": true }),
        json!({ "name": "x", "grant_types": ["password"], "redirect_uris": ["http://evil.example/cb"] }),
        json!({ "client_id": "reports", "name": "x", "grant_types": ["password"] }),
    ] {
        let answer = call(
            &app,
            &admin,
            Method::Post,
            "/admin/v1/clients",
            Some(body.clone()),
        )
        .await;
        assert!(
            matches!(answer.status, Status::BadRequest | Status::Conflict),
            "{body} → {}",
            answer.body
        );
    }

    let public = call(
        &app,
        &admin,
        Method::Post,
        "/admin/v1/clients",
        Some(json!({
            "name": "Phone", "public": true, "grant_types": ["authorization_code"],
            "redirect_uris": ["com.example.phone:/cb"], "scopes": ["profile"],
        })),
    )
    .await;
    assert_eq!(public.status, Status::Created, "{}", public.body);
    assert_eq!(public.body["client_secret"], Value::Null);
    let phone = public.body["client_id"].as_str().unwrap();
    let no_secret = call(
        &app,
        &admin,
        Method::Post,
        &format!("/admin/v1/clients/{phone}/secret"),
        None,
    )
    .await;
    assert_eq!(no_secret.status, Status::Conflict);

    let list = call(&app, &admin, Method::Get, "/admin/v1/clients?limit=2", None).await;
    assert_eq!(list.body["clients"].as_array().unwrap().len(), 2);
    let next = list.body["next"].as_str().unwrap();
    let more = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/clients?after={next}&limit=100"),
        None,
    )
    .await;
    assert_eq!(
        more.body["clients"].as_array().unwrap().len(),
        4,
        "{}",
        more.body
    );

    // Updates are checked as a whole.
    let updated = call(
        &app,
        &admin,
        Method::Patch,
        "/admin/v1/clients/reports",
        Some(json!({ "scopes": ["data:read", "data:write"], "name": "Reports v2" })),
    )
    .await;
    assert_eq!(
        updated.body["scopes"],
        json!(["data:read", "data:write"]),
        "{}",
        updated.body
    );
    assert_eq!(
        updated.body["default_scopes"],
        json!(["data:read", "data:write"])
    );
    let bad = call(
        &app,
        &admin,
        Method::Patch,
        "/admin/v1/clients/reports",
        Some(json!({ "grant_types": ["authorization_code"] })),
    )
    .await;
    assert_eq!(bad.status, Status::BadRequest, "{}", bad.body);
    let bad = call(
        &app,
        &admin,
        Method::Patch,
        "/admin/v1/clients/reports",
        Some(json!({ "default_scopes": ["admin"] })),
    )
    .await;
    assert_eq!(bad.status, Status::BadRequest);
    let missing = call(
        &app,
        &admin,
        Method::Patch,
        "/admin/v1/clients/nope",
        Some(json!({ "name": "x" })),
    )
    .await;
    assert_eq!(missing.status, Status::NotFound);

    // Secret rotation: the old secret stops working at once.
    let grant = "grant_type=client_credentials";
    let issued = token(&app, grant, Some(basic("reports", &secret))).await;
    assert_eq!(issued.status, Status::Ok, "{}", issued.body);
    assert_eq!(issued.body["scope"], "data:read data:write");
    let rotated = call(
        &app,
        &admin,
        Method::Post,
        "/admin/v1/clients/reports/secret",
        None,
    )
    .await;
    let new_secret = rotated.body["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        token(&app, grant, Some(basic("reports", &secret)))
            .await
            .status,
        Status::Unauthorized
    );
    let fresh = token(&app, grant, Some(basic("reports", &new_secret))).await;
    assert_eq!(fresh.status, Status::Ok);

    // Deleting revokes every token issued to the client, refresh tokens included.
    let (_, app_refresh) = user_tokens(&app, &seed, "alice", None).await;
    let verifier = app
        .client
        .rocket()
        .state::<portcullis::guard::TokenVerifier>()
        .unwrap();
    let access = fresh.body["access_token"].as_str().unwrap();
    assert!(verifier.verify(access).is_ok());
    let deleted = call(
        &app,
        &admin,
        Method::Delete,
        "/admin/v1/clients/reports",
        None,
    )
    .await;
    assert_eq!(deleted.status, Status::NoContent);
    crate::common::wall_clock_advance(1_200).await;
    assert!(
        verifier.verify(access).is_err(),
        "a deleted client's token is refused"
    );
    assert_eq!(
        token(&app, grant, Some(basic("reports", &new_secret)))
            .await
            .status,
        Status::Unauthorized
    );
    assert_eq!(
        call(
            &app,
            &admin,
            Method::Delete,
            "/admin/v1/clients/reports",
            None
        )
        .await
        .status,
        Status::NotFound
    );

    call(&app, &admin, Method::Delete, "/admin/v1/clients/app", None).await;
    let refreshed = token(
        &app,
        &format!("grant_type=refresh_token&refresh_token={app_refresh}"),
        None,
    )
    .await;
    assert_ne!(refreshed.status, Status::Ok);
    let stored = app
        .store
        .find_refresh_token(&portcullis::secrets::sha256_b64(&app_refresh))
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.revoked,
        "the deleted client's refresh tokens are revoked"
    );

    let audit = call(
        &app,
        &admin,
        Method::Get,
        "/admin/v1/audit?client_id=reports",
        None,
    )
    .await;
    let kinds: Vec<&str> = audit.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "root")
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "client_removed",
            "client_secret_rotated",
            "client_updated",
            "client_created"
        ]
    );
}

#[rocket::async_test]
async fn the_audit_trail_is_queried_newest_first_in_pages() {
    let app = app().await;
    let seed = seed(&app).await;
    let admin = admin_token(&app, &seed).await;
    for _ in 0..3 {
        user_tokens(&app, &seed, "alice", None).await;
    }
    let alice_id = seed.alice.id.to_hex();
    let first = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/audit?user_id={alice_id}&kind=token_issued&limit=2"),
        None,
    )
    .await;
    assert_eq!(first.status, Status::Ok, "{}", first.body);
    let events = first.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    let at = |event: &Value| {
        chrono::DateTime::parse_from_rfc3339(event["at"].as_str().unwrap()).unwrap()
    };
    assert!(
        at(&events[0]) >= at(&events[1]),
        "newest first: {}",
        first.body
    );
    let next = first.body["next"].as_str().unwrap();
    let second = call(
        &app,
        &admin,
        Method::Get,
        &format!("/admin/v1/audit?user_id={alice_id}&kind=token_issued&limit=2&before={next}"),
        None,
    )
    .await;
    let rest = second.body["events"].as_array().unwrap();
    assert_eq!(rest.len(), 1, "{}", second.body);
    assert_ne!(rest[0]["id"], events[1]["id"]);

    let future = call(
        &app,
        &admin,
        Method::Get,
        "/admin/v1/audit?since=2999-01-01T00:00:00Z",
        None,
    )
    .await;
    assert_eq!(future.body["events"], json!([]));
    let past = call(
        &app,
        &admin,
        Method::Get,
        "/admin/v1/audit?until=2000-01-01T00:00:00Z",
        None,
    )
    .await;
    assert_eq!(past.body["events"], json!([]));
    for bad in [
        "kind=nonsense",
        "since=yesterday",
        "before=xyz",
        "limit=101",
    ] {
        let answer = call(
            &app,
            &admin,
            Method::Get,
            &format!("/admin/v1/audit?{bad}"),
            None,
        )
        .await;
        assert_eq!(
            (answer.status, error_of(&answer)),
            (Status::BadRequest, "invalid_request"),
            "{bad}"
        );
    }
}

#[rocket::async_test]
async fn keys_are_listed_generated_and_rotated() {
    let dir = crate::common::temp_dir();
    for entry in std::fs::read_dir(crate::common::shared_keys_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let keys_dir = dir.path().to_path_buf();
    let app = crate::common::app_with(|config| config.keys_dir = keys_dir).await;
    let seed = seed(&app).await;
    let admin = admin_token(&app, &seed).await;

    let listed = call(&app, &admin, Method::Get, "/admin/v1/keys", None).await;
    let first = listed.body["active"].as_str().unwrap().to_owned();
    assert_eq!(
        listed.body["keys"].as_array().unwrap().len(),
        1,
        "{}",
        listed.body
    );

    let generated = call(&app, &admin, Method::Post, "/admin/v1/keys", None).await;
    assert_eq!(generated.status, Status::Created, "{}", generated.body);
    let standby = generated.body["kid"].as_str().unwrap().to_owned();
    assert_eq!(
        generated.body["active"], first,
        "a generated key does not sign yet"
    );
    let jwks = app.client.get("/.well-known/jwks.json").dispatch().await;
    let jwks: Value = jwks.into_json().await.unwrap();
    assert!(jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == standby));

    let rotated = call(&app, &admin, Method::Post, "/admin/v1/keys/rotate", None).await;
    assert_eq!(rotated.status, Status::Ok, "{}", rotated.body);
    let signing = rotated.body["kid"].as_str().unwrap().to_owned();
    assert_eq!(rotated.body["active"], signing);
    assert_eq!(rotated.body["keys"].as_array().unwrap().len(), 3);
    let (fresh, _) = user_tokens(&app, &seed, "alice", None).await;
    let header = fresh.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(
        header["kid"], signing,
        "new tokens are signed with the new key"
    );
    // Tokens signed before the rotation still verify.
    assert_eq!(
        call(&app, &admin, Method::Get, "/admin/v1/keys", None)
            .await
            .status,
        Status::Ok
    );

    let (alice, _) = user_tokens(&app, &seed, "alice", None).await;
    let refused = call(&app, &alice, Method::Post, "/admin/v1/keys/rotate", None).await;
    assert_eq!(refused.status, Status::Forbidden);
    let audit = call(
        &app,
        &admin,
        Method::Get,
        "/admin/v1/audit?kind=key_activated",
        None,
    )
    .await;
    let events = audit.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{}", audit.body);
    assert_eq!(events[0]["actor"], "root");
    assert_eq!(events[0]["reason"], format!("kid {signing}"));
}

#[rocket::async_test]
async fn password_changes_and_disabling_reach_tokens_outside_refresh_families() {
    let app = app().await;
    let seed = seed(&app).await;
    let admin = admin_token(&app, &seed).await;
    let alice_id = seed.alice.id.to_hex();
    // `noref` issues no refresh tokens, so its access tokens belong to no family.
    let login = |password: &str| format!("grant_type=password&username=alice&password={password}");
    let noref = || Some(basic("noref", &seed.noref_secret));
    let old = token(&app, &login("alice-password"), noref()).await;
    let old = old.body["access_token"].as_str().unwrap().to_owned();
    crate::common::wall_clock_advance(1_100).await;

    let reset = call(
        &app,
        &admin,
        Method::Put,
        &format!("/admin/v1/users/{alice_id}/password"),
        Some(json!({ "password": "another password" })),
    )
    .await;
    assert_eq!(reset.status, Status::NoContent);
    // A sign-in right after the change keeps its token; the earlier one is refused.
    let fresh = token(&app, &login("another+password"), noref()).await;
    let fresh = fresh.body["access_token"].as_str().unwrap().to_owned();
    crate::common::wall_clock_advance(1_200).await;
    assert_eq!(
        call(&app, &old, Method::Get, "/api/me", None).await.status,
        Status::Unauthorized
    );
    assert_eq!(
        call(&app, &fresh, Method::Get, "/api/me", None)
            .await
            .status,
        Status::Ok
    );

    let disabled = call(
        &app,
        &admin,
        Method::Patch,
        &format!("/admin/v1/users/{alice_id}"),
        Some(json!({ "disabled": true })),
    )
    .await;
    assert_eq!(disabled.status, Status::Ok);
    crate::common::wall_clock_advance(1_200).await;
    let me = call(&app, &fresh, Method::Get, "/api/me", None).await;
    assert_eq!(me.status, Status::Unauthorized, "{}", me.body);
}
