//! Every request's request id, access-log line and HTTP metrics, in one fairing.
//!
//! The request id is the caller's `X-Request-Id` when it is a plain token (1 to 64 of
//! `A-Z a-z 0-9 . _ -`), so a proxy's id follows the request through; otherwise one is made
//! here. Either way it is echoed in the response's `X-Request-Id` and logged with the request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Data, Request, Response};

pub const REQUEST_ID_HEADER: &str = "X-Request-Id";

/// The id and start of a request, kept in the request's local cache.
struct Observed {
    id: String,
    started: Instant,
}

/// The fairing; ids it makes are `<random per-process prefix>-<counter>`, unique across
/// instances without a random draw per request.
pub struct RequestObserver {
    prefix: String,
    counter: AtomicU64,
}

impl RequestObserver {
    pub fn new() -> Self {
        let prefix = crate::secrets::random_bytes::<6>()
            .map(|bytes| bytes.iter().map(|b| format!("{b:02x}")).collect())
            .unwrap_or_else(|_| format!("{:x}", std::process::id()));
        RequestObserver {
            prefix,
            counter: AtomicU64::new(0),
        }
    }

    fn next_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n:x}", self.prefix)
    }
}

impl Default for RequestObserver {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a caller's request id can be echoed and logged as it is.
fn is_plain_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[rocket::async_trait]
impl Fairing for RequestObserver {
    fn info(&self) -> Info {
        Info {
            name: "request id, access log and metrics",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, request: &mut Request<'_>, _: &mut Data<'_>) {
        let given = request
            .headers()
            .get_one(REQUEST_ID_HEADER)
            .filter(|id| is_plain_id(id))
            .map(str::to_owned);
        let id = given.unwrap_or_else(|| self.next_id());
        request.local_cache(|| Observed {
            id,
            started: Instant::now(),
        });
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let observed = request.local_cache(|| Observed {
            id: self.next_id(),
            started: Instant::now(),
        });
        let elapsed = observed.started.elapsed();
        let status = response.status().code;
        let route = request
            .route()
            .map_or("unmatched", |route| route.uri.path());
        crate::metrics::http_request(request.method().as_str(), route, status, elapsed);
        // The path only: a query can carry `state` and other values that are not ours to log.
        tracing::info!(
            target: "portcullis::http",
            request_id = %observed.id,
            method = %request.method(),
            path = %request.uri().path(),
            status,
            elapsed_us = elapsed.as_micros() as u64,
            "request"
        );
        response.set_header(Header::new(REQUEST_ID_HEADER, observed.id.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::is_plain_id;

    #[test]
    fn only_plain_request_ids_are_taken() {
        assert!(is_plain_id("abc-123_X.y"));
        for bad in ["", "a b", "a\nb", "ä", &"x".repeat(65)] {
            assert!(!is_plain_id(bad), "{bad:?}");
        }
    }
}
