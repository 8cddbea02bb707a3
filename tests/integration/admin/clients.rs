//! Registered clients through the admin API: registration, changes, secret rotation, deletion.

use rocket::http::{Method, Status};
use serde_json::{json, Value};

use super::{admin_token, call};
use crate::common::{app, basic, seed, token, user_tokens};

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
    // The secret is shown once and must not be kept by a browser or proxy on the way.
    assert_eq!(created.header("Cache-Control"), Some("no-store"));
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
    assert_eq!(rotated.header("Cache-Control"), Some("no-store"));
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
    let verifier = &app
        .client
        .rocket()
        .state::<portcullis::http::AppState>()
        .unwrap()
        .verifier;
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
    let stored = match app
        .store
        .find_refresh_token(&portcullis::secrets::sha256_b64(&app_refresh))
        .await
        .unwrap()
        .unwrap()
    {
        portcullis::store::RefreshLookup::Current(family)
        | portcullis::store::RefreshLookup::Spent(family) => family,
    };
    assert!(
        stored.revoked,
        "the deleted client's refresh tokens are revoked"
    );
    // The administrator's own token came through `app` too: refused at once on this instance.
    assert_eq!(
        call(&app, &admin, Method::Get, "/admin/v1/users", None)
            .await
            .status,
        Status::Unauthorized
    );
    let relogin = token(
        &app,
        "grant_type=password&username=root&password=root-password&scope=admin",
        Some(basic("noref", &seed.noref_secret)),
    )
    .await;
    let admin = relogin.body["access_token"].as_str().unwrap().to_owned();

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
