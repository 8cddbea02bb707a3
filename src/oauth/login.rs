//! Checking a username and password, shared by the password grant and the browser login page.
//! An unknown user, a wrong password, a disabled account and a locked account name all come
//! back as the same `None`; the audit trail records which it was.
//!
//! Lockout counts attempts per account *name*, existing or not, in MongoDB, each one before its
//! password is hashed: at most `lockout.threshold` passwords per window are ever checked, however
//! many arrive at once, and the attempt that uses up the window locks the name with growing
//! back-off if it fails. While locked the password is not even checked. Unknown names lock
//! exactly like real ones, so a lockout reveals nothing about which accounts exist.

use super::context::{OAuthContext, RequestMeta};
use super::rate_limit::{over_limit, Bucket};
use crate::error::Result;
use crate::password::MAX_PASSWORD_BYTES;
use crate::store::{AuditEvent, AuditKind, LockoutPolicy, LoginAttempt, Store, UserDoc};
use crate::username::{parse_username, Username};

/// Where a sign-in attempt came from, for the audit trail.
pub struct Attempt<'a> {
    pub client_id: Option<&'a str>,
    /// `password` (the grant) or `login_page`.
    pub channel: &'a str,
    pub meta: &'a RequestMeta,
}

/// What checking a password came to.
#[derive(Debug)]
pub enum PasswordCheck {
    /// The password is right, the account enabled and the name not locked.
    Valid(Box<UserDoc>),
    /// Anything else, one answer for all of it.
    Invalid,
    /// Too many sign-in attempts from the address: nothing was checked.
    Throttled { retry_after_secs: u64 },
}

/// Checks a username and password, wherever they were presented.
pub async fn check_password(
    ctx: &OAuthContext<'_>,
    username: &str,
    password: &str,
    attempt: Attempt<'_>,
) -> Result<PasswordCheck> {
    let (store, config) = (ctx.store, ctx.config);
    // Every password check counts against the address's sign-in rate, whatever the endpoint,
    // so Argon2 work per address is bounded by `rate_limits.login_per_minute`.
    if let Some(wait) = over_limit(store, config, Bucket::Login, attempt.meta).await? {
        return Ok(PasswordCheck::Throttled {
            retry_after_secs: wait,
        });
    }
    Ok(match check(ctx, username, password, attempt).await? {
        Some(user) => PasswordCheck::Valid(Box::new(user)),
        None => PasswordCheck::Invalid,
    })
}

/// Whether the account is still as it was when its password was checked. A password change,
/// a new role or disabling the account while the slow hash ran would otherwise leave what this
/// sign-in creates outside the revocation that change made: so the caller creates its session
/// or refresh family first and asks here after. A change either shows here, and the caller
/// undoes what it made, or comes later and its revocation reaches it.
pub async fn unchanged_since_check(store: &Store, user: &UserDoc) -> Result<bool> {
    Ok(store
        .find_user_by_id(user.id)
        .await?
        .is_some_and(|now| now.updated_at == user.updated_at && !now.disabled))
}

async fn check(
    ctx: &OAuthContext<'_>,
    username: &str,
    password: &str,
    attempt: Attempt<'_>,
) -> Result<Option<UserDoc>> {
    let (store, hasher) = (ctx.store, ctx.hasher);
    // Before anything is hashed, the dummy hash included: Argon2 never sees more than
    // `MAX_PASSWORD_BYTES`, whatever the form carried. No account has so long a password.
    if password.len() > MAX_PASSWORD_BYTES {
        audit_failure(store, username, None, "password_too_long", &attempt).await?;
        return Ok(None);
    }
    // A name that breaks the username rules can have no account and needs no counter.
    let Ok(name) = parse_username(username) else {
        hasher.verify(password, None).await?;
        audit_failure(store, username, None, "unknown_user", &attempt).await?;
        return Ok(None);
    };
    // Count first, then hash: the count decides, atomically, whether this attempt is one of
    // the window's `threshold` that may be checked at all.
    let policy = LockoutPolicy::from(&ctx.config.lockout);
    let (decision, lock_expired) = store.take_login_attempt(&name.key, &policy).await?;
    if lock_expired && store.end_login_lock(&name.key).await? {
        // The lock has run out: record its end once.
        let mut event = AuditEvent::new(AuditKind::AccountUnlocked);
        event.username = Some(name.display.clone());
        event.reason = Some("lock_expired".into());
        store.audit(event).await?;
    }
    let (nth, locks) = match decision {
        LoginAttempt::Verify { nth, locks } => (nth, locks),
        LoginAttempt::Refused => {
            audit_failure(store, username, None, "locked", &attempt).await?;
            return Ok(None);
        }
        LoginAttempt::OverCount { locks } => {
            audit_failure(store, username, None, "locked", &attempt).await?;
            lock(store, &name, None, locks, &policy, &attempt).await?;
            return Ok(None);
        }
    };
    let user = store.find_user_by_key(&name.key).await?;
    let matches = hasher
        .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
        .await?;
    let failure = match &user {
        None => "unknown_user",
        Some(_) if !matches => "bad_password",
        Some(u) if u.disabled => "disabled",
        Some(_) => {
            store.clear_login_failures(&name.key).await?;
            return Ok(user);
        }
    };
    let user_id = user.map(|u| u.id.to_hex());
    audit_failure(store, username, user_id.clone(), failure, &attempt).await?;
    // The attempt that used up the window locks the name.
    if nth == policy.threshold {
        lock(store, &name, user_id, locks, &policy, &attempt).await?;
    }
    Ok(None)
}

/// Locks the name unless another attempt just did, and records it.
async fn lock(
    store: &Store,
    name: &Username,
    user_id: Option<String>,
    locks: i64,
    policy: &LockoutPolicy,
    attempt: &Attempt<'_>,
) -> Result<()> {
    let Some(until) = store.lock_login(&name.key, locks, policy).await? else {
        return Ok(());
    };
    let mut event = AuditEvent::new(AuditKind::AccountLocked);
    event.username = Some(name.display.clone());
    event.user_id = user_id;
    event.reason = Some(until.to_rfc3339());
    event.remote_addr = attempt.meta.remote_addr.clone();
    store.audit(event).await
}

async fn audit_failure(
    store: &Store,
    username: &str,
    user_id: Option<String>,
    reason: &str,
    attempt: &Attempt<'_>,
) -> Result<()> {
    let mut event = AuditEvent::new(AuditKind::LoginFailed);
    event.username = Some(username.chars().take(64).collect());
    event.user_id = user_id;
    event.client_id = attempt.client_id.map(str::to_owned);
    event.grant_type = Some(attempt.channel.to_owned());
    event.reason = Some(reason.to_owned());
    event.remote_addr = attempt.meta.remote_addr.clone();
    store.audit(event).await
}
