//! The revocation set of a starting instance: read whole over several round trips, so a token
//! revoked anywhere in it is refused, and until it has been read whole no token is accepted
//! (503, never 200).

use portcullis::build_rocket;
use portcullis::ids::Jti;
use rocket::http::{Method, Status};
use rocket::local::asynchronous::Client;

use crate::common::{app, bearer, seed, user_tokens};

/// The `jti` claim of an access token.
fn jti_of(token: &str) -> String {
    crate::common::claims_of(token)["jti"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[rocket::async_test]
async fn a_set_of_several_batches_loads_whole() {
    use mongodb::bson::{doc, DateTime};

    let app = app().await;
    let seed = seed(&app).await;
    let (revoked, _) = user_tokens(&app, &seed, "alice", None).await;
    let (live, _) = user_tokens(&app, &seed, "alice", None).await;

    // 2,500 revocations recorded by other instances, then this token's: more than two
    // round trips' worth (1,000 each), the token's record among the last.
    let now = DateTime::now().timestamp_millis();
    let expires = DateTime::from_millis(now + 3_600_000);
    let record = |id: String| {
        doc! { "_id": format!("jti:{id}"), "revoked_at": DateTime::from_millis(now), "expires_at": expires }
    };
    let mut records: Vec<_> = (0..2_500)
        .map(|_| record(Jti::draw().unwrap().as_str().to_owned()))
        .collect();
    records.push(record(jti_of(&revoked)));
    let client = mongodb::Client::with_uri_str(crate::common::mongodb_uri())
        .await
        .unwrap();
    let collection = client
        .database(&app.config.database)
        .collection::<mongodb::bson::Document>("revocations");
    collection.insert_many(records).await.unwrap();

    // Another instance starts on the same database and reads the set before it serves.
    let other = Client::tracked(build_rocket(
        app.config.clone(),
        app.store.clone(),
        app.keys.clone(),
    ))
    .await
    .unwrap();
    assert_eq!(other.get("/readyz").dispatch().await.status(), Status::Ok);
    let refused = bearer(&other, Method::Get, "/api/me", Some(&revoked), None).await;
    assert_eq!(refused.status, Status::Unauthorized, "{}", refused.body);
    assert_eq!(
        refused.body["error_description"],
        "the access token has been revoked"
    );
    let accepted = bearer(&other, Method::Get, "/api/me", Some(&live), None).await;
    assert_eq!(accepted.status, Status::Ok, "{}", accepted.body);
}

#[rocket::async_test]
async fn until_the_set_is_read_no_token_is_accepted() {
    let app = app().await;
    let seed = seed(&app).await;
    let (token, _) = user_tokens(&app, &seed, "alice", None).await;

    // The same issuer and keys, on a database that cannot be reached: nothing is known of
    // what was revoked.
    let mut config = app.config.clone();
    config.mongodb_uri = portcullis::config::Secret::new(format!(
        "mongodb://127.0.0.1:{}",
        crate::common::free_closed_port()
    ));
    config.database_timeout_ms = 300;
    let store = portcullis::Store::from_config(&config).await.unwrap();
    let blind = Client::tracked(build_rocket(config, store, app.keys.clone()))
        .await
        .unwrap();
    let answer = bearer(&blind, Method::Get, "/api/me", Some(&token), None).await;
    assert_eq!(answer.status, Status::ServiceUnavailable, "{}", answer.body);
    // The instance that read its set accepts the same token.
    let answer = bearer(&app.client, Method::Get, "/api/me", Some(&token), None).await;
    assert_eq!(answer.status, Status::Ok);
}
