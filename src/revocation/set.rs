//! The in-memory set of revoked, not yet expired access tokens, refresh-token families, and
//! users and clients whose earlier tokens were revoked, so checking a token costs no database
//! round trip.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::store::{now, Revocation, RevocationKey, Timestamp};

/// What the set looks at in an access token.
#[derive(Debug, Clone, Copy)]
pub struct TokenFacts<'a> {
    pub jti: &'a str,
    /// The refresh-token family it was issued from (`sid`).
    pub family: Option<&'a str>,
    /// The user it was issued for; `None` for a client's own token.
    pub user: Option<&'a str>,
    pub client_id: &'a str,
    /// `iat`, in Unix seconds.
    pub issued_at: u64,
}

#[derive(Clone)]
pub struct RevocationSet {
    inner: Arc<RwLock<Inner>>,
}

struct Inner {
    /// Revoked access token `jti` → expiry in Unix milliseconds.
    jtis: foldhash::HashMap<String, i64>,
    /// Revoked refresh-token family → expiry in Unix milliseconds.
    families: foldhash::HashMap<String, i64>,
    /// Deleted, disabled or re-keyed user → (tokens whose `iat` is before this Unix second
    /// are refused, expiry in Unix milliseconds).
    users: foldhash::HashMap<String, (i64, i64)>,
    /// Deleted client → the same.
    clients: foldhash::HashMap<String, (i64, i64)>,
    /// The newest `revoked_at` seen.
    watermark: Option<Timestamp>,
    last_sync: Option<Instant>,
    following: Option<Following>,
}

/// How the set is following the database at the moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Following {
    ChangeStream,
    Poll,
}

impl Following {
    /// The name `/readyz` and the log use.
    pub fn name(self) -> &'static str {
        match self {
            Following::ChangeStream => "change_stream",
            Following::Poll => "poll",
        }
    }
}

impl Default for RevocationSet {
    fn default() -> Self {
        RevocationSet {
            inner: Arc::new(RwLock::new(Inner {
                jtis: foldhash::HashMap::default(),
                families: foldhash::HashMap::default(),
                users: foldhash::HashMap::default(),
                clients: foldhash::HashMap::default(),
                watermark: None,
                last_sync: None,
                following: None,
            })),
        }
    }
}

impl RevocationSet {
    /// Whether an access token is revoked: by its `jti`, its refresh-token family, or its
    /// user or client having been deleted.
    pub fn is_revoked(&self, token: TokenFacts<'_>) -> bool {
        let now = now().unix_millis();
        let Ok(inner) = self.inner.read() else {
            // A poisoned lock means a panic elsewhere: refuse rather than accept.
            return true;
        };
        let live = |map: &foldhash::HashMap<String, i64>, id: &str| {
            map.get(id).is_some_and(|exp| *exp > now)
        };
        let issued_at = i64::try_from(token.issued_at).unwrap_or(i64::MAX);
        let issued_before = |map: &foldhash::HashMap<String, (i64, i64)>, id: &str| {
            map.get(id)
                .is_some_and(|(cutoff, expiry)| *expiry > now && issued_at < *cutoff)
        };
        live(&inner.jtis, token.jti)
            || token.family.is_some_and(|f| live(&inner.families, f))
            || token.user.is_some_and(|u| issued_before(&inner.users, u))
            || issued_before(&inner.clients, token.client_id)
    }

    /// Adds a revocation just stored (by this instance, or read back from the database).
    pub fn insert(&self, revocation: &Revocation) {
        if let Ok(mut inner) = self.inner.write() {
            inner.add(revocation);
        }
    }

    /// Adds revocations read from the database, drops the expired ones, and counts the
    /// moment as a successful sync.
    pub(super) fn merge(&self, fresh: &[Revocation]) {
        if let Ok(mut inner) = self.inner.write() {
            for revocation in fresh {
                inner.add(revocation);
            }
            let now = now().unix_millis();
            inner.jtis.retain(|_, expiry| *expiry > now);
            inner.families.retain(|_, expiry| *expiry > now);
            inner.users.retain(|_, (_, expiry)| *expiry > now);
            inner.clients.retain(|_, (_, expiry)| *expiry > now);
            inner.last_sync = Some(Instant::now());
            crate::metrics::revocation_set(
                inner.jtis.len() + inner.families.len() + inner.users.len() + inner.clients.len(),
            );
        }
    }

    /// The newest `revoked_at` seen; `None` before any.
    pub(super) fn watermark(&self) -> Option<Timestamp> {
        self.inner.read().ok().and_then(|inner| inner.watermark)
    }

    pub(super) fn set_following(&self, following: Following) {
        if let Ok(mut inner) = self.inner.write() {
            inner.following = Some(following);
        }
    }

    /// How the set follows the database; `None` before the first attempt.
    pub fn following(&self) -> Option<Following> {
        self.inner.read().ok().and_then(|inner| inner.following)
    }

    /// Time since the last successful sync; `None` before the first.
    pub fn staleness(&self) -> Option<Duration> {
        self.inner
            .read()
            .ok()
            .and_then(|inner| inner.last_sync)
            .map(|at| at.elapsed())
    }
}

impl Inner {
    fn add(&mut self, revocation: &Revocation) {
        let expiry = revocation.expires_at.unix_millis();
        // A record seen twice keeps the later expiry (and, for a subject, the later cutoff).
        let keep_later = |map: &mut foldhash::HashMap<String, i64>, id: &str| {
            let entry = map.entry(id.to_owned()).or_insert(expiry);
            *entry = (*entry).max(expiry);
        };
        let cutoff = revocation
            .issued_before
            .map(|before| before.unix_millis().div_euclid(1000));
        let keep_later_subject =
            |map: &mut foldhash::HashMap<String, (i64, i64)>, id: &str, cutoff: i64| {
                let entry = map.entry(id.to_owned()).or_insert((cutoff, expiry));
                *entry = (entry.0.max(cutoff), entry.1.max(expiry));
            };
        match (&revocation.key, cutoff) {
            (RevocationKey::AccessToken(jti), _) => keep_later(&mut self.jtis, jti.as_str()),
            (RevocationKey::Family(family), _) => keep_later(&mut self.families, family.as_str()),
            (RevocationKey::User(user), Some(cutoff)) => {
                keep_later_subject(&mut self.users, &user.to_hex(), cutoff)
            }
            (RevocationKey::Client(client), Some(cutoff)) => {
                keep_later_subject(&mut self.clients, client, cutoff)
            }
            // A user or client record always has a cutoff; one without refuses nothing.
            (RevocationKey::User(_) | RevocationKey::Client(_), None) => return,
        }
        if self
            .watermark
            .is_none_or(|mark| revocation.revoked_at > mark)
        {
            self.watermark = Some(revocation.revoked_at);
        }
    }
}
