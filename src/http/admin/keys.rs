//! `/admin/v1/keys`: the signing keys, the `keys` commands over HTTP. With `keys.store =
//! "database"` a change reaches every instance within `keys.reload_ms`; with a keys folder it
//! acts on this instance's folder only (see docs/operations.md, key rotation).

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::serde::Serialize;
use rocket::{delete, get, post, routes, Route, State};

use super::{AdminResult, Caller};
use crate::config::KeyStoreKind;
use crate::http::AppState;
use crate::keys::{KeyRing, KeyState};
use crate::services::keys::{self as key_changes, Activation};
use crate::store::Timestamp;

pub fn routes() -> Vec<Route> {
    routes![list, generate, rotate, activate, remove]
}

/// One loaded key.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct KeyView {
    kid: String,
    bits: usize,
    /// Whether it signs now.
    active: bool,
    /// `active`, `pending` (published, signs from `signs_from`), `standby` (verifies, not
    /// scheduled) or `retired` (verifies until `withdraw_at`).
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    signs_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    withdraw_at: Option<String>,
}

/// The loaded keys, which one signs, and after a change the key it was about.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct KeysView {
    /// `folder` or `database`.
    store: &'static str,
    active: String,
    keys: Vec<KeyView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
}

fn view(app: &AppState, changed: Option<String>) -> KeysView {
    let set = app.keys.snapshot();
    let active = set.active().kid().to_owned();
    let rfc3339 = |millis: i64| Some(Timestamp::from_unix_millis(millis).to_rfc3339());
    let keys = set
        .states()
        .into_iter()
        .map(|(key, state)| {
            let (signs_from, withdraw_at) = match state {
                KeyState::Standby => (None, None),
                KeyState::Pending { signs_from } => (rfc3339(signs_from), None),
                KeyState::Active { since } => (rfc3339(since).filter(|_| since > 0), None),
                KeyState::Retired { withdraw_at, .. } => (None, rfc3339(withdraw_at)),
            };
            KeyView {
                kid: key.kid().to_owned(),
                bits: key.bits(),
                active: key.kid() == active,
                state: state.name(),
                signs_from,
                withdraw_at,
            }
        })
        .collect();
    KeysView {
        store: match app.config.keys.store {
            KeyStoreKind::Folder => "folder",
            KeyStoreKind::Database => "database",
        },
        active,
        keys,
        kid: changed,
    }
}

/// `now=true`: at once; otherwise once every instance can have loaded the key.
fn activation(now: Option<bool>) -> Activation {
    match now {
        Some(true) => Activation::Now,
        _ => Activation::Soon,
    }
}

/// Shows a change at once on this instance, rather than at its next reload.
async fn reloaded(ring: &KeyRing) -> AdminResult<()> {
    ring.refresh().await?;
    Ok(())
}

/// The loaded keys and which one signs.
#[get("/admin/v1/keys")]
fn list(caller: Caller, app: &State<AppState>) -> AdminResult<Json<KeysView>> {
    caller?;
    Ok(Json(view(app, None)))
}

/// A new key that verifies but does not sign yet: publish it in the JWKS ahead of a rotation.
#[post("/admin/v1/keys")]
async fn generate(caller: Caller, app: &State<AppState>) -> AdminResult<(Status, Json<KeysView>)> {
    let caller = caller?;
    let place = app.keys.place();
    let key =
        key_changes::generate(place, Activation::Standby, Some(&app.store), &caller.actor).await?;
    reloaded(&app.keys).await?;
    Ok((Status::Created, Json(view(app, Some(key.kid)))))
}

/// A new key that signs from now on (from a shared database, once every instance can have
/// loaded it); the earlier keys keep verifying.
#[post("/admin/v1/keys/rotate?<now>")]
async fn rotate(
    caller: Caller,
    app: &State<AppState>,
    now: Option<bool>,
) -> AdminResult<Json<KeysView>> {
    let caller = caller?;
    let place = app.keys.place();
    let key =
        key_changes::generate(place, activation(now), Some(&app.store), &caller.actor).await?;
    reloaded(&app.keys).await?;
    Ok(Json(view(app, Some(key.kid))))
}

/// Makes a key already loaded the signing key.
#[post("/admin/v1/keys/<kid>/activate?<now>")]
async fn activate(
    caller: Caller,
    app: &State<AppState>,
    kid: &str,
    now: Option<bool>,
) -> AdminResult<Json<KeysView>> {
    let caller = caller?;
    let place = app.keys.place();
    key_changes::activate(place, kid, activation(now), Some(&app.store), &caller.actor).await?;
    reloaded(&app.keys).await?;
    Ok(Json(view(app, Some(kid.to_owned()))))
}

/// Deletes a key that does not sign: the tokens it signed stop verifying.
#[delete("/admin/v1/keys/<kid>")]
async fn remove(caller: Caller, app: &State<AppState>, kid: &str) -> AdminResult<Status> {
    let caller = caller?;
    let place = app.keys.place();
    key_changes::remove(place, kid, Some(&app.store), &caller.actor).await?;
    reloaded(&app.keys).await?;
    Ok(Status::NoContent)
}
