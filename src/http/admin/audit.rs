//! `/admin/v1/audit`: the audit trail, newest first, filtered by user, client, event kind and
//! time range, in pages.

use rocket::serde::json::Json;
use rocket::serde::Serialize;
use rocket::{get, routes, Route, State};

use super::{next_after, page_size, AdminResult, Caller};
use crate::http::error::HttpError;
use crate::http::AppState;
use crate::ids::EventId;
use crate::services::views::AuditEventView;
use crate::store::{AuditKind, AuditQuery, Timestamp};

pub fn routes() -> Vec<Route> {
    routes![query]
}

/// A page of events and where the next one starts.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct EventPage {
    events: Vec<AuditEventView>,
    next: Option<String>,
}

fn time(name: &str, value: Option<&str>) -> AdminResult<Option<Timestamp>> {
    value
        .map(|text| {
            Timestamp::parse_rfc3339(text).ok_or_else(|| {
                HttpError::invalid_request(format!("{name} must be an RFC 3339 time"))
            })
        })
        .transpose()
}

/// `before` is the previous page's `next`: an event id.
#[allow(clippy::too_many_arguments)]
#[get("/admin/v1/audit?<user_id>&<client_id>&<kind>&<since>&<until>&<before>&<limit>")]
async fn query(
    caller: Caller,
    user_id: Option<&str>,
    client_id: Option<&str>,
    kind: Option<&str>,
    since: Option<&str>,
    until: Option<&str>,
    before: Option<&str>,
    limit: Option<&str>,
    app: &State<AppState>,
) -> AdminResult<Json<EventPage>> {
    caller?;
    let limit = page_size(limit)?;
    let kind = kind
        .map(|kind| {
            rocket::serde::json::from_value::<AuditKind>(kind.into())
                .map_err(|_| HttpError::invalid_request("kind is not an audit event kind"))
        })
        .transpose()?;
    let before = before
        .map(|id| {
            EventId::parse(id)
                .ok_or_else(|| HttpError::invalid_request("before must be an event id"))
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
    let events = app.store.query_audit(&query).await?;
    let next = next_after(&events, limit, |event| {
        event.id.map(|id| id.to_hex()).unwrap_or_default()
    });
    Ok(Json(EventPage {
        events: events.into_iter().map(AuditEventView).collect(),
        next,
    }))
}
