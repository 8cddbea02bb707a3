//! The one writer of revocations. Every caller (the grants, RFC 7009 revocation, logout, the
//! admin API, the command line) revokes through [`Revocations`], which decides how long each
//! record must last and what its cutoff is, stores it, and puts it in this instance's set
//! before returning, so the request that revoked answers only once its own instance refuses
//! the tokens.

use super::RevocationSet;
use crate::config::Config;
use crate::error::Result;
use crate::ids::{ClientId, FamilyId, Jti, UserId};
use crate::store::{in_secs, now, FamilyOwner, Revocation, RevocationKey, Store, Timestamp};

/// Which of a user's or client's access tokens a revocation refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cutoff {
    /// Every token issued up to and including this second: the account or client is gone or
    /// disabled, so nothing newer can exist.
    ThisSecond,
    /// Every token issued in an earlier second (the password or role changed): the user
    /// signing in again within this second keeps the new token; a token minted in the same
    /// second just before the change survives, a window under one second.
    EarlierSeconds,
}

/// Revokes, for one store and one instance's set. Cheap to clone.
#[derive(Clone)]
pub struct Revocations {
    store: Store,
    set: RevocationSet,
    access_token_ttl_secs: u64,
    leeway_secs: u64,
}

impl Revocations {
    pub fn new(store: Store, set: RevocationSet, config: &Config) -> Self {
        Revocations {
            store,
            set,
            access_token_ttl_secs: config.access_token_ttl_secs,
            leeway_secs: config.token_leeway_secs,
        }
    }

    /// The set this instance checks tokens against.
    pub fn set(&self) -> &RevocationSet {
        &self.set
    }

    /// How long an access token issued now can stay valid, so how long a record must last.
    /// Verification accepts a token through the whole second of `exp` plus the leeway, hence
    /// the extra second.
    fn horizon(&self) -> Timestamp {
        in_secs(self.access_token_ttl_secs + self.leeway_secs + 1)
    }

    /// One access token, for as long as it can verify: through the whole second of its
    /// `expires_at` and the leeway after it.
    pub async fn access_token(&self, jti: &Jti, expires_at: Timestamp) -> Result<()> {
        let margin_secs = self.leeway_secs.saturating_add(1);
        let margin_ms = i64::try_from(margin_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let until = expires_at.plus_millis(margin_ms);
        self.record(RevocationKey::AccessToken(jti.clone()), until, None)
            .await
    }

    /// A refresh-token family: none of its tokens can be spent any more, and the access
    /// tokens issued from it are refused.
    ///
    /// The record goes first: should the second write fail, the family's access tokens
    /// (any issued from it later too) are already refused everywhere. The other order could
    /// leave a family that no longer refreshes but whose access tokens stay valid.
    pub async fn family(&self, family_id: &FamilyId) -> Result<()> {
        let key = RevocationKey::Family(family_id.clone());
        self.record(key, self.horizon(), None).await?;
        self.store.mark_family_revoked(family_id).await
    }

    /// Every live family of a user or a client, as [`Revocations::family`] does each; returns
    /// how many there were.
    pub async fn families_of(&self, owner: FamilyOwner<'_>) -> Result<usize> {
        let families = self.store.mark_families_revoked(owner).await?;
        for family in &families {
            let key = RevocationKey::Family(family.clone());
            self.record(key, self.horizon(), None).await?;
        }
        Ok(families.len())
    }

    /// A user's access tokens issued before the cutoff.
    pub async fn user(&self, user_id: UserId, cutoff: Cutoff) -> Result<()> {
        let key = RevocationKey::User(user_id);
        self.record(key, self.horizon(), Some(cutoff)).await
    }

    /// Every access token issued to a client up to now (it was deleted).
    pub async fn client(&self, client_id: &ClientId) -> Result<()> {
        let key = RevocationKey::Client(client_id.clone());
        self.record(key, self.horizon(), Some(Cutoff::ThisSecond))
            .await
    }

    async fn record(
        &self,
        key: RevocationKey,
        expires_at: Timestamp,
        cutoff: Option<Cutoff>,
    ) -> Result<()> {
        let at = now();
        // `issued_before` is compared in whole seconds, as `iat` is: tokens whose `iat` is
        // before its second are refused. `ThisSecond` moves it past the current second.
        let issued_before = cutoff.map(|cutoff| {
            let ahead_ms = match cutoff {
                Cutoff::ThisSecond => 1_000,
                Cutoff::EarlierSeconds => 0,
            };
            at.plus_millis(ahead_ms)
        });
        crate::metrics::revocation(key.kind());
        let revocation = Revocation {
            key,
            revoked_at: at,
            expires_at,
            issued_before,
        };
        self.store.insert_revocation(&revocation).await?;
        self.set.insert(&revocation);
        Ok(())
    }
}
