//! Brute-force and abuse protection: account lockout that reveals nothing about which accounts
//! exist, per-address rate limits with 429 and `Retry-After`, and hostile input refused with
//! RFC-shaped answers.

use rocket::http::{ContentType, Header, Method, Status};

use crate::common::{app_with, basic, bearer, csrf_of, seed, token, Answer, TestApp};

async fn password_grant(app: &TestApp, secret: &str, user: &str, password: &str) -> Answer {
    token(
        app,
        &format!("grant_type=password&username={user}&password={password}"),
        Some(basic("app", secret)),
    )
    .await
}

#[rocket::async_test]
async fn repeated_failures_lock_the_name_whether_or_not_it_exists() {
    let app = app_with(|c| c.lockout.threshold = 3).await;
    let seed = seed(&app).await;
    for _ in 0..3 {
        assert_eq!(
            password_grant(&app, &seed.app_secret, "alice", "wrong")
                .await
                .status,
            Status::BadRequest
        );
        assert_eq!(
            password_grant(&app, &seed.app_secret, "ghost", "wrong")
                .await
                .status,
            Status::BadRequest
        );
    }
    // Locked: even the right password is refused, with the usual answer.
    let locked = password_grant(&app, &seed.app_secret, "alice", "alice-password").await;
    let ghost = password_grant(&app, &seed.app_secret, "ghost", "whatever").await;
    let wrong = password_grant(&app, &seed.app_secret, "bob", "wrong").await;
    for answer in [&locked, &ghost] {
        assert_eq!(answer.status, Status::BadRequest);
        assert_eq!(
            answer.body, wrong.body,
            "a lock looks like a wrong password"
        );
    }
    let events = app.store.recent_audit_events(50).await.unwrap();
    let locks: Vec<_> = events
        .iter()
        .filter(|e| e.kind == portcullis::store::AuditKind::AccountLocked)
        .filter_map(|e| e.username.clone())
        .collect();
    assert!(
        locks.contains(&"alice".to_string()) && locks.contains(&"ghost".to_string()),
        "{locks:?}"
    );
    assert!(events.iter().any(|e| e.reason.as_deref() == Some("locked")));

    // The browser form is locked too, with its generic message.
    let page = app
        .client
        .get("/login")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let form = app
        .client
        .post("/login")
        .header(ContentType::Form)
        .body(format!(
            "csrf={csrf}&username=alice&password=alice-password"
        ))
        .dispatch()
        .await;
    assert_eq!(form.status(), Status::Unauthorized);
    assert!(form
        .into_string()
        .await
        .unwrap()
        .contains("Invalid username or password."));

    // An administrator lifts the lock.
    assert!(portcullis::services::users::unlock(
        &app.store,
        &portcullis::services::Actor::CommandLine,
        "alice"
    )
    .await
    .unwrap());
    let after = password_grant(&app, &seed.app_secret, "alice", "alice-password").await;
    assert_eq!(after.status, Status::Ok, "{}", after.body);
}

#[rocket::async_test]
async fn locks_grow_and_success_resets_the_count() {
    let app = app_with(|c| {
        c.lockout.threshold = 2;
        c.lockout.base_secs = 1;
        c.lockout.max_secs = 60;
    })
    .await;
    let seed = seed(&app).await;
    // Failure, success, failure: the success forgot the first failure, so no lock.
    password_grant(&app, &seed.app_secret, "alice", "wrong").await;
    assert_eq!(
        password_grant(&app, &seed.app_secret, "alice", "alice-password")
            .await
            .status,
        Status::Ok
    );
    password_grant(&app, &seed.app_secret, "alice", "wrong").await;
    assert_eq!(
        password_grant(&app, &seed.app_secret, "alice", "alice-password")
            .await
            .status,
        Status::Ok
    );

    // Two failures lock for 1 s; after it the right password works and the end is recorded.
    password_grant(&app, &seed.app_secret, "alice", "wrong").await;
    password_grant(&app, &seed.app_secret, "alice", "wrong").await;
    assert_eq!(
        password_grant(&app, &seed.app_secret, "alice", "alice-password")
            .await
            .status,
        Status::BadRequest
    );
    let first = app.store.login_failures("alice").await.unwrap().unwrap();
    crate::common::wall_clock_advance(1200).await;
    assert_eq!(
        password_grant(&app, &seed.app_secret, "alice", "alice-password")
            .await
            .status,
        Status::Ok
    );
    assert!(app
        .store
        .recent_audit_events(50)
        .await
        .unwrap()
        .iter()
        .any(|e| e.kind == portcullis::store::AuditKind::AccountUnlocked));
    assert_eq!(first.locks, 1);
    // Two more failures lock again, as a first lock: the success cleared the record.
    password_grant(&app, &seed.app_secret, "alice", "wrong").await;
    password_grant(&app, &seed.app_secret, "alice", "wrong").await;
    let second = app.store.login_failures("alice").await.unwrap().unwrap();
    assert_eq!(
        second.locks, 1,
        "a success cleared the record, so back-off starts over"
    );
}

#[rocket::async_test]
async fn too_many_requests_from_one_address_get_429() {
    let app = app_with(|c| {
        c.rate_limits.token_per_minute = 3;
        c.rate_limits.register_per_minute = 2;
        c.self_registration = true;
    })
    .await;
    let seed = seed(&app).await;
    // Seven requests cover a limit of three even if a minute boundary falls among them.
    let mut limited = None;
    for _ in 0..7 {
        let answer = token(
            &app,
            "grant_type=client_credentials",
            Some(basic("m2m", &seed.m2m_secret)),
        )
        .await;
        if answer.status == Status::TooManyRequests {
            limited = Some(answer);
        }
    }
    let limited = limited.expect("the limit was never applied");
    assert_eq!(limited.body["error"], "temporarily_unavailable");
    assert_eq!(limited.header("Cache-Control"), Some("no-store"));
    let wait: u64 = limited.header("Retry-After").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));

    let mut register_limited = false;
    for i in 0..5 {
        let response = app
            .client
            .post("/register")
            .header(ContentType::JSON)
            .body(format!(r#"{{"username":"u{i}","password":"long enough"}}"#))
            .dispatch()
            .await;
        if response.status() == Status::TooManyRequests {
            let wait: u64 = response
                .headers()
                .get_one("Retry-After")
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&wait));
            register_limited = true;
        }
    }
    assert!(
        register_limited,
        "registration cannot enumerate faster than the limit"
    );
}

#[rocket::async_test]
async fn hostile_input_is_refused_cleanly() {
    let app = app_with(|_| {}).await;
    let seed = seed(&app).await;
    let huge_header = Header::new("Authorization", format!("Basic {}", "A".repeat(9000)));
    let answer = token(&app, "grant_type=client_credentials", Some(huge_header)).await;
    assert_eq!(answer.status, Status::BadRequest);
    assert_eq!(answer.body["error"], "invalid_request");

    let long_password = format!(
        "grant_type=password&username=alice&password={}",
        "p".repeat(2000)
    );
    let answer = token(&app, &long_password, Some(basic("app", &seed.app_secret))).await;
    assert_eq!(answer.status, Status::BadRequest);
    assert_eq!(answer.body["error"], "invalid_request");

    let huge_bearer = "a".repeat(9000);
    let api = bearer(
        &app.client,
        Method::Get,
        "/api/me",
        Some(&huge_bearer),
        None,
    )
    .await;
    assert_eq!(api.status, Status::BadRequest);

    let big_json = format!(
        r#"{{"username":"x","password":"{}"}}"#,
        "p".repeat(70 * 1024)
    );
    let response = app
        .client
        .post("/register")
        .header(ContentType::JSON)
        .body(big_json)
        .dispatch()
        .await;
    assert!(
        matches!(response.status().code, 400 | 403 | 413),
        "{}",
        response.status()
    );
}

#[rocket::async_test]
async fn an_overlong_password_is_refused_before_any_hashing() {
    let app = app_with(|_| {}).await;
    seed(&app).await;
    let page = app
        .client
        .get("/login")
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let long = "x".repeat(1025);
    // A known name and one the username rules refuse (which used to reach the dummy hash).
    for username in ["alice", "no+such+name%21"] {
        let form = app
            .client
            .post("/login")
            .header(ContentType::Form)
            .body(format!("csrf={csrf}&username={username}&password={long}"))
            .dispatch()
            .await;
        assert_eq!(form.status(), Status::Unauthorized, "{username}");
        assert!(form
            .into_string()
            .await
            .unwrap()
            .contains("Invalid username or password."));
    }
    // The length check comes first: both are recorded as too long, neither as an unknown user
    // (the reason written after the dummy hash).
    let events = app.store.recent_audit_events(20).await.unwrap();
    let reasons: Vec<_> = events
        .iter()
        .filter(|e| e.kind == portcullis::store::AuditKind::LoginFailed)
        .filter_map(|e| e.reason.clone())
        .collect();
    assert_eq!(
        reasons,
        ["password_too_long", "password_too_long"],
        "{reasons:?}"
    );
}

#[rocket::async_test]
async fn made_up_clients_cannot_fill_the_audit_trail() {
    let limit = 20;
    let app = app_with(|c| {
        c.rate_limits.client_auth_failures_per_minute = limit;
        // The test database takes tens of milliseconds per journaled write to one counter.
        c.database_timeout_ms = 30_000;
    })
    .await;
    seed(&app).await;
    // 150 unauthenticated revocations with made-up client ids, 25 at a time.
    let mut answers = Vec::new();
    for round in 0..6 {
        let batch = (0..25).map(|i| {
            crate::common::post_form(
                &app.client,
                "/oauth/revoke",
                "token=whatever",
                Some(basic(&format!("made-up-{round}-{i}"), "guess")),
            )
        });
        answers.extend(futures_util::future::join_all(batch).await);
    }
    let unauthorized = answers
        .iter()
        .filter(|a| a.status == Status::Unauthorized)
        .count();
    let throttled: Vec<_> = answers
        .iter()
        .filter(|a| a.status == Status::TooManyRequests)
        .collect();
    // Counting in one-minute windows: a window boundary may fall inside the burst.
    assert!(
        unauthorized <= 2 * usize::try_from(limit).unwrap(),
        "{unauthorized}"
    );
    assert!(!throttled.is_empty());
    for answer in &throttled {
        assert_eq!(answer.body["error"], "temporarily_unavailable");
        let wait: u64 = answer.header("Retry-After").unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait));
    }
    let recorded = app
        .store
        .recent_audit_events(500)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == portcullis::store::AuditKind::ClientAuthFailed)
        .collect::<Vec<_>>();
    // One record per failure up to the limit, then one `throttled` record per window.
    assert!(
        recorded.len() <= 2 * (usize::try_from(limit).unwrap() + 1),
        "{}",
        recorded.len()
    );
    assert!(recorded
        .iter()
        .any(|e| e.reason.as_deref() == Some("throttled")));

    // The count is per address and shared by the endpoints: introspection refuses too (unless
    // a new window has just begun).
    let minute = || portcullis::oauth::tokens::unix_now() / 60;
    let before = minute();
    let over = crate::common::post_form(
        &app.client,
        "/oauth/introspect",
        "token=whatever",
        Some(basic("nobody", "guess")),
    )
    .await;
    if minute() == before && answers.last().unwrap().status == Status::TooManyRequests {
        assert_eq!(over.status, Status::TooManyRequests);
    }
}

#[rocket::async_test]
async fn revocation_requests_are_limited_per_address() {
    let app = app_with(|c| c.rate_limits.revoke_per_minute = 5).await;
    let seed = seed(&app).await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let answer = crate::common::post_form(
            &app.client,
            "/oauth/revoke",
            "token=whatever",
            Some(basic("app", &seed.app_secret)),
        )
        .await;
        statuses.push(answer.status);
        if answer.status == Status::TooManyRequests {
            assert!(answer.header("Retry-After").is_some());
        }
    }
    assert!(statuses.contains(&Status::Ok));
    assert!(statuses.contains(&Status::TooManyRequests), "{statuses:?}");
}

#[rocket::async_test]
async fn audit_events_expire_after_the_retention_period() {
    use futures_util::TryStreamExt;
    let app = app_with(|c| c.audit_retention_days = 30).await;
    let database = mongodb::Client::with_uri_str(app.config.mongodb_uri.expose())
        .await
        .unwrap()
        .database(&app.config.database);
    let retention = |indexes: Vec<mongodb::IndexModel>| {
        indexes.into_iter().find_map(|index| {
            let options = index.options?;
            (options.name.as_deref() == Some("at_retention_ttl"))
                .then_some(options.expire_after)
                .flatten()
        })
    };
    let audit = database.collection::<mongodb::bson::Document>("audit");
    let indexes: Vec<_> = audit
        .list_indexes()
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        retention(indexes),
        Some(std::time::Duration::from_secs(30 * 86_400))
    );
    // A changed retention is applied to the index in place at the next start.
    let mut longer = app.config.clone();
    longer.audit_retention_days = 90;
    let store = portcullis::Store::from_config(&longer).await.unwrap();
    store.ensure_indexes().await.unwrap();
    let indexes: Vec<_> = audit
        .list_indexes()
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        retention(indexes),
        Some(std::time::Duration::from_secs(90 * 86_400))
    );
    // 0 keeps events forever.
    longer.audit_retention_days = 0;
    let store = portcullis::Store::from_config(&longer).await.unwrap();
    store.ensure_indexes().await.unwrap();
    let indexes: Vec<_> = audit
        .list_indexes()
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(retention(indexes), None);
}

#[rocket::async_test]
async fn ipv6_clients_are_limited_per_network() {
    let app = app_with(|c| c.rate_limits.token_per_minute = 3).await;
    let seed = seed(&app).await;
    let from = |host: u16| {
        let address = std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0xaaaa, 0, 0, host);
        std::net::SocketAddr::from((address, 40_000))
    };
    // A new address of the same /64 for every request: seven cover a limit of three even if a
    // minute boundary falls among them.
    let mut limited = false;
    for host in 1..=7 {
        let response = app
            .client
            .post("/oauth/token")
            .remote(from(host))
            .header(ContentType::Form)
            .header(basic("m2m", &seed.m2m_secret))
            .body("grant_type=client_credentials")
            .dispatch()
            .await;
        limited |= response.status() == Status::TooManyRequests;
    }
    assert!(limited, "rotating inside a /64 escaped the limit");
    // Another network is counted on its own.
    let other = std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 0, 0, 0, 1);
    let response = app
        .client
        .post("/oauth/token")
        .remote(std::net::SocketAddr::from((other, 40_000)))
        .header(ContentType::Form)
        .header(basic("m2m", &seed.m2m_secret))
        .body("grant_type=client_credentials")
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
}

#[rocket::async_test]
async fn every_password_check_counts_against_the_sign_in_rate() {
    let app = app_with(|c| {
        c.rate_limits.login_per_minute = 3;
        c.rate_limits.token_per_minute = 0;
        c.lockout.threshold = 100;
    })
    .await;
    let seed = seed(&app).await;
    // Seven password grants from one address cover a sign-in limit of three even if a minute
    // boundary falls among them: the token endpoint's own (here unlimited) rate does not help.
    let mut limited = None;
    for i in 0..7 {
        let answer = password_grant(&app, &seed.app_secret, &format!("user{i}"), "wrong").await;
        if answer.status == Status::TooManyRequests {
            limited = Some(answer);
        }
    }
    let limited = limited.expect("password grants escaped the sign-in limit");
    assert_eq!(limited.body["error"], "temporarily_unavailable");
    assert!(limited.header("Retry-After").is_some());
}

#[rocket::async_test]
async fn public_clients_never_get_the_password_grant() {
    use portcullis::services::clients::{create_client, NewClient};
    let app = app_with(|c| c.rate_limits.token_per_minute = 0).await;
    seed(&app).await;
    let refused = create_client(
        &app.store,
        &portcullis::services::Actor::CommandLine,
        NewClient {
            client_id: Some("spa".into()),
            name: "spa".into(),
            kind: portcullis::store::ClientKind::Public,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["password".into()],
            scopes: vec!["profile".into()],
            default_scopes: None,
            can_introspect: false,
        },
    )
    .await;
    assert!(
        matches!(
            refused,
            Err(portcullis::error::Error::Invalid {
                field: "grant_types",
                ..
            })
        ),
        "{refused:?}"
    );
    // A registration stored before the rule is refused at the token endpoint.
    let database = mongodb::Client::with_uri_str(app.config.mongodb_uri.expose())
        .await
        .unwrap()
        .database(&app.config.database);
    database
        .collection::<mongodb::bson::Document>("clients")
        .update_one(
            mongodb::bson::doc! { "_id": "mobile" },
            mongodb::bson::doc! { "$push": { "grant_types": "password" } },
        )
        .await
        .unwrap();
    let answer = token(
        &app,
        "grant_type=password&username=alice&password=alice-password&client_id=mobile",
        None,
    )
    .await;
    assert_eq!(answer.status, Status::BadRequest);
    assert_eq!(answer.body["error"], "unauthorized_client");
    assert!(answer.body.get("access_token").is_none());
}
