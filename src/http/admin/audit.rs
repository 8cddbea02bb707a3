//! `/admin/v1/audit`: the audit trail, newest first, filtered by user, client, event kind and
//! time range, in pages.

use mongodb::bson::oid::ObjectId;
use mongodb::bson::DateTime;
use rocket::serde::json::{json, Json, Value};
use rocket::{get, routes, Route, State};

use super::{page_size, rfc3339, AdminCaller, AdminError, AdminResult};
use crate::guard::GuardError;
use crate::store::{AuditEvent, AuditKind, AuditQuery, Store};

pub fn routes() -> Vec<Route> {
    routes![query]
}

fn view(event: &AuditEvent) -> Value {
    let mut answer = rocket::serde::json::to_value(event).unwrap_or(Value::Null);
    answer["id"] = json!(event.id.map(|id| id.to_hex()));
    answer["at"] = json!(rfc3339(event.at));
    if let Some(object) = answer.as_object_mut() {
        object.remove("_id");
    }
    answer
}

fn time(name: &str, value: Option<&str>) -> AdminResult<Option<DateTime>> {
    value
        .map(|text| {
            DateTime::parse_rfc3339_str(text)
                .map_err(|_| AdminError::bad_request(&format!("{name} must be an RFC 3339 time")))
        })
        .transpose()
}

/// `before` is the previous page's `next`: an event id.
#[allow(clippy::too_many_arguments)]
#[get("/admin/v1/audit?<user_id>&<client_id>&<kind>&<since>&<until>&<before>&<limit>")]
async fn query(
    caller: Result<AdminCaller, GuardError>,
    user_id: Option<&str>,
    client_id: Option<&str>,
    kind: Option<&str>,
    since: Option<&str>,
    until: Option<&str>,
    before: Option<&str>,
    limit: Option<&str>,
    store: &State<Store>,
) -> AdminResult<Json<Value>> {
    caller?;
    let limit = page_size(limit)?;
    let kind = kind
        .map(|kind| {
            rocket::serde::json::from_value::<AuditKind>(json!(kind))
                .map_err(|_| AdminError::bad_request("kind is not an audit event kind"))
        })
        .transpose()?;
    let before = before
        .map(|id| {
            ObjectId::parse_str(id)
                .map_err(|_| AdminError::bad_request("before must be an event id"))
        })
        .transpose()?;
    let query = AuditQuery {
        user_id: user_id.map(str::to_owned),
        client_id: client_id.map(str::to_owned),
        kind,
        since: time("since", since)?,
        until: time("until", until)?,
        before,
        limit,
    };
    let events = store.query_audit(&query).await?;
    let next = (events.len() == usize::try_from(limit).unwrap_or(usize::MAX))
        .then(|| events.last().and_then(|e| e.id).map(|id| id.to_hex()))
        .flatten();
    let found: Vec<Value> = events.iter().map(view).collect();
    Ok(Json(json!({ "events": found, "next": next })))
}
