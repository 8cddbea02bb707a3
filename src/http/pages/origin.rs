//! Refuses browser form posts that come from another site: login CSRF and its kin (RFC 6749
//! §10.12). A browser says where a request comes from with Fetch Metadata (`Sec-Fetch-Site`)
//! and with `Origin`; a post is refused when either names another site, a sibling subdomain
//! included. Requests with neither header (non-browser clients, old browsers) pass to the CSRF
//! token check, which every form has as well.

use rocket::http::Status;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest};
use rocket::Request;

use super::PageError;
use crate::http::AppState;

/// A request guard: the request was not sent by a page of another site.
pub struct SameOrigin;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SameOrigin {
    type Error = PageError;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, PageError> {
        let issuer = AppState::of(request).map(|app| app.config.issuer.as_str());
        let headers = request.headers();
        let fetch_site = headers.get_one("Sec-Fetch-Site");
        let origin = headers.get_one("Origin");
        let host = headers.get_one("Host");
        if is_same_origin(fetch_site, origin, host, issuer.unwrap_or_default()) {
            Outcome::Success(SameOrigin)
        } else {
            crate::limited!(
                info,
                fetch_site = fetch_site.unwrap_or("-"),
                "form post from another site refused"
            );
            Outcome::Error((Status::Forbidden, PageError::CrossSite))
        }
    }
}

/// `Sec-Fetch-Site` must be `same-origin` (or `none`: the user's own navigation); `Origin`, when
/// sent, must be the issuer's origin or name the host the request was sent to, or be `null`
/// with `Sec-Fetch-Site` vouching for it.
fn is_same_origin(
    fetch_site: Option<&str>,
    origin: Option<&str>,
    host: Option<&str>,
    issuer: &str,
) -> bool {
    if fetch_site.is_some_and(|site| !matches!(site, "same-origin" | "none")) {
        return false;
    }
    let Some(origin) = origin else {
        return true;
    };
    if origin == "null" {
        // Our pages send `Referrer-Policy: no-referrer`, under which browsers post their own
        // forms with `Origin: null`; so do sandboxed frames. Fetch Metadata tells them apart,
        // and without it an opaque origin is not trusted.
        return fetch_site.is_some();
    }
    let Ok(parsed) = url::Url::parse(origin) else {
        return false;
    };
    let issuer_origin = url::Url::parse(issuer).map(|url| url.origin().ascii_serialization());
    if issuer_origin.is_ok_and(|issuer| issuer == parsed.origin().ascii_serialization()) {
        return true;
    }
    let authority = match (parsed.host_str(), parsed.port()) {
        (Some(name), Some(port)) => format!("{name}:{port}"),
        (Some(name), None) => name.to_owned(),
        (None, _) => return false,
    };
    host.is_some_and(|host| host.eq_ignore_ascii_case(&authority))
}

#[cfg(test)]
mod tests {
    use super::is_same_origin;

    const ISSUER: &str = "https://auth.example.com";

    #[test]
    fn posts_from_this_site_pass() {
        for (site, origin, host) in [
            (None, None, None),
            (Some("same-origin"), Some("https://auth.example.com"), None),
            (Some("none"), None, Some("auth.example.com")),
            (
                None,
                Some("https://auth.example.com"),
                Some("internal:8000"),
            ),
            // Another name for the same server (http://localhost beside 127.0.0.1).
            (None, Some("http://localhost:8000"), Some("localhost:8000")),
        ] {
            assert!(
                is_same_origin(site, origin, host, ISSUER),
                "{site:?} {origin:?}"
            );
        }
    }

    #[test]
    fn posts_from_other_sites_are_refused() {
        for (site, origin, host) in [
            (Some("cross-site"), None, None),
            // A sibling subdomain is the same *site*, not the same origin.
            (Some("same-site"), Some("https://evil.example.com"), None),
            (
                None,
                Some("https://evil.example.com"),
                Some("auth.example.com"),
            ),
            (None, Some("null"), Some("auth.example.com")),
            (Some("cross-site"), Some("null"), Some("auth.example.com")),
            (
                None,
                Some("https://auth.example.com:8443"),
                Some("auth.example.com"),
            ),
        ] {
            assert!(
                !is_same_origin(site, origin, host, ISSUER),
                "{site:?} {origin:?}"
            );
        }
    }
}
