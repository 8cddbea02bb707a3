//! Checking a username and password, shared by the password grant and the browser login page.
//! An unknown user, a wrong password, a disabled account and a locked account name all come
//! back as the same `None`; the audit trail records which it was.
//!
//! Lockout counts failures per account *name*, existing or not, in MongoDB: after
//! `lockout.threshold` failures the name is locked with growing back-off, and while locked the
//! password is not even checked. Unknown names lock exactly like real ones, so a lockout
//! reveals nothing about which accounts exist.

use super::context::RequestMeta;
use crate::config::Config;
use crate::error::Result;
use crate::password::{PasswordHasher, MAX_PASSWORD_BYTES};
use crate::services::users::{find_user, parse_username};
use crate::store::{now, AuditEvent, AuditKind, Store, UserDoc};

/// Where a sign-in attempt came from, for the audit trail.
pub struct Attempt<'a> {
    pub client_id: Option<&'a str>,
    /// `password` (the grant) or `login_page`.
    pub channel: &'a str,
    pub meta: &'a RequestMeta,
}

/// The user, if the password is right, the account enabled and the name not locked.
pub async fn check_password(
    store: &Store,
    hasher: &PasswordHasher,
    config: &Config,
    username: &str,
    password: &str,
    attempt: Attempt<'_>,
) -> Result<Option<UserDoc>> {
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
    let throttle = store.login_failures(&name.key).await?;
    if let Some(until) = throttle.as_ref().and_then(|t| t.locked_until) {
        if until > now() {
            audit_failure(store, username, None, "locked", &attempt).await?;
            return Ok(None);
        }
        // The lock has run out: record its end once.
        if store.end_login_lock(&name.key).await? {
            let mut event = AuditEvent::new(AuditKind::AccountUnlocked);
            event.username = Some(name.display.clone());
            event.reason = Some("lock_expired".into());
            store.audit(event).await?;
        }
    }
    let user = find_user(store, username).await?;
    let matches = hasher
        .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
        .await?;
    let failure = match &user {
        None => "unknown_user",
        Some(_) if !matches => "bad_password",
        Some(u) if u.disabled => "disabled",
        Some(_) => {
            if throttle.is_some() {
                store.clear_login_failures(&name.key).await?;
            }
            return Ok(user);
        }
    };
    let user_id = user.map(|u| u.id.to_hex());
    audit_failure(store, username, user_id.clone(), failure, &attempt).await?;
    if let Some(until) = store
        .record_login_failure(&name.key, &config.lockout_policy())
        .await?
    {
        let mut event = AuditEvent::new(AuditKind::AccountLocked);
        event.username = Some(name.display);
        event.user_id = user_id;
        event.reason = until.try_to_rfc3339_string().ok();
        event.remote_addr = attempt.meta.remote_addr.clone();
        store.audit(event).await?;
    }
    Ok(None)
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
