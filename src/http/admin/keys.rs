//! `/admin/v1/keys`: the signing keys of this instance's keys folder — the `keys` commands
//! over HTTP. The folder is read by every instance that shares it; with separate folders per
//! instance, use the command line on each (see docs/operations.md, key rotation).

use rocket::http::Status;
use rocket::serde::json::{json, Json, Value};
use rocket::{get, post, routes, Route, State};

use super::{AdminCaller, AdminError, AdminResult};
use crate::config::Config;
use crate::guard::GuardError;
use crate::keys::{self, KeyRing};
use crate::store::{AuditEvent, AuditKind, Store};

pub fn routes() -> Vec<Route> {
    routes![list, generate, rotate]
}

type Caller<'r> = Result<AdminCaller, GuardError>;

fn view(ring: &KeyRing) -> Value {
    let set = ring.snapshot();
    let active = set.active().kid().to_owned();
    let keys: Vec<Value> = set
        .keys()
        .iter()
        .map(|key| json!({ "kid": key.kid(), "bits": key.bits(), "active": key.kid() == active }))
        .collect();
    json!({ "active": active, "keys": keys })
}

/// The loaded keys and which one signs.
#[get("/admin/v1/keys")]
fn list(caller: Caller<'_>, ring: &State<KeyRing>) -> AdminResult<Json<Value>> {
    caller?;
    Ok(Json(view(ring)))
}

/// Runs key generation (an `openssl` process) off the async workers, then reloads the ring
/// at once instead of at the next folder check.
async fn make_key(
    caller: AdminCaller,
    config: &Config,
    store: &Store,
    ring: &KeyRing,
    activate: bool,
) -> AdminResult<Json<Value>> {
    let dir = config.keys_dir.clone();
    let generated = rocket::tokio::task::spawn_blocking(move || keys::generate_key(&dir, activate))
        .await
        .map_err(|_| AdminError::from(crate::error::Error::Internal("key generation".into())))??;
    ring.reload_if_changed()?;
    let kind = if generated.active {
        AuditKind::KeyActivated
    } else {
        AuditKind::KeyGenerated
    };
    let mut event = AuditEvent::new(kind);
    event.reason = Some(format!("kid {}", generated.kid));
    store.audit(caller.actor.stamp(event)).await?;
    let mut answer = view(ring);
    answer["kid"] = json!(generated.kid);
    Ok(Json(answer))
}

/// A new key that verifies but does not sign yet: publish it in the JWKS ahead of a rotation.
#[post("/admin/v1/keys")]
async fn generate(
    caller: Caller<'_>,
    config: &State<Config>,
    store: &State<Store>,
    ring: &State<KeyRing>,
) -> AdminResult<(Status, Json<Value>)> {
    let answer = make_key(caller?, config, store, ring, false).await?;
    Ok((Status::Created, answer))
}

/// A new key that signs from now on; the earlier keys keep verifying until their files go.
#[post("/admin/v1/keys/rotate")]
async fn rotate(
    caller: Caller<'_>,
    config: &State<Config>,
    store: &State<Store>,
    ring: &State<KeyRing>,
) -> AdminResult<Json<Value>> {
    make_key(caller?, config, store, ring, true).await
}
