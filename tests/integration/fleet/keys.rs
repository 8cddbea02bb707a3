//! Signing keys kept in the database and shared by every instance: a rotation through one
//! instance's admin API signs and is published on all three within the stated bound; the
//! schedule publishes a key a lead before it signs and withdraws the old one once its tokens
//! have expired, changing and recording each step once however many instances act on it; a
//! wrong or missing key-encryption key refuses to start and damages nothing.

use std::collections::HashSet;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use portcullis::keys::Kek;
use portcullis::store::{AuditKind, AuditQuery};
use serde_json::Value;

use super::Fleet;
use crate::common::{free_closed_port, kid_of};

/// `keys.reload_ms` in these tests: a change reaches every instance within it, and a manual
/// rotation signs two of it after it was made.
const RELOAD_MS: u64 = 200;

/// A fleet of `instances` keeping keys in its database under `kek`, with an administrator
/// and a client that may ask for `admin`; returns the client's secret.
fn keys_in_database(instances: usize, kek: &str) -> (Fleet, String) {
    let mut fleet = Fleet::new(instances);
    fleet.set("PORTCULLIS_KEYS__STORE", "database");
    fleet.set("PORTCULLIS_KEYS__KEK", kek);
    fleet.set("PORTCULLIS_KEYS__RELOAD_MS", &RELOAD_MS.to_string());
    fleet.add_user("root", "root-password", Some("admin"));
    let secret = fleet.add_client("console", "password", "admin,profile");
    (fleet, secret)
}

/// An access token for the administrator from instance `n`.
async fn token_from(fleet: &Fleet, n: usize, secret: &str) -> String {
    let user = ("root", "root-password");
    fleet
        .password_token(n, ("console", secret), user, "admin profile")
        .await
}

/// The kids in the JWKS of the instance at `base`.
async fn published(base: &str) -> HashSet<String> {
    let jwks: Value = reqwest::get(format!("{base}/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn key_events(fleet: &Fleet, kind: AuditKind) -> Vec<String> {
    let query = AuditQuery {
        kind: Some(kind),
        limit: 1000,
        ..AuditQuery::default()
    };
    let events = fleet.store().await.query_audit(&query).await.unwrap();
    events.into_iter().filter_map(|e| e.reason).collect()
}

#[rocket::async_test]
async fn a_key_rotated_through_one_instance_signs_and_is_published_on_all_three() {
    let (mut fleet, secret) = keys_in_database(3, &Kek::generate().unwrap());
    for n in 0..3 {
        fleet.start(n).await;
    }
    // The first instance stored the first key; all three sign with it.
    let first = kid_of(&token_from(&fleet, 0, &secret).await);
    let before = token_from(&fleet, 2, &secret).await;
    for n in 0..3 {
        assert_eq!(
            published(&fleet.base(n)).await,
            HashSet::from([first.clone()])
        );
        assert_eq!(kid_of(&token_from(&fleet, n, &secret).await), first);
    }

    let admin = token_from(&fleet, 1, &secret).await;
    let rotated: Value = reqwest::Client::new()
        .post(format!("{}/admin/v1/keys/rotate", fleet.base(1)))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rotated_at = Instant::now();
    assert_eq!(rotated["store"], "database", "{rotated}");
    let next = rotated["kid"].as_str().unwrap().to_owned();
    let view = rotated["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == next.as_str())
        .unwrap()
        .clone();
    // It signs once every instance can have loaded it, not before.
    assert_eq!(view["state"], "pending", "{rotated}");
    assert!(view["signs_from"].is_string(), "{rotated}");

    // Every instance publishes it, then signs with it, within the bound.
    let mut signing_on = Vec::new();
    for n in 0..3 {
        loop {
            let token = token_from(&fleet, n, &secret).await;
            if kid_of(&token) == next {
                // Whoever signed it, every instance accepts it at once.
                for other in 0..3 {
                    assert_eq!(fleet.me(other, &token).await, 200, "instance {other}");
                    assert!(published(&fleet.base(other)).await.contains(&next));
                }
                break;
            }
            assert!(
                rotated_at.elapsed() < Duration::from_secs(10),
                "instance {n} never signed with the new key: {}",
                fleet.log_of(n)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        signing_on.push(rotated_at.elapsed());
    }
    println!("the rotated key signs on every instance after {signing_on:?}");
    // The stated bound: 2 × reload_ms + 1 s until it signs, one more reload for the last
    // instance to see the time come, and a second for this machine's own pace.
    for elapsed in &signing_on {
        assert!(
            *elapsed < Duration::from_millis(3 * RELOAD_MS + 2_000),
            "{elapsed:?}"
        );
    }
    // A token signed before the rotation still verifies everywhere.
    for n in 0..3 {
        assert_eq!(fleet.me(n, &before).await, 200);
        assert_eq!(
            published(&fleet.base(n)).await,
            HashSet::from([first.clone(), next.clone()])
        );
    }
    // Recorded once, by the instance that made the change, with when it signs from.
    let activated = key_events(&fleet, AuditKind::KeyActivated).await;
    let of_next: Vec<_> = activated
        .iter()
        .filter(|reason| reason.starts_with(&format!("kid {next}")))
        .collect();
    assert_eq!(of_next.len(), 1, "{activated:?}");
    assert!(of_next[0].contains(", signs from "), "{activated:?}");
}

#[rocket::async_test]
async fn the_schedule_publishes_ahead_keeps_old_tokens_and_withdraws_once() {
    let (mut fleet, secret) = keys_in_database(2, &Kek::generate().unwrap());
    // A key signs for 5 s, is published 2 s (the JWKS max-age) before it signs, and is
    // withdrawn 3 s (the access-token lifetime, no leeway) after it stopped.
    fleet.set("PORTCULLIS_KEYS__ROTATION_INTERVAL_SECS", "5");
    fleet.set("PORTCULLIS_JWKS_MAX_AGE_SECS", "2");
    fleet.set("PORTCULLIS_ACCESS_TOKEN_TTL_SECS", "3");
    fleet.set("PORTCULLIS_TOKEN_LEEWAY_SECS", "0");
    fleet.start(0).await;
    fleet.start(1).await;
    let started = Instant::now();
    let first = kid_of(&token_from(&fleet, 0, &secret).await);

    // Watch both instances: when the next key appears, when it first signs, until when the
    // last token the first key signed is accepted, and when the first key leaves the JWKS.
    let watcher = tokio::spawn(first_appearance(
        fleet.base(0),
        fleet.base(1),
        first.clone(),
    ));
    let mut signed: Option<(Instant, String)> = None;
    let mut last_old: Option<(Instant, String)> = None;
    let mut old_refused: Option<Instant> = None;
    let mut withdrawn: Option<Instant> = None;
    while withdrawn.is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the schedule stalled: {}",
            fleet.log_of(0)
        );
        for n in 0..2 {
            let keys = published(&fleet.base(n)).await;
            if signed.is_none() {
                let token = token_from(&fleet, n, &secret).await;
                let kid = kid_of(&token);
                if kid == first {
                    last_old = Some((Instant::now(), token));
                } else {
                    assert!(keys.contains(&kid));
                    signed = Some((Instant::now(), kid));
                }
            } else if let Some((_, old)) = &last_old {
                // Both instances accept it after the rotation, until it expires.
                if fleet.me(n, old).await != 200 {
                    old_refused.get_or_insert_with(Instant::now);
                }
            }
            if signed.is_some() && !keys.contains(&first) {
                withdrawn = Some(Instant::now());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (appeared, (signed, next), (old_issued, _), old_refused, withdrawn) = (
        watcher.await.unwrap(),
        signed.unwrap(),
        last_old.unwrap(),
        old_refused.unwrap(),
        withdrawn.unwrap(),
    );
    let since = |at: Instant| at - started;
    println!(
        "next key published at {:?}, signs at {:?}; the last token of the old key issued at \
         {:?}, refused from {:?}; the old key withdrawn at {:?}",
        since(appeared),
        since(signed),
        since(old_issued),
        since(old_refused),
        since(withdrawn)
    );
    // Published a whole JWKS max-age before it signed, on both instances (less what the
    // watcher can miss: one reload of the later instance, and its own requests).
    assert!(
        signed - appeared >= Duration::from_millis(2000 - RELOAD_MS - 300),
        "published {:?} before it signed",
        signed - appeared
    );
    // The last token signed before the rotation verified across it on both instances until
    // it expired (3 s); the old key left only after that.
    assert!(signed < old_issued + Duration::from_secs(3));
    assert!(old_refused - old_issued >= Duration::from_millis(2900));
    assert!(withdrawn >= old_refused);

    // Two instances acted on one schedule: each step happened and was recorded once.
    let generated = key_events(&fleet, AuditKind::KeyGenerated).await;
    let successors: Vec<_> = generated
        .iter()
        .filter(|reason| reason.contains(&format!("succeeds {first}")))
        .collect();
    assert_eq!(successors.len(), 1, "{generated:?}");
    assert!(successors[0].starts_with(&format!("kid {next}")));
    let activations = key_events(&fleet, AuditKind::KeyActivated).await;
    let next_activations = activations
        .iter()
        .filter(|reason| reason.starts_with(&format!("kid {next}")))
        .count();
    assert_eq!(next_activations, 1, "{activations:?}");
    let withdrawals = key_events(&fleet, AuditKind::KeyWithdrawn).await;
    assert_eq!(
        withdrawals,
        vec![format!("kid {first}, its last token expired")]
    );
}

/// When a key other than `first` is in the JWKS of both instances, watched every 25 ms apart
/// from the slower token requests.
async fn first_appearance(one: String, other: String, first: String) -> Instant {
    loop {
        let one_has = published(&one).await.iter().any(|kid| *kid != first);
        if one_has && published(&other).await.iter().any(|kid| *kid != first) {
            return Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Runs `portcullis serve` that is expected to refuse to start; kills it after 30 s.
fn refused_start(command: &mut Command) -> Output {
    let mut child = command
        .env("PORTCULLIS_PORT", free_closed_port().to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the server started");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn one_line(output: &Output) -> String {
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr.trim().to_owned()
}

#[rocket::async_test]
async fn a_wrong_or_missing_key_encryption_key_refuses_to_start_and_damages_nothing() {
    let right = Kek::generate().unwrap();
    let (mut fleet, secret) = keys_in_database(1, &right);
    fleet.start(0).await;
    let token = token_from(&fleet, 0, &secret).await;
    fleet.stop(0);
    let store = fleet.store().await;
    let stored = format!("{:?}", store.signing_keys().await.unwrap());

    let wrong = Kek::generate().unwrap();
    let refused = one_line(&refused_start(
        fleet
            .command(&["serve"])
            .env("PORTCULLIS_KEYS__KEK", &wrong),
    ));
    assert!(
        refused.starts_with("error: signing keys: signing key ")
            && refused.contains("is sealed under key-encryption key"),
        "{refused}"
    );
    assert!(!refused.contains(&wrong) && !refused.contains(&right));

    let missing = one_line(&refused_start(
        fleet.command(&["serve"]).env_remove("PORTCULLIS_KEYS__KEK"),
    ));
    assert!(
        missing.starts_with("error: configuration error: keys.kek: keys.store = \"database\" needs a key-encryption key"),
        "{missing}"
    );
    let malformed = one_line(&refused_start(
        fleet
            .command(&["serve"])
            .env("PORTCULLIS_KEYS__KEK", "c2hvcnQ="),
    ));
    assert_eq!(
        malformed,
        "error: signing keys: keys.kek: the key-encryption key must be 32 bytes, found 5"
    );
    // Nothing was written: not the keys, and no new key for an empty-looking store.
    assert_eq!(format!("{:?}", store.signing_keys().await.unwrap()), stored);

    // The right key starts again, and the token signed before verifies.
    fleet.start(0).await;
    assert_eq!(fleet.me(0, &token).await, 200);
    fleet.stop(0);

    // A command that stores a key checks first that its KEK opens what is stored: a key
    // sealed under a KEK no server holds would be left out of every ring.
    let stored = format!("{:?}", store.signing_keys().await.unwrap());
    let stray = fleet
        .command(&["keys", "rotate"])
        .env("PORTCULLIS_KEYS__KEK", &wrong)
        .output()
        .unwrap();
    let stray = one_line(&stray);
    assert!(
        stray.contains("is sealed under key-encryption key"),
        "{stray}"
    );
    assert_eq!(format!("{:?}", store.signing_keys().await.unwrap()), stored);

    // Rotating the KEK: the new one seals, the previous one opens what it sealed until then.
    let rotated = fleet
        .command(&["keys", "rotate-kek"])
        .env("PORTCULLIS_KEYS__KEK", &wrong)
        .env("PORTCULLIS_KEYS__PREVIOUS_KEK", &right)
        .output()
        .unwrap();
    assert!(rotated.status.success(), "{rotated:?}");
    assert!(String::from_utf8_lossy(&rotated.stdout).starts_with("1 keys sealed under"));
    let under_old = one_line(&refused_start(&mut fleet.command(&["serve"])));
    assert!(
        under_old.contains("is sealed under key-encryption key"),
        "{under_old}"
    );
    fleet.set("PORTCULLIS_KEYS__KEK", &wrong);
    fleet.start(0).await;
    assert_eq!(fleet.me(0, &token).await, 200, "the same signing key");
    let resealed = key_events(&fleet, AuditKind::KeysResealed).await;
    assert_eq!(resealed.len(), 1, "{resealed:?}");
}

#[rocket::async_test]
async fn a_keys_folder_is_imported_and_its_verifying_keys_stay_published() {
    use portcullis::keys::generate_key;

    let folder = crate::common::temp_dir();
    let signing = generate_key(folder.path(), true).unwrap().kid;
    let verifying: Vec<String> = (0..2)
        .map(|_| generate_key(folder.path(), false).unwrap().kid)
        .collect();
    let (mut fleet, secret) = keys_in_database(1, &Kek::generate().unwrap());
    let from = folder.path().to_str().unwrap();
    let imported = fleet
        .command(&["keys", "import", "--from", from])
        .output()
        .unwrap();
    assert!(imported.status.success(), "{imported:?}");
    assert!(String::from_utf8_lossy(&imported.stdout).starts_with("stored 3 keys from "));
    // A second import is refused: the key store is no longer empty.
    let again = fleet
        .command(&["keys", "import", "--from", from])
        .output()
        .unwrap();
    assert!(one_line(&again).contains("already holds signing keys"));

    fleet.start(0).await;
    // The folder's signing key signs; its verifying keys, which may have signed tokens still
    // live, stay published until they are withdrawn like any retired key.
    assert_eq!(kid_of(&token_from(&fleet, 0, &secret).await), signing);
    let mut expected: HashSet<String> = verifying.into_iter().collect();
    expected.insert(signing);
    assert_eq!(published(&fleet.base(0)).await, expected);
    let listed = fleet.command(&["keys", "list"]).output().unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert_eq!(listed.matches(" retired ").count(), 2, "{listed}");
    assert_eq!(listed.matches(" active ").count(), 1, "{listed}");
}
