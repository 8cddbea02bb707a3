//! The MongoDB store: round trips, unique constraints, indexes, and typed queries.

use mongodb::bson::doc;
use portcullis::error::Error;
use portcullis::services::clients::{create_client, NewClient};
use portcullis::services::users::{create_user, find_user, set_disabled, set_role};
use portcullis::store::ClientKind;

use crate::common::{fast_hasher, store};

#[rocket::async_test]
async fn users_round_trip_and_names_are_unique_case_insensitively() {
    let (store, config, _db) = store().await;
    let hasher = fast_hasher();
    let alice = create_user(
        &store,
        &hasher,
        &config,
        &portcullis::services::Actor::CommandLine,
        "Alice",
        "correct horse",
        "user",
    )
    .await
    .unwrap();
    let found = find_user(&store, "alice").await.unwrap().unwrap();
    assert_eq!(found.id, alice.id);
    assert_eq!(found.username, "Alice");
    assert_eq!(found.role, "user");
    assert!(found.password_hash.starts_with("$argon2id$"));
    assert!(!found.password_hash.contains("correct horse"));

    for twin in ["alice", "ALICE", "\u{ff21}lice"] {
        let error = create_user(
            &store,
            &hasher,
            &config,
            &portcullis::services::Actor::CommandLine,
            twin,
            "correct horse",
            "user",
        )
        .await
        .unwrap_err();
        assert!(matches!(error, Error::Conflict(_)), "{twin}: {error}");
    }
}

#[rocket::async_test]
async fn user_changes_are_validated_and_stored() {
    let (store, config, _db) = store().await;
    let revocations = crate::common::revocations(&store, &config);
    let hasher = fast_hasher();
    create_user(
        &store,
        &hasher,
        &config,
        &portcullis::services::Actor::CommandLine,
        "bob",
        "correct horse",
        "user",
    )
    .await
    .unwrap();
    assert!(matches!(
        create_user(
            &store,
            &hasher,
            &config,
            &portcullis::services::Actor::CommandLine,
            "carol",
            "short",
            "user"
        )
        .await,
        Err(Error::Invalid {
            field: "password",
            ..
        })
    ));
    assert!(matches!(
        create_user(
            &store,
            &hasher,
            &config,
            &portcullis::services::Actor::CommandLine,
            "carol",
            "long enough",
            "root"
        )
        .await,
        Err(Error::Invalid { field: "role", .. })
    ));
    // Another administrator, so that bob can be disabled below.
    create_user(
        &store,
        &hasher,
        &config,
        &portcullis::services::Actor::CommandLine,
        "dora",
        "long enough",
        "admin",
    )
    .await
    .unwrap();
    assert_eq!(
        set_role(
            &store,
            &config,
            &revocations,
            &portcullis::services::Actor::CommandLine,
            "BOB",
            "admin"
        )
        .await
        .unwrap()
        .role,
        "admin"
    );
    assert!(
        set_disabled(
            &store,
            &revocations,
            &portcullis::services::Actor::CommandLine,
            "bob",
            true
        )
        .await
        .unwrap()
        .disabled
    );
    assert!(matches!(
        set_role(
            &store,
            &config,
            &revocations,
            &portcullis::services::Actor::CommandLine,
            "nobody",
            "admin"
        )
        .await,
        Err(Error::NotFound(_))
    ));
}

#[rocket::async_test]
async fn clients_round_trip_with_a_hashed_secret() {
    let (store, _config, _db) = store().await;
    let new = NewClient {
        client_id: Some("billing".into()),
        name: "Billing".into(),
        kind: ClientKind::Confidential,
        redirect_uris: vec!["https://billing.example/cb".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: vec!["profile".into(), "data:read".into()],
        default_scopes: None,
        can_introspect: false,
    };
    let (client, secret) = create_client(
        &store,
        &portcullis::services::Actor::CommandLine,
        new.clone(),
    )
    .await
    .unwrap();
    let secret = secret.expect("confidential clients get a secret");
    assert_eq!(secret.expose().len(), 43);
    let stored = store.find_client("billing").await.unwrap().unwrap();
    assert_eq!(stored.secret_hash.as_deref(), Some(secret.hash().as_str()));
    assert_eq!(stored.default_scopes, client.scopes);

    assert!(matches!(
        create_client(
            &store,
            &portcullis::services::Actor::CommandLine,
            new.clone()
        )
        .await,
        Err(Error::Conflict(_))
    ));

    let bad_cases = [
        NewClient {
            grant_types: vec!["implicit".into()],
            ..new.clone()
        },
        NewClient {
            redirect_uris: vec!["http://evil.example/cb".into()],
            ..new.clone()
        },
        NewClient {
            redirect_uris: vec!["https://a.example/cb#frag".into()],
            ..new.clone()
        },
        NewClient {
            redirect_uris: vec![],
            ..new.clone()
        },
        NewClient {
            scopes: vec!["bad scope\"".into()],
            ..new.clone()
        },
        NewClient {
            kind: ClientKind::Public,
            grant_types: vec!["client_credentials".into()],
            ..new.clone()
        },
        NewClient {
            default_scopes: Some(vec!["admin".into()]),
            ..new.clone()
        },
    ];
    for (i, bad) in bad_cases.into_iter().enumerate() {
        let bad = NewClient {
            client_id: Some(format!("bad{i}")),
            ..bad
        };
        assert!(
            matches!(
                create_client(&store, &portcullis::services::Actor::CommandLine, bad).await,
                Err(Error::Invalid { .. })
            ),
            "case {i}"
        );
    }
}

#[rocket::async_test]
async fn indexes_are_in_place() {
    let (store, config, _db) = store().await;
    let client = mongodb::Client::with_uri_str(config.mongodb_uri.expose())
        .await
        .unwrap();
    let db = client.database(store.database_name());
    let users = db
        .collection::<mongodb::bson::Document>("users")
        .list_index_names()
        .await
        .unwrap();
    assert!(
        users.contains(&"username_key_unique".to_string()),
        "{users:?}"
    );
    assert!(users.contains(&"username_skeleton_unique".to_string()));
    let refresh = db
        .collection::<mongodb::bson::Document>("refresh_families")
        .list_index_names()
        .await
        .unwrap();
    for name in [
        "current_unique",
        "spent",
        "user_id",
        "client_id",
        "revocation",
        "expires_at_ttl",
    ] {
        assert!(refresh.contains(&name.to_string()), "{refresh:?}");
    }
    let specs = db
        .collection::<mongodb::bson::Document>("revocations")
        .list_indexes()
        .await
        .unwrap();
    use futures_util::TryStreamExt;
    let specs: Vec<_> = specs.try_collect().await.unwrap();
    let ttl = specs
        .iter()
        .find(|i| i.keys == doc! { "expires_at": 1 })
        .expect("revocations TTL index");
    assert_eq!(
        ttl.options.as_ref().and_then(|o| o.expire_after),
        Some(std::time::Duration::ZERO)
    );
}

#[rocket::async_test]
async fn query_operators_in_input_are_plain_strings() {
    let (store, config, _db) = store().await;
    create_user(
        &store,
        &fast_hasher(),
        &config,
        &portcullis::services::Actor::CommandLine,
        "dave",
        "correct horse",
        "user",
    )
    .await
    .unwrap();
    // A name shaped like an operator is just a (refused) name, never a query.
    assert!(find_user(&store, "{\"$ne\": null}")
        .await
        .unwrap()
        .is_none());
    assert!(find_user(&store, "$ne").await.unwrap().is_none());
}

#[rocket::async_test]
async fn registrations_that_blur_clients_and_users_are_refused() {
    use portcullis::services::clients::{update_client, ClientChanges};
    let (store, config, _db) = store().await;
    let actor = portcullis::services::Actor::CommandLine;
    let public = NewClient {
        client_id: Some("phone".into()),
        name: "Phone".into(),
        kind: ClientKind::Public,
        redirect_uris: vec!["com.example.phone:/cb".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["authorization_code".into()],
        scopes: vec!["profile".into()],
        default_scopes: None,
        can_introspect: true,
    };
    // RFC 7662 §2.1: introspection needs client authentication, which a public client lacks.
    assert!(matches!(
        create_client(&store, &actor, public.clone()).await,
        Err(Error::Invalid {
            field: "can_introspect",
            ..
        })
    ));
    let public = NewClient {
        can_introspect: false,
        ..public
    };
    create_client(&store, &actor, public.clone()).await.unwrap();
    let allow = ClientChanges {
        can_introspect: Some(true),
        ..ClientChanges::default()
    };
    assert!(matches!(
        update_client(&store, &actor, "phone", allow).await,
        Err(Error::Invalid {
            field: "can_introspect",
            ..
        })
    ));
    assert!(
        !store
            .find_client("phone")
            .await
            .unwrap()
            .unwrap()
            .can_introspect
    );

    // RFC 9700 §4.15: a client id shaped like a user's `sub` (an ObjectId) is refused.
    let user = portcullis::services::users::create_user(
        &store,
        &fast_hasher(),
        &config,
        &actor,
        "erin",
        "correct horse",
        "user",
    )
    .await
    .unwrap();
    let sub = user.id.to_hex();
    for id in [
        sub.clone(),
        sub.to_uppercase(),
        "0123456789abcdef01234567".into(),
    ] {
        let named = NewClient {
            client_id: Some(id.clone()),
            ..public.clone()
        };
        assert!(
            matches!(
                create_client(&store, &actor, named).await,
                Err(Error::Invalid {
                    field: "client_id",
                    ..
                })
            ),
            "{id}"
        );
        assert!(store.find_client(&id).await.unwrap().is_none());
    }
    // Only that form: 24 characters that are not all hex digits, or 23 hex digits, are fine.
    for id in ["billing-reports-frontend", &sub[..23]] {
        let named = NewClient {
            client_id: Some(id.to_owned()),
            ..public.clone()
        };
        create_client(&store, &actor, named).await.unwrap();
    }
}
