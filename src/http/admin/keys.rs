//! `/admin/v1/keys`: the signing keys of this instance's keys folder — the `keys` commands
//! over HTTP. The folder is read by every instance that shares it; with separate folders per
//! instance, use the command line on each (see docs/operations.md, key rotation).

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::serde::Serialize;
use rocket::{get, post, routes, Route, State};

use super::{AdminCaller, AdminResult, Caller};
use crate::error::Error;
use crate::http::AppState;
use crate::keys::{self, KeyRing};
use crate::store::{AuditEvent, AuditKind};

pub fn routes() -> Vec<Route> {
    routes![list, generate, rotate]
}

/// One loaded key.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct KeyView {
    kid: String,
    bits: usize,
    active: bool,
}

/// The loaded keys, which one signs, and after a generation the new key's id.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct KeysView {
    active: String,
    keys: Vec<KeyView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
}

fn view(ring: &KeyRing, generated: Option<String>) -> KeysView {
    let set = ring.snapshot();
    let active = set.active().kid().to_owned();
    let keys = set
        .keys()
        .iter()
        .map(|key| KeyView {
            kid: key.kid().to_owned(),
            bits: key.bits(),
            active: key.kid() == active,
        })
        .collect();
    KeysView {
        active,
        keys,
        kid: generated,
    }
}

/// The loaded keys and which one signs.
#[get("/admin/v1/keys")]
fn list(caller: Caller, app: &State<AppState>) -> AdminResult<Json<KeysView>> {
    caller?;
    Ok(Json(view(&app.keys, None)))
}

/// Runs key generation (an `openssl` process) off the async workers, then reloads the ring
/// at once instead of at the next folder check.
async fn make_key(
    caller: AdminCaller,
    app: &AppState,
    activate: bool,
) -> AdminResult<Json<KeysView>> {
    let ring = &app.keys;
    let dir = app.config.keys_dir.clone();
    let generated = rocket::tokio::task::spawn_blocking(move || keys::generate_key(&dir, activate))
        .await
        .map_err(|_| Error::Internal("key generation stopped".into()))??;
    ring.reload_if_changed()?;
    let kind = if generated.active {
        AuditKind::KeyActivated
    } else {
        AuditKind::KeyGenerated
    };
    let mut event = AuditEvent::new(kind);
    event.reason = Some(format!("kid {}", generated.kid));
    app.store.audit(caller.actor.stamp(event)).await?;
    Ok(Json(view(ring, Some(generated.kid))))
}

/// A new key that verifies but does not sign yet: publish it in the JWKS ahead of a rotation.
#[post("/admin/v1/keys")]
async fn generate(caller: Caller, app: &State<AppState>) -> AdminResult<(Status, Json<KeysView>)> {
    let answer = make_key(caller?, app, false).await?;
    Ok((Status::Created, answer))
}

/// A new key that signs from now on; the earlier keys keep verifying until their files go.
#[post("/admin/v1/keys/rotate")]
async fn rotate(caller: Caller, app: &State<AppState>) -> AdminResult<Json<KeysView>> {
    make_key(caller?, app, true).await
}
