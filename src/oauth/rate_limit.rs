//! Per-address request limits, per minute: on the endpoints that take passwords, issue tokens
//! or create accounts, and on failed client authentication (which would otherwise let anyone
//! fill the audit trail). Over the limit: 429 with `Retry-After`. Counted in memory and shared
//! with the other instances through MongoDB every `rate_limits.flush_ms`; the bound that
//! sharing puts on a limit is in the store's `request_counts`.

use crate::config::Config;
use crate::error::Result;
use crate::oauth::claims::unix_now;
use crate::oauth::context::RequestMeta;
use crate::oauth::error::OAuthError;
use crate::store::Store;

/// What is being limited.
#[derive(Debug, Clone, Copy)]
pub enum Bucket {
    Token,
    Login,
    Register,
    /// Revocation requests (each may write a revocation record).
    Revoke,
    /// Failed client authentications at the token, revocation and introspection endpoints.
    ClientAuthFailure,
}

impl Bucket {
    fn name(self) -> &'static str {
        match self {
            Bucket::Token => "token",
            Bucket::Login => "login",
            Bucket::Register => "register",
            Bucket::Revoke => "revoke",
            Bucket::ClientAuthFailure => "client_auth_failure",
        }
    }

    fn limit(self, config: &Config) -> u32 {
        let limits = &config.rate_limits;
        match self {
            Bucket::Token => limits.token_per_minute,
            Bucket::Login => limits.login_per_minute,
            Bucket::Register => limits.register_per_minute,
            Bucket::Revoke => limits.revoke_per_minute,
            Bucket::ClientAuthFailure => limits.client_auth_failures_per_minute,
        }
    }
}

/// A request counted past its bucket's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Seconds until the window ends.
    pub retry_after_secs: u64,
    /// Whether this is the first request over the limit in this window (so it can be recorded
    /// once rather than every time).
    pub first: bool,
}

/// Counts one request; `Ok(None)` when it may proceed.
pub async fn count(
    store: &Store,
    config: &Config,
    bucket: Bucket,
    meta: &RequestMeta,
) -> Result<Option<Throttled>> {
    let limit = bucket.limit(config);
    if limit == 0 {
        return Ok(None);
    }
    let now = unix_now();
    let window = now - now % 60;
    let address = meta.remote_addr.as_deref().unwrap_or("unknown");
    let address = limited_address(address, config.rate_limits.ipv6_prefix);
    let window_start = i64::try_from(window).unwrap_or(i64::MAX);
    let limit = i64::from(limit);
    let counted = store
        .count_request(bucket.name(), &address, window_start, limit)
        .await?;
    Ok((counted.total > limit).then(|| Throttled {
        retry_after_secs: (window + 60).saturating_sub(now).max(1),
        first: counted.first_over,
    }))
}

/// What one limit counts: an IPv4 address, or the IPv6 network of `ipv6_prefix` bits around an
/// IPv6 address (one subscriber usually holds a whole /64 and can rotate inside it at will).
pub fn limited_address(address: &str, ipv6_prefix: u8) -> String {
    match address.parse::<std::net::IpAddr>() {
        Ok(ip @ std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let network = crate::address::group(ip, ipv6_prefix);
            format!("{network}/{}", ipv6_prefix.min(128))
        }
        Ok(ip) => crate::address::group(ip, ipv6_prefix).to_string(),
        Err(_) => address.to_owned(),
    }
}

/// `Ok(None)` when the request may proceed, `Ok(Some(seconds))` to wait before retrying.
pub async fn over_limit(
    store: &Store,
    config: &Config,
    bucket: Bucket,
    meta: &RequestMeta,
) -> Result<Option<u64>> {
    Ok(count(store, config, bucket, meta)
        .await?
        .map(|throttled| throttled.retry_after_secs))
}

/// For the JSON endpoints: `Ok` within the limit, else the protocol's 429 answer (RFC 6585 §4)
/// saying when to come back.
pub async fn within_limit(
    store: &Store,
    config: &Config,
    bucket: Bucket,
    meta: &RequestMeta,
) -> std::result::Result<(), OAuthError> {
    match over_limit(store, config, bucket, meta).await? {
        Some(wait) => Err(OAuthError::too_many_requests(wait)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::limited_address;

    #[test]
    fn ipv6_addresses_count_by_their_network() {
        let a = limited_address("2001:db8:1:2:aaaa::1", 64);
        let b = limited_address("2001:db8:1:2:ffff:1:2:3", 64);
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, b);
        assert_ne!(a, limited_address("2001:db8:1:3::1", 64));
        assert_eq!(limited_address("2001:db8::1", 128), "2001:db8::1/128");
        assert_eq!(limited_address("::ffff:192.0.2.7", 64), "192.0.2.7");
        assert_eq!(limited_address("192.0.2.7", 64), "192.0.2.7");
        assert_eq!(limited_address("unknown", 64), "unknown");
    }
}
