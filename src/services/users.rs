//! User accounts: creation with validated names and Argon2id passwords, role changes, and the
//! changes that must end the user's refresh tokens (new password, disabled account).

use super::profile::{change_profile, ProfileChange};
use super::Actor;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::password::{check_new_password, PasswordHasher};
use crate::revocation::{Cutoff, Revocations};
use crate::store::{
    now, AuditEvent, AuditKind, FamilyOwner, Store, Timestamp, UserChange, UserDoc, UserProfile,
};
pub use crate::username::{parse_username, Username};

fn check_role(config: &Config, role: &str) -> Result<()> {
    if config.roles.contains_key(role) {
        Ok(())
    } else {
        let known: Vec<&str> = config.roles.keys().map(String::as_str).collect();
        Err(Error::invalid(
            "role",
            format!(
                "{role:?} is not a configured role (configured: {})",
                known.join(", ")
            ),
        ))
    }
}

/// Creates an account without profile data. Fails with `Conflict` when the name (compared
/// case-insensitively) is taken.
pub async fn create_user(
    store: &Store,
    hasher: &PasswordHasher,
    config: &Config,
    actor: &Actor,
    username: &str,
    password: &str,
    role: &str,
) -> Result<UserDoc> {
    let account = NewAccount {
        username,
        password,
        role,
        profile: &ProfileChange::default(),
    };
    create_account(store, hasher, config, actor, &account).await
}

/// What a new account starts with.
#[derive(Debug, Clone, Copy)]
pub struct NewAccount<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub role: &'a str,
    pub profile: &'a ProfileChange,
}

/// Creates an account with its profile, in one write. Fails with `Conflict` when the name
/// (compared case-insensitively) or the email address is taken.
pub async fn create_account(
    store: &Store,
    hasher: &PasswordHasher,
    config: &Config,
    actor: &Actor,
    account: &NewAccount<'_>,
) -> Result<UserDoc> {
    let NewAccount {
        username,
        password,
        role,
        profile,
    } = *account;
    let name = parse_username(username)?;
    check_new_password(password)?;
    check_role(config, role)?;
    let profile = profile.applied_to(&UserProfile::default())?;
    let at = now();
    let user = UserDoc {
        version: 0,
        id: UserId::new(),
        username: name.display,
        username_key: name.key,
        username_skeleton: name.skeleton,
        password_hash: hasher.hash(password).await?,
        role: role.to_owned(),
        disabled: false,
        email_key: profile.email_key(),
        profile,
        created_at: at,
        updated_at: at,
    };
    store.insert_user(&user).await?;
    let mut event = AuditEvent::new(AuditKind::UserCreated);
    event.user_id = Some(user.id.to_hex());
    event.username = Some(user.username.clone());
    event.reason = Some(format!("role {role}"));
    store.audit(actor.stamp(event)).await?;
    Ok(user)
}

/// Finds a user by name as typed (normalised the same way as at creation).
pub async fn find_user(store: &Store, username: &str) -> Result<Option<UserDoc>> {
    match parse_username(username) {
        Ok(name) => store.find_user_by_key(&name.key).await,
        Err(_) => Ok(None),
    }
}

async fn update(
    store: &Store,
    actor: &Actor,
    username: &str,
    change: UserChange<'_>,
) -> Result<UserDoc> {
    let name =
        parse_username(username).map_err(|_| Error::NotFound(format!("user {username:?}")))?;
    let user = store.update_user(&name.key, change).await?;
    let mut event = AuditEvent::new(AuditKind::UserUpdated);
    event.user_id = Some(user.id.to_hex());
    event.username = Some(user.username.clone());
    // Names the fields changed (`password_hash` is a name, not a value).
    event.reason = Some(change.field().to_owned());
    store.audit(actor.stamp(event)).await?;
    Ok(user)
}

/// Sets a new password and ends every refresh token the user holds.
pub async fn set_password(
    store: &Store,
    hasher: &PasswordHasher,
    revocations: &Revocations,
    actor: &Actor,
    username: &str,
    password: &str,
) -> Result<UserDoc> {
    check_new_password(password)?;
    let hash = hasher.hash(password).await?;
    let user = update(store, actor, username, UserChange::PasswordHash(&hash)).await?;
    revoke_user_tokens(store, revocations, actor, &user, Cutoff::EarlierSeconds).await?;
    Ok(user)
}

/// The role the admin API and the last-administrator rule are about.
pub const ADMIN_ROLE: &str = "admin";

/// Runs a change that may take away an enabled administrator (`takes_admin` says, for the
/// account as it is when the change runs) only while another enabled administrator remains.
/// Every such change (delete, disable, demote) takes one lease in turn and decides under it,
/// so two administrators removing each other at the same moment cannot both succeed; changes
/// that add administrators need no lease.
async fn unless_last_admin<T>(
    store: &Store,
    username: &str,
    takes_admin: impl Fn(&UserDoc) -> bool,
    change: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let lock = store.take_admin_lock().await?;
    let outcome = async {
        let current = find_user(store, username).await?;
        if let Some(current) = current.filter(|u| takes_admin(u)) {
            if store
                .count_enabled_with_role_except(ADMIN_ROLE, current.id)
                .await?
                == 0
            {
                return Err(Error::Refused(
                    "no other enabled administrator would remain".into(),
                ));
            }
        }
        change.await
    }
    .await;
    // The change is made (or refused) either way; a lease not given back runs out by itself.
    if let Err(error) = store.release_admin_lock(lock).await {
        tracing::warn!(%error, "could not give back the administrator-change lease");
    }
    outcome
}

fn enabled_admin(user: &UserDoc) -> bool {
    user.role == ADMIN_ROLE && !user.disabled
}

/// Disables or re-enables an account; disabling ends every refresh token the user holds. The
/// last enabled administrator cannot be disabled.
pub async fn set_disabled(
    store: &Store,
    revocations: &Revocations,
    actor: &Actor,
    username: &str,
    disabled: bool,
) -> Result<UserDoc> {
    let change = update(store, actor, username, UserChange::Disabled(disabled));
    let user = if disabled {
        unless_last_admin(store, username, enabled_admin, change).await?
    } else {
        change.await?
    };
    if disabled {
        revoke_user_tokens(store, revocations, actor, &user, Cutoff::ThisSecond).await?;
    }
    Ok(user)
}

/// Lifts a lockout (and forgets the failures) of an account name.
pub async fn unlock(store: &Store, actor: &Actor, username: &str) -> Result<bool> {
    let name = parse_username(username)?;
    let had_lock = store.clear_login_failures(&name.key).await?;
    if had_lock {
        let mut event = AuditEvent::new(AuditKind::AccountUnlocked);
        event.username = Some(name.display);
        event.reason = Some("administrator".into());
        store.audit(actor.stamp(event)).await?;
    }
    Ok(had_lock)
}

/// Changes a user's role. The access tokens issued before carry the old role, so they are
/// refused from now on (a `user:` revocation, as for a new password); refresh-token families
/// live on, and the next refresh issues tokens with the new role and its scopes.
pub async fn set_role(
    store: &Store,
    config: &Config,
    revocations: &Revocations,
    actor: &Actor,
    username: &str,
    role: &str,
) -> Result<UserDoc> {
    check_role(config, role)?;
    let before = find_user(store, username).await?;
    let change = update(store, actor, username, UserChange::Role(role));
    let user = if role == ADMIN_ROLE {
        change.await?
    } else {
        unless_last_admin(store, username, enabled_admin, change).await?
    };
    if before.is_some_and(|before| before.role != user.role) {
        revocations.user(user.id, Cutoff::EarlierSeconds).await?;
    }
    Ok(user)
}

/// What an administrator asks to change about an account; each `None` is left as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub role: Option<String>,
    pub disabled: Option<bool>,
    pub profile: ProfileChange,
}

/// Changes the profile, the role and/or disables or enables the account, as
/// [`change_profile`], [`set_role`] and [`set_disabled`] do. An administrator cannot demote or disable their own account: a slip
/// would lock them out, and with them perhaps everyone.
pub async fn change_user(
    store: &Store,
    config: &Config,
    revocations: &Revocations,
    actor: &Actor,
    user: UserDoc,
    changes: &UserChanges,
) -> Result<UserDoc> {
    if changes.role.is_none() && changes.disabled.is_none() && changes.profile.is_empty() {
        return Err(Error::invalid(
            "changes",
            "are empty: give role, disabled or profile",
        ));
    }
    let demotes = changes
        .role
        .as_deref()
        .is_some_and(|role| role != user.role);
    if actor.is_account(&user) && (changes.disabled == Some(true) || demotes) {
        return Err(Error::Refused(
            "an administrator cannot demote or disable their own account".into(),
        ));
    }
    let mut user = user;
    // First, as the change most likely to be refused (a bad value, an address in use), so a
    // refusal leaves the rest undone.
    if !changes.profile.is_empty() {
        user = change_profile(store, actor, &user, &changes.profile).await?;
    }
    if let Some(role) = &changes.role {
        user = set_role(store, config, revocations, actor, &user.username, role).await?;
    }
    if let Some(disabled) = changes.disabled {
        user = set_disabled(store, revocations, actor, &user.username, disabled).await?;
    }
    Ok(user)
}

/// What ending a user's sessions ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    pub sessions: u64,
    pub families: usize,
}

/// Ends every browser session and revokes every refresh-token family of the user (and the
/// access tokens issued from those families).
pub async fn end_sessions(
    store: &Store,
    revocations: &Revocations,
    actor: &Actor,
    user: &UserDoc,
) -> Result<Ended> {
    let ended = end_sessions_and_families(store, revocations, user).await?;
    let mut event = AuditEvent::new(AuditKind::SessionsEnded);
    event.user_id = Some(user.id.to_hex());
    event.username = Some(user.username.clone());
    store.audit(actor.stamp(event)).await?;
    Ok(ended)
}

/// Deletes the account: its sessions end, its refresh tokens are revoked, and a `user:`
/// revocation refuses every access token it still holds, with or without a refresh family.
/// An administrator cannot delete their own account.
pub async fn delete_user(
    store: &Store,
    revocations: &Revocations,
    actor: &Actor,
    user: &UserDoc,
) -> Result<()> {
    if actor.is_account(user) {
        return Err(Error::Refused(
            "an administrator cannot delete their own account".into(),
        ));
    }
    let user_id = user.id.to_hex();
    unless_last_admin(store, &user.username, enabled_admin, async {
        end_sessions_and_families(store, revocations, user).await?;
        revocations.user(user.id, Cutoff::ThisSecond).await?;
        store.delete_user_data(user).await
    })
    .await?;
    let mut event = AuditEvent::new(AuditKind::UserDeleted);
    event.user_id = Some(user_id);
    event.username = Some(user.username.clone());
    store.audit(actor.stamp(event)).await
}

/// A page of users in username order, those whose name starts with `prefix` (compared as
/// the case-folded key, so `Al` finds `alice`), after the key `after`.
pub async fn search_users(
    store: &Store,
    prefix: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<UserDoc>> {
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        parse_username(prefix)
            .map_err(|_| Error::invalid("prefix", "is not part of a valid username"))?
            .key
    };
    store.users_by_key_prefix(&prefix, after, limit).await
}

/// When the account's sign-in lock ends, if it is locked now.
pub async fn locked_until(store: &Store, user: &UserDoc) -> Result<Option<Timestamp>> {
    Ok(store
        .login_failures(&user.username_key)
        .await?
        .and_then(|failures| failures.locked_until)
        .filter(|until| *until > now()))
}

/// Ends the user's browser sessions and revokes their refresh-token families (recorded, so
/// the access tokens issued from them are refused too until they expire).
async fn end_sessions_and_families(
    store: &Store,
    revocations: &Revocations,
    user: &UserDoc,
) -> Result<Ended> {
    let families = revocations.families_of(FamilyOwner::User(user.id)).await?;
    let sessions = store.delete_user_sessions(user.id).await?;
    Ok(Ended { sessions, families })
}

/// What an account change (new password, disabled account) must end: the sessions, the
/// refresh-token families, and through a user revocation with `cutoff` the access tokens
/// outside any family (clients without refresh tokens).
async fn revoke_user_tokens(
    store: &Store,
    revocations: &Revocations,
    actor: &Actor,
    user: &UserDoc,
    cutoff: Cutoff,
) -> Result<()> {
    let ended = end_sessions_and_families(store, revocations, user).await?;
    revocations.user(user.id, cutoff).await?;
    if ended.families > 0 || ended.sessions > 0 {
        let mut event = AuditEvent::new(AuditKind::RefreshTokensRevoked);
        event.user_id = Some(user.id.to_hex());
        event.reason = Some("account_changed".into());
        store.audit(actor.stamp(event)).await?;
    }
    Ok(())
}
