//! Requirements of the compliance table in `docs/security.md` that no other module proves on
//! their own: where credentials may travel, how long a code lives, what the database keeps,
//! which signed tokens the guards still refuse, and the headers that keep pages unframed and
//! endpoints free of CORS.

mod bearer;
mod browser;
mod clients;
mod storage;

use crate::code_flow::{authorize, authorize_url, param, CALLBACK};
use crate::common::TestApp;

const NO_CREDENTIALS: &str = "Bearer realm=\"portcullis\"";

/// The app's database through the driver, bypassing the store.
async fn database(app: &TestApp) -> mongodb::Database {
    mongodb::Client::with_uri_str(app.config.mongodb_uri.expose())
        .await
        .unwrap()
        .database(app.store.database_name())
}

/// A fresh code through the browser flow, for whoever is signed in.
async fn fresh_code(app: &TestApp) -> String {
    let url = authorize_url("thirdparty", CALLBACK, "profile", "");
    let params = authorize(&app.client, &url, true).await;
    param(&params, "code").expect("code").to_owned()
}
