//! Races an attacker can start with parallel requests, each repeated enough times to catch an
//! unlucky interleaving on two cores: a refresh racing the revocation of its family (RFC 7009
//! revoke, an administrator's password reset), and guesses racing the lockout.

use rocket::http::{Method, Status};

use crate::common::{app_with, basic, bearer, post_form, seed, token, Answer, Seed, TestApp};

const ROUNDS: usize = 48;

/// The test database serialises journaled writes to one document at tens of milliseconds
/// each, so a burst of 40 can take seconds: far more than production's default limit, which
/// these tests are not about.
const SLOW_DATABASE_MS: u64 = 30_000;

async fn refresh(app: &TestApp, seed: &Seed, refresh_token: &str) -> Answer {
    token(
        app,
        &format!("grant_type=refresh_token&refresh_token={refresh_token}"),
        Some(basic("app", &seed.app_secret)),
    )
    .await
}

async fn password_login(app: &TestApp, seed: &Seed) -> String {
    let answer = token(
        app,
        "grant_type=password&username=alice&password=alice-password",
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(answer.status, Status::Ok, "{}", answer.body);
    answer.body["refresh_token"].as_str().unwrap().to_owned()
}

async fn guess(app: &TestApp, seed: &Seed, username: &str, password: String) -> Answer {
    token(
        app,
        &format!("grant_type=password&username={username}&password={password}"),
        Some(basic("app", &seed.app_secret)),
    )
    .await
}

/// Whatever a racing refresh handed out, none of it may work once the family is revoked:
/// neither its refresh token (now or after another rotation attempt) nor its access token.
async fn assert_dead(app: &TestApp, seed: &Seed, raced: &Answer) {
    if raced.status != Status::Ok {
        assert_eq!(raced.body["error"], "invalid_grant", "{}", raced.body);
        return;
    }
    let successor = raced.body["refresh_token"].as_str().unwrap();
    let again = refresh(app, seed, successor).await;
    assert_eq!(
        again.status,
        Status::BadRequest,
        "a successor outlived the revocation: {}",
        again.body
    );
    let access = raced.body["access_token"].as_str().unwrap();
    let me = bearer(&app.client, Method::Get, "/api/me", Some(access), None).await;
    assert_eq!(
        me.status,
        Status::Unauthorized,
        "an access token outlived it"
    );
}

#[rocket::async_test]
async fn a_refresh_racing_its_revocation_never_outlives_it() {
    // A poll interval far beyond the test: only the instance's own bookkeeping can refuse.
    let app = app_with(|c| c.revocation_poll_ms = 3_600_000).await;
    let seed = seed(&app).await;
    for round in 0..ROUNDS {
        let refresh_token = password_login(&app, &seed).await;
        let revoke_form = format!("token={refresh_token}&token_type_hint=refresh_token");
        let auth = basic("app", &seed.app_secret);
        // Each round starts the revocation a little later, so the two requests meet at a
        // different step of the refresh each time.
        let delay = std::time::Duration::from_micros(700 * u64::try_from(round % 24).unwrap());
        let (revoked, raced) = futures_util::join!(
            async {
                tokio::time::sleep(delay).await;
                post_form(&app.client, "/oauth/revoke", &revoke_form, Some(auth)).await
            },
            refresh(&app, &seed, &refresh_token),
        );
        assert_eq!(revoked.status, Status::Ok);
        assert_dead(&app, &seed, &raced).await;
    }
}

#[rocket::async_test]
async fn a_refresh_loop_racing_a_password_reset_ends_with_it() {
    let app = app_with(|c| {
        c.revocation_poll_ms = 3_600_000;
        c.database_timeout_ms = SLOW_DATABASE_MS;
    })
    .await;
    let seed = seed(&app).await;
    let hasher = crate::common::fast_hasher();
    for round in 0..ROUNDS {
        let mut current = password_login(&app, &seed).await;
        let reset = portcullis::services::users::set_password(
            &app.store,
            &hasher,
            &app.revocations,
            &portcullis::services::Actor::CommandLine,
            "alice",
            "alice-password",
        );
        // The attacker rotates as fast as they can while the reset runs.
        let attack = async {
            let mut last = None;
            for _ in 0..4 {
                let answer = refresh(&app, &seed, &current).await;
                if answer.status != Status::Ok {
                    break;
                }
                current = answer.body["refresh_token"].as_str().unwrap().to_owned();
                last = Some(answer);
            }
            last
        };
        let (reset, last) = futures_util::join!(reset, attack);
        reset.unwrap();
        if let Some(last) = last {
            assert_dead(&app, &seed, &last).await;
        }
        assert_eq!(
            refresh(&app, &seed, &current).await.status,
            Status::BadRequest,
            "round {round}: the chain kept rotating after the reset"
        );
    }
}

#[rocket::async_test]
async fn parallel_guesses_never_outrun_the_lockout() {
    let threshold = 5;
    let app = app_with(|c| {
        c.lockout.threshold = threshold;
        c.database_timeout_ms = SLOW_DATABASE_MS;
        c.rate_limits.token_per_minute = 0;
        c.rate_limits.login_per_minute = 0;
    })
    .await;
    let seed = seed(&app).await;
    // 40 wrong guesses at once.
    let guesses = (0..40).map(|i| guess(&app, &seed, "alice", format!("wrong-{i}")));
    let answers = futures_util::future::join_all(guesses).await;
    // The name is locked: the right password is now refused without being checked.
    let right = guess(&app, &seed, "alice", "alice-password".into()).await;
    assert_eq!(
        right.status,
        Status::BadRequest,
        "the right password got through after parallel guesses: {}",
        right.body
    );
    for answer in &answers {
        assert_eq!(answer.status, Status::BadRequest, "{}", answer.body);
        assert_eq!(answer.body["error"], "invalid_grant");
        assert_eq!(
            answer.body["error_description"],
            answers[0].body["error_description"]
        );
    }
    // Exactly `threshold` passwords were checked; every other attempt was refused unhashed.
    let events = app.store.recent_audit_events(200).await.unwrap();
    let checked = events
        .iter()
        .filter(|e| e.kind == portcullis::store::AuditKind::LoginFailed)
        .filter(|e| e.reason.as_deref() == Some("bad_password"))
        .count();
    let refused = events
        .iter()
        .filter(|e| e.kind == portcullis::store::AuditKind::LoginFailed)
        .filter(|e| e.reason.as_deref() == Some("locked"))
        .count();
    let reasons: Vec<_> = events.iter().map(|e| (e.kind, e.reason.clone())).collect();
    // At most `threshold` (the test database sometimes loses the answer to one of the racing
    // first counts, and that attempt is then refused unchecked: fewer, never more).
    assert!(
        checked <= usize::try_from(threshold).unwrap(),
        "{reasons:?}"
    );
    assert!(checked >= 1, "{reasons:?}");
    assert_eq!(checked + refused, answers.len() + 1);
    let locks = events
        .iter()
        .filter(|e| e.kind == portcullis::store::AuditKind::AccountLocked)
        .count();
    assert_eq!(locks, 1, "one lock for the window");
    let record = app.store.login_failures("alice").await.unwrap().unwrap();
    assert!(record.locked_until.is_some(), "the name is locked");
}

#[rocket::async_test]
async fn unknown_names_are_limited_exactly_like_real_ones() {
    let app = app_with(|c| {
        c.lockout.threshold = 3;
        c.database_timeout_ms = SLOW_DATABASE_MS;
        c.rate_limits.token_per_minute = 0;
    })
    .await;
    let seed = seed(&app).await;
    let burst = |username: &'static str| {
        let guesses = (0..12).map(|_| guess(&app, &seed, username, "wrong".into()));
        futures_util::future::join_all(guesses)
    };
    let (real, unknown) = futures_util::join!(burst("alice"), burst("nobody"));
    for (a, b) in real.iter().zip(&unknown) {
        assert_eq!((a.status, &a.body), (b.status, &b.body));
    }
    let real_record = app.store.login_failures("alice").await.unwrap().unwrap();
    let unknown_record = app.store.login_failures("nobody").await.unwrap().unwrap();
    assert!(real_record.locked_until.is_some() && unknown_record.locked_until.is_some());
    assert_eq!(real_record.locks, 1);
    assert_eq!(unknown_record.locks, 1);
}

/// A password grant whose password was checked just before an administrator changed it: the
/// change must reach whatever the grant hands out, however the two interleave (the old
/// password is slow to check, with the real Argon2 cost, so the change lands mid-check).
#[rocket::async_test]
async fn a_sign_in_racing_a_password_change_keeps_nothing_it_should_not() {
    let app = app_with(|c| {
        c.revocation_poll_ms = 3_600_000;
        c.database_timeout_ms = SLOW_DATABASE_MS;
        c.argon2 = portcullis::config::Argon2Config::default();
        c.rate_limits.token_per_minute = 0;
        c.rate_limits.login_per_minute = 0;
        c.lockout.threshold = 10_000;
    })
    .await;
    let seed = seed(&app).await;
    let hasher = crate::common::fast_hasher();
    let change = |password: String| {
        let (store, revocations, hasher) = (&app.store, &app.revocations, &hasher);
        async move {
            portcullis::services::users::set_password(
                store,
                hasher,
                revocations,
                &portcullis::services::Actor::CommandLine,
                "alice",
                &password,
            )
            .await
            .unwrap();
        }
    };
    let mut raced = 0;
    for round in 0..ROUNDS {
        let delay = std::time::Duration::from_millis(3 * u64::try_from(round % 16).unwrap());
        let (_, answer) = futures_util::join!(
            async {
                tokio::time::sleep(delay).await;
                change(format!("new-password-{round}")).await;
            },
            guess(&app, &seed, "alice", "alice-password".into()),
        );
        if answer.status == Status::Ok {
            // The grant won: what it got must not survive the change.
            raced += 1;
            let refresh_token = answer.body["refresh_token"].as_str().unwrap();
            let again = refresh(&app, &seed, refresh_token).await;
            assert_eq!(
                again.status,
                Status::BadRequest,
                "round {round}: a refresh family from the old password outlived the change"
            );
        } else {
            assert_eq!(answer.body["error"], "invalid_grant", "{}", answer.body);
        }
        change("alice-password".into()).await;
    }
    eprintln!("{raced} of {ROUNDS} grants answered 200 beside the change");
}

/// Every instance acts on the key schedule every `keys.reload_ms`. However many act at once,
/// each key is stored once, its activation recorded once and its withdrawal made once: eight
/// at a time, every 100 ms, until two keys have been withdrawn.
#[rocket::async_test]
async fn instances_acting_on_the_key_schedule_at_once_change_each_key_once() {
    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    use portcullis::config::{KeyStoreKind, Secret};
    use portcullis::keys::{DatabaseKeys, Kek};
    use portcullis::services::keys::follow_schedule;
    use portcullis::store::{AuditKind, AuditQuery};

    let database = crate::common::unique_database();
    let _guard = crate::common::DatabaseGuard {
        name: database.clone(),
    };
    let mut config = crate::common::test_config(&database);
    config.keys.store = KeyStoreKind::Database;
    config.keys.kek = Some(Secret::new(Kek::generate().unwrap()));
    // A key signs for 2 s, published 1 s ahead, withdrawn 1 s after it stopped.
    config.keys.rotation_interval_secs = 2;
    config.jwks_max_age_secs = 1;
    config.access_token_ttl_secs = 1;
    config.token_leeway_secs = 0;
    config.database_timeout_ms = SLOW_DATABASE_MS;
    let store = portcullis::Store::from_config(&config).await.unwrap();
    store.ensure_indexes().await.unwrap();
    let keys = DatabaseKeys::new(&config, store.clone()).unwrap();

    let started = Instant::now();
    let mut most_pending = 0;
    let withdrawals = AuditQuery {
        kind: Some(AuditKind::KeyWithdrawn),
        limit: 10,
        ..AuditQuery::default()
    };
    while store.query_audit(&withdrawals).await.unwrap().len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the schedule stalled"
        );
        let outcomes = futures_util::future::join_all((0..8).map(|_| follow_schedule(&keys))).await;
        for outcome in outcomes {
            outcome.unwrap();
        }
        let now = portcullis::store::now();
        let pending = keys
            .records()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.activates_at.is_some_and(|at| at > now))
            .count();
        most_pending = most_pending.max(pending);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        most_pending <= 1,
        "{most_pending} keys waiting to sign at once"
    );

    let events = store
        .query_audit(&AuditQuery {
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let kid_of = |reason: &str| reason.split([' ', ',']).nth(1).unwrap().to_owned();
    let mut per_key: HashMap<(AuditKind, String), usize> = HashMap::new();
    for event in &events {
        let reason = event.reason.as_deref().unwrap();
        *per_key.entry((event.kind, kid_of(reason))).or_default() += 1;
    }
    let count = |kind: AuditKind| per_key.keys().filter(|(k, _)| *k == kind).count();
    // Two whole rotations: the first key and its successors, each made, activated and
    // withdrawn exactly once.
    assert!(count(AuditKind::KeyGenerated) >= 3, "{per_key:?}");
    assert!(count(AuditKind::KeyActivated) >= 3, "{per_key:?}");
    assert!(count(AuditKind::KeyWithdrawn) >= 2, "{per_key:?}");
    assert!(per_key.values().all(|n| *n == 1), "{per_key:?}");
    // One successor for each key (and one first key).
    let mut successors: HashMap<String, usize> = HashMap::new();
    for event in events.iter().filter(|e| e.kind == AuditKind::KeyGenerated) {
        let reason = event.reason.as_deref().unwrap();
        let predecessor = reason
            .split(", ")
            .find_map(|part| part.strip_prefix("succeeds "))
            .unwrap_or("none");
        *successors.entry(predecessor.to_owned()).or_default() += 1;
    }
    assert!(successors.values().all(|n| *n == 1), "{successors:?}");
    assert_eq!(events.len(), per_key.len());
}

/// The per-address limit is counted in memory: a burst of parallel token requests on one
/// instance gets exactly the limit through, and the rest 429.
#[rocket::async_test]
async fn parallel_requests_never_outrun_a_rate_limit() {
    const LIMIT: usize = 10;
    let app = app_with(|c| {
        c.rate_limits.token_per_minute = u32::try_from(LIMIT).unwrap();
        c.database_timeout_ms = SLOW_DATABASE_MS;
    })
    .await;
    let seed = seed(&app).await;
    crate::common::early_in_a_minute(45).await;
    let burst = (0..4 * LIMIT).map(|_| {
        token(
            &app,
            "grant_type=client_credentials",
            Some(basic("m2m", &seed.m2m_secret)),
        )
    });
    let answers = futures_util::future::join_all(burst).await;
    let admitted = answers.iter().filter(|a| a.status == Status::Ok).count();
    let refused = answers
        .iter()
        .filter(|a| a.status == Status::TooManyRequests)
        .count();
    assert_eq!((admitted, refused), (LIMIT, 3 * LIMIT));

    // The same on many threads at once, window after window: every count is taken once, and
    // exactly one request is reported as the first over the limit.
    let store = app.store.clone();
    for window in 0..ROUNDS {
        let window = i64::try_from(window).unwrap();
        let counts: Vec<portcullis::store::RequestCount> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..32)
                .map(|_| {
                    let store = &store;
                    scope.spawn(move || {
                        tokio::runtime::Builder::new_current_thread()
                            .build()
                            .unwrap()
                            .block_on(store.count_request("race", "192.0.2.1", window, 16))
                            .unwrap()
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let mut totals: Vec<i64> = counts.iter().map(|c| c.total).collect();
        totals.sort_unstable();
        assert_eq!(totals, (1..=32).collect::<Vec<i64>>(), "window {window}");
        let first: Vec<i64> = counts
            .iter()
            .filter(|c| c.first_over)
            .map(|c| c.total)
            .collect();
        assert_eq!(first, vec![17], "window {window}");
    }
}
