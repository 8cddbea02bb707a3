//! Per-address request limits on the endpoints that take passwords or create accounts, counted
//! per minute in MongoDB so every instance shares them. Over the limit: 429 with `Retry-After`.

use crate::config::Config;
use crate::error::Result;
use crate::oauth::context::RequestMeta;
use crate::oauth::tokens::unix_now;
use crate::store::Store;

/// What is being limited.
#[derive(Debug, Clone, Copy)]
pub enum Bucket {
    Token,
    Login,
    Register,
}

impl Bucket {
    fn name(self) -> &'static str {
        match self {
            Bucket::Token => "token",
            Bucket::Login => "login",
            Bucket::Register => "register",
        }
    }

    fn limit(self, config: &Config) -> u32 {
        match self {
            Bucket::Token => config.rate_limits.token_per_minute,
            Bucket::Login => config.rate_limits.login_per_minute,
            Bucket::Register => config.rate_limits.register_per_minute,
        }
    }
}

/// `Ok(None)` when the request may proceed, `Ok(Some(seconds))` to wait before retrying.
pub async fn over_limit(
    store: &Store,
    config: &Config,
    bucket: Bucket,
    meta: &RequestMeta,
) -> Result<Option<u64>> {
    let limit = bucket.limit(config);
    if limit == 0 {
        return Ok(None);
    }
    let now = unix_now();
    let window = now - now % 60;
    let address = meta.remote_addr.as_deref().unwrap_or("unknown");
    let count = store
        .count_request(
            bucket.name(),
            address,
            i64::try_from(window).unwrap_or(i64::MAX),
        )
        .await?;
    if count > i64::from(limit) {
        Ok(Some((window + 60).saturating_sub(now).max(1)))
    } else {
        Ok(None)
    }
}
