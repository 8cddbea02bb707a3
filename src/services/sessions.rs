//! Browser sessions: started for a completed sign-in, found again by the cookie's token, and
//! ended. Only the token's SHA-256 is stored, so a database copy holds no usable session; the
//! cookie that carries the token is the HTTP layer's.

use crate::config::Config;
use crate::error::Result;
use crate::ids::SessionId;
use crate::oauth::login::unchanged_since_check;
use crate::revocation::Revocations;
use crate::secrets::{random_token, sha256_b64, SecretString};
use crate::signin::Authenticated;
use crate::store::{in_secs, now, AuditEvent, AuditKind, FamilyOwner, SessionDoc, Store, UserDoc};

/// A live session and its user, enabled.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: UserDoc,
    pub session: SessionDoc,
}

/// Starts a session for a completed sign-in and returns the token for the browser's cookie;
/// `None` (and no session) when the account changed while its password was checked (see
/// `oauth::login::unchanged_since_check`). `carried` is the public id of the session it
/// replaces, when the same user signed in again in the same browser.
pub async fn start(
    store: &Store,
    config: &Config,
    signed_in: &Authenticated,
    carried: Option<SessionId>,
) -> Result<Option<SecretString>> {
    let token = random_token()?;
    let user = signed_in.user();
    let sid = match carried {
        Some(sid) => sid,
        None => SessionId::draw()?,
    };
    let record = signed_in.record(Some(sid));
    let doc = SessionDoc {
        hash: sha256_b64(&token),
        user_id: user.id,
        csrf: random_token()?,
        created_at: now(),
        expires_at: in_secs(config.session_ttl_secs),
        auth_time: Some(record.auth_time),
        amr: record.amr,
        sid: record.sid,
    };
    store.insert_session(&doc).await?;
    if !unchanged_since_check(store, user).await? {
        store.delete_session(&doc.hash).await?;
        return Ok(None);
    }
    Ok(Some(SecretString::new(token)))
}

/// The live session a cookie's token names, with its user; `None` when it has ended or
/// expired, or the account is disabled or gone.
pub async fn find(store: &Store, token: &str) -> Result<Option<SignedIn>> {
    let Some(session) = store.find_session(&sha256_b64(token)).await? else {
        return Ok(None);
    };
    let user = store.find_user_by_id(session.user_id).await?;
    Ok(user
        .filter(|user| !user.disabled)
        .map(|user| SignedIn { user, session }))
}

/// Ends the session a cookie's token names.
pub async fn end(store: &Store, token: &str) -> Result<()> {
    store.delete_session(&sha256_b64(token)).await
}

/// Revokes the refresh-token families begun by sign-ins in a browser session that is ending
/// (RP-initiated logout), so its sign-out reaches the apps it signed in, and records the
/// logout. Families from elsewhere (the password grant, other browsers) live on. Returns how
/// many families ended; the session itself ends with its cookie.
pub async fn revoke_session_families(
    store: &Store,
    revocations: &Revocations,
    signed_in: &SignedIn,
    client_id: Option<&str>,
) -> Result<usize> {
    let families = match &signed_in.session.sid {
        Some(sid) => revocations.families_of(FamilyOwner::Session(sid)).await?,
        None => 0,
    };
    let mut event = AuditEvent::new(AuditKind::SessionsEnded);
    event.user_id = Some(signed_in.user.id.to_hex());
    event.username = Some(signed_in.user.username.clone());
    event.client_id = client_id.map(str::to_owned);
    event.reason = Some(format!("rp_logout, {families} refresh-token families"));
    store.audit(event).await?;
    Ok(families)
}
