//! Prometheus metrics: the process-wide recorder, and one function per thing Portcullis counts,
//! so metric names and labels live in this file only. Served at `GET /metrics` (see
//! `http::metrics`); recording is a few atomic operations and never fails a request.
//!
//! Label values are always bounded sets (route templates, status codes, grant types, database
//! command names), never user input.

use std::sync::{OnceLock, RwLock};
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::events::AuditKind;

/// Latency buckets in seconds, from a cached token check to a slow database write.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0,
];

/// The process's recorder, installed on first use. Several servers in one process (tests)
/// share it, as they share the process.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        // Only an empty bucket list is refused, and this one is not empty.
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            // An embedding application installed its own recorder first: ours then records
            // nothing and `/metrics` shows an empty page rather than failing.
            tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
        }
        handle
    })
}

/// How often recorded histogram samples are folded into their buckets. The recorder keeps
/// raw samples until then, so without this its memory grows with traffic.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Folds histogram samples into buckets every few seconds until `shutdown` completes.
pub async fn keep_up(shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        handle().run_upkeep();
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(UPKEEP_INTERVAL) => {}
        }
    }
}

/// The two series of one route, method and status.
#[derive(Clone)]
struct HttpSeries {
    requests: metrics::Counter,
    duration: metrics::Histogram,
}

/// Route template → (method, status) → its series. Registering a series builds and hashes a
/// label set; a request then costs two map look-ups instead, under a read lock.
type HttpSeriesByRoute =
    foldhash::HashMap<String, foldhash::HashMap<(&'static str, u16), HttpSeries>>;

fn http_series(method: &'static str, route: &str, status: u16) -> HttpSeries {
    static SERIES: OnceLock<RwLock<HttpSeriesByRoute>> = OnceLock::new();
    let series = SERIES.get_or_init(RwLock::default);
    let known = series
        .read()
        .ok()
        .and_then(|routes| routes.get(route)?.get(&(method, status)).cloned());
    if let Some(known) = known {
        return known;
    }
    let made = HttpSeries {
        requests: counter!(
            "portcullis_http_requests_total",
            "method" => method,
            "route" => route.to_owned(),
            "status" => status.to_string()
        ),
        duration: histogram!(
            "portcullis_http_request_duration_seconds",
            "method" => method,
            "route" => route.to_owned()
        ),
    };
    if let Ok(mut routes) = series.write() {
        routes
            .entry(route.to_owned())
            .or_default()
            .insert((method, status), made.clone());
    }
    made
}

/// One HTTP request: `route` is the matched route's template (`/admin/v1/users/<id>`), or
/// `unmatched`. Routes are a fixed set, so the series map stays small.
pub fn http_request(method: &'static str, route: &str, status: u16, elapsed: Duration) {
    let series = http_series(method, route, status);
    series.requests.increment(1);
    series.duration.record(elapsed.as_secs_f64());
}

/// The security events worth a counter, from the audit trail every one of them goes through.
pub fn audit_event(kind: AuditKind, grant_type: Option<&str>) {
    match kind {
        AuditKind::TokenIssued => counter!(
            "portcullis_tokens_issued_total",
            "grant_type" => grant_type.unwrap_or("unknown").to_owned()
        )
        .increment(1),
        AuditKind::LoginFailed => counter!("portcullis_login_failures_total").increment(1),
        AuditKind::AccountLocked => counter!("portcullis_lockouts_total").increment(1),
        AuditKind::ClientAuthFailed => {
            counter!("portcullis_client_authentication_failures_total").increment(1)
        }
        AuditKind::RefreshTokenReuse => {
            counter!("portcullis_refresh_token_reuse_total").increment(1)
        }
        AuditKind::AuthorizationCodeReuse => {
            counter!("portcullis_authorization_code_reuse_total").increment(1)
        }
        _ => {}
    }
}

/// A revocation recorded: `kind` is `jti`, `family`, `user` or `client`.
pub fn revocation(kind: &str) {
    counter!("portcullis_revocations_total", "kind" => kind.to_owned()).increment(1);
}

/// The in-memory revocation set after a sync.
pub fn revocation_set(entries: usize) {
    gauge!("portcullis_revocation_set_entries").set(entries as f64);
}

/// Time since the revocation set last synchronised with the database.
pub fn revocation_sync_age(age: Option<Duration>) {
    let seconds = age.map_or(f64::INFINITY, |age| age.as_secs_f64());
    gauge!("portcullis_revocation_sync_age_seconds").set(seconds);
}

/// Client connections open now.
pub fn connections_open(open: usize) {
    gauge!("portcullis_connections_open").set(open as f64);
}

/// A connection refused or cut off by the listener: `reason` is `busy`, `too_slow`, `idle`,
/// `malformed` or `too_large`.
pub fn connection_refused(reason: &'static str) {
    counter!("portcullis_connections_refused_total", "reason" => reason).increment(1);
}

/// One database command (`find`, `insert`, `findAndModify`, ...) and whether it failed.
pub fn database_command(command: &str, elapsed: Duration, failed: bool) {
    histogram!(
        "portcullis_database_command_duration_seconds",
        "command" => command.to_owned()
    )
    .record(elapsed.as_secs_f64());
    if failed {
        counter!(
            "portcullis_database_command_errors_total",
            "command" => command.to_owned()
        )
        .increment(1);
    }
}
