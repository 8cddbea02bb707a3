//! `GET /metrics`: Prometheus text format (version 0.0.4), for the addresses in
//! `metrics.allow` or a caller presenting `metrics.bearer_token`. Anyone else gets 403: the
//! counters describe traffic and failures an outsider has no business seeing.

use rocket::http::{ContentType, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest};
use rocket::{get, routes, Request, Route, State};

use super::error::HttpError;
use super::state::AppState;
use crate::oauth::error::OAuthError;

pub fn routes() -> Vec<Route> {
    routes![metrics]
}

/// A caller allowed to read the metrics.
struct MetricsReader;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MetricsReader {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let Some(access) = AppState::of(request).map(|app| &app.metrics_access) else {
            return Outcome::Error((Status::Forbidden, ()));
        };
        let bearer = request
            .headers()
            .get_one("Authorization")
            .and_then(|value| value.strip_prefix("Bearer "));
        if access.allows(request.client_ip(), bearer) {
            Outcome::Success(MetricsReader)
        } else {
            Outcome::Error((Status::Forbidden, ()))
        }
    }
}

#[get("/metrics")]
fn metrics(
    reader: Result<MetricsReader, ()>,
    app: &State<AppState>,
) -> Result<(ContentType, String), HttpError> {
    if reader.is_err() {
        return Err(OAuthError::access_denied(
            "metrics are readable from allowed addresses or with the metrics token",
        )
        .into());
    }
    crate::metrics::revocation_sync_age(app.revoked().staleness());
    let text =
        ContentType::new("text", "plain").with_params([("version", "0.0.4"), ("charset", "utf-8")]);
    Ok((text, crate::metrics::handle().render()))
}
