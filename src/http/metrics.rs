//! `GET /metrics`: Prometheus text format (version 0.0.4), for the addresses in
//! `metrics.allow` or a caller presenting `metrics.bearer_token`. Anyone else gets 403: the
//! counters describe traffic and failures an outsider has no business seeing.

use rocket::http::{ContentType, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest};
use rocket::{get, routes, Request, Route, State};

use super::error::HttpError;
use super::state::AppState;
use crate::config::Config;
use crate::oauth::error::OAuthError;
use crate::secrets::constant_time_eq;

pub fn routes() -> Vec<Route> {
    routes![metrics]
}

/// Who may read the metrics, parsed once at start-up.
pub struct MetricsAccess {
    networks: Vec<ipnet::IpNet>,
    token: Option<String>,
}

impl MetricsAccess {
    /// The configuration was validated when loaded; an entry that still fails to parse
    /// allows nobody.
    pub fn from_config(config: &Config) -> Self {
        MetricsAccess {
            networks: config.metrics.networks().unwrap_or_default(),
            token: config
                .metrics
                .bearer_token
                .as_ref()
                .map(|t| t.expose().to_owned()),
        }
    }
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
        let by_address = request
            .client_ip()
            .is_some_and(|ip| access.networks.iter().any(|net| net.contains(&ip)));
        let by_token = access.token.as_deref().is_some_and(|expected| {
            request
                .headers()
                .get_one("Authorization")
                .and_then(|value| value.strip_prefix("Bearer "))
                .is_some_and(|given| constant_time_eq(given, expected))
        });
        if by_address || by_token {
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
