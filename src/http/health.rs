//! Liveness and readiness probes for load balancers and orchestrators.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::serde::Serialize;
use rocket::{get, routes, Route, State};

use std::time::Duration;

use super::state::AppState;

/// Missed polls after which the revocation set counts as stale.
const STALE_AFTER_POLLS: u64 = 5;

pub fn routes() -> Vec<Route> {
    routes![healthz, readyz]
}

/// A probe's answer.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct Health {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// Only readiness says it; `null` before the first revocation sync.
    #[serde(skip_serializing_if = "Option::is_none")]
    revocations_age_ms: Option<Option<u64>>,
    /// Only readiness says it: `change_stream` or `poll`, how other instances' revocations
    /// arrive (`null` before the first attempt).
    #[serde(skip_serializing_if = "Option::is_none")]
    revocations_sync: Option<Option<&'static str>>,
}

/// The process is up and answering.
#[get("/healthz")]
fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        reason: None,
        revocations_age_ms: None,
        revocations_sync: None,
    })
}

/// The database answers and every index is in place; while not, 503 with a reason. Index
/// creation is retried here, so an instance started while the database was down becomes ready
/// on its own once it returns.
///
/// The revocation set must also be current: older than `STALE_AFTER_POLLS` poll intervals
/// (at least five seconds) and the instance may be honouring revoked tokens, so it is not
/// ready; the age is reported either way.
#[get("/readyz")]
async fn readyz(app: &State<AppState>) -> (Status, Json<Health>) {
    let (store, config) = (&app.store, &app.config);
    let check = async {
        if !store.indexes_ready() {
            store.ensure_indexes().await?;
        }
        store.ping().await
    };
    let database = check.await;
    let age = app.revoked().staleness();
    let limit = Duration::from_millis(config.revocation_poll_ms.saturating_mul(STALE_AFTER_POLLS))
        .max(Duration::from_secs(5));
    let age_ms = age.map(|a| u64::try_from(a.as_millis()).unwrap_or(u64::MAX));
    let reason = match (&database, age) {
        (Err(error), _) => {
            crate::limited!(warn, %error, "readiness check failed");
            Some("database unreachable")
        }
        (Ok(()), Some(age)) if age <= limit => None,
        (Ok(()), _) => Some("revocation list is stale"),
    };
    let (status, word) = match reason {
        None => (Status::Ok, "ready"),
        Some(_) => (Status::ServiceUnavailable, "unavailable"),
    };
    let health = Health {
        status: word,
        reason,
        revocations_age_ms: Some(age_ms),
        revocations_sync: Some(app.revoked().following().map(|f| f.name())),
    };
    (status, Json(health))
}
