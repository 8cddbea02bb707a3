//! What the database keeps of secrets: digests only.

use mongodb::bson::{doc, Document};
use portcullis::secrets::sha256_b64;
use rocket::http::Status;

use crate::code_flow::{exchange, register_clients, VERIFIER};
use crate::common::{app, basic, post_form, seed, sign_in, user_tokens};

use super::{database, fresh_code};

/// RFC 6749 §10.3, §10.4 (and §10.5 for codes): after a browser sign-in, a code exchange, a
/// refresh and a password grant, no collection holds a session token, code, refresh token,
/// access token or client secret, only the SHA-256 digests of the first three.
#[rocket::async_test]
async fn secrets_are_stored_only_as_digests() {
    let app = app().await;
    let seed = seed(&app).await;
    let secret = register_clients(&app).await;
    sign_in(&app.client, "alice", "alice-password").await;
    let session = app
        .client
        .cookies()
        .get_private("portcullis_session")
        .expect("session cookie")
        .value()
        .to_owned();

    let code = fresh_code(&app).await;
    let issued = exchange(&app, &secret, &code, VERIFIER).await;
    assert_eq!(issued.status, Status::Ok, "{}", issued.body);
    let first_refresh = issued.body["refresh_token"].as_str().unwrap().to_owned();
    let rotated = post_form(
        &app.client,
        "/oauth/token",
        &format!("grant_type=refresh_token&refresh_token={first_refresh}"),
        Some(basic("thirdparty", &secret)),
    )
    .await;
    assert_eq!(rotated.status, Status::Ok, "{}", rotated.body);
    let (password_access, password_refresh) = user_tokens(&app, &seed, "alice", None).await;

    // Everything in every collection, audit events included (flushed first).
    app.store.recent_audit_events(1).await.unwrap();
    let db = database(&app).await;
    let mut dump = String::new();
    let mut ids = Vec::new();
    for name in db.list_collection_names().await.unwrap() {
        use futures_util::TryStreamExt;
        let cursor = db
            .collection::<Document>(&name)
            .find(doc! {})
            .await
            .unwrap();
        let docs: Vec<Document> = cursor.try_collect().await.unwrap();
        for document in docs {
            dump.push_str(&format!("{name}: {document}\n"));
            if let Ok(id) = document.get_str("_id") {
                ids.push((name.clone(), id.to_owned()));
            }
            // A refresh family holds its live token's digest and its spent ones'.
            if let Ok(current) = document.get_str("current") {
                ids.push((name.clone(), current.to_owned()));
            }
            for spent in document.get_array("spent").into_iter().flatten() {
                if let Some(spent) = spent.as_str() {
                    ids.push((name.clone(), spent.to_owned()));
                }
            }
        }
    }

    let access_tokens = [
        issued.body["access_token"].as_str().unwrap(),
        rotated.body["access_token"].as_str().unwrap(),
        &password_access,
    ];
    let digested = [
        ("sessions", session.as_str()),
        ("authorization_codes", &code),
        ("refresh_families", &first_refresh),
        (
            "refresh_families",
            rotated.body["refresh_token"].as_str().unwrap(),
        ),
        ("refresh_families", &password_refresh),
    ];
    for (collection, raw) in digested {
        assert!(!dump.contains(raw), "{collection} holds a raw secret");
        let digest = (collection.to_owned(), sha256_b64(raw));
        assert!(ids.contains(&digest), "no digest in {collection}:\n{dump}");
    }
    for access in access_tokens {
        let signature = access.rsplit('.').next().unwrap();
        assert!(!dump.contains(signature), "an access token is stored");
    }
    for client_secret in [&secret, &seed.app_secret] {
        assert!(!dump.contains(client_secret.as_str()), "a client secret");
    }
}
