//! Liveness and readiness probes for load balancers and orchestrators.

use rocket::http::Status;
use rocket::serde::json::{json, Json, Value};
use rocket::{get, routes, Route, State};

use crate::store::Store;

pub fn routes() -> Vec<Route> {
    routes![healthz, readyz]
}

/// The process is up and answering.
#[get("/healthz")]
fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers and every index is in place; while not, 503 with a reason. Index
/// creation is retried here, so an instance started while the database was down becomes ready
/// on its own once it returns.
#[get("/readyz")]
async fn readyz(store: &State<Store>) -> (Status, Json<Value>) {
    let check = async {
        if !store.indexes_ready() {
            store.ensure_indexes().await?;
        }
        store.ping().await
    };
    match check.await {
        Ok(()) => (Status::Ok, Json(json!({ "status": "ready" }))),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (
                Status::ServiceUnavailable,
                Json(json!({ "status": "unavailable", "reason": "database unreachable" })),
            )
        }
    }
}
