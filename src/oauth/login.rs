//! Checking a username and password, shared by the password grant and the browser login page.
//! An unknown user, a wrong password and a disabled account cost the same Argon2 work and
//! come back as the same `None`; the audit trail records which it was.

use super::context::RequestMeta;
use crate::error::Result;
use crate::password::{PasswordHasher, MAX_PASSWORD_BYTES};
use crate::services::users::find_user;
use crate::store::{AuditEvent, AuditKind, Store, UserDoc};

/// Where a sign-in attempt came from, for the audit trail.
pub struct Attempt<'a> {
    pub client_id: Option<&'a str>,
    /// `password` (the grant) or `login_page`.
    pub channel: &'a str,
    pub meta: &'a RequestMeta,
}

/// The user, if the password is right and the account enabled.
pub async fn check_password(
    store: &Store,
    hasher: &PasswordHasher,
    username: &str,
    password: &str,
    attempt: Attempt<'_>,
) -> Result<Option<UserDoc>> {
    if password.len() > MAX_PASSWORD_BYTES || username.len() > 256 {
        return Ok(None);
    }
    let user = find_user(store, username).await?;
    let matches = hasher
        .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
        .await?;
    let failure = match &user {
        None => "unknown_user",
        Some(_) if !matches => "bad_password",
        Some(u) if u.disabled => "disabled",
        Some(_) => return Ok(user),
    };
    let mut event = AuditEvent::new(AuditKind::LoginFailed);
    event.username = Some(username.chars().take(64).collect());
    event.user_id = user.map(|u| u.id.to_hex());
    event.client_id = attempt.client_id.map(str::to_owned);
    event.grant_type = Some(attempt.channel.to_owned());
    event.reason = Some(failure.to_owned());
    event.remote_addr = attempt.meta.remote_addr.clone();
    store.audit(event).await?;
    Ok(None)
}
