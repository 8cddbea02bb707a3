//! The in-memory set of revoked, not yet expired access tokens, refresh-token families, and
//! users and clients whose earlier tokens were revoked, so checking a token costs no database
//! round trip. Until the set has been read whole once, it cannot say a token is not revoked
//! (`is_loaded`), and tokens are not accepted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::ids::drawn_bytes as drawn;
use crate::store::{now, Revocation, RevocationKey, Timestamp};

/// How often expired entries are dropped. A lookup ignores an expired entry anyway, so they
/// only cost memory meanwhile; sweeping walks every entry under the write lock, which a set of
/// a million must not do every second.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

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
    /// Whether the set has been read whole once (read on every request, so kept apart from
    /// the lock).
    loaded: Arc<AtomicBool>,
}

/// Entries keyed by id. The ids this server draws (a `jti`, a family id: 16 random bytes as
/// 22 base64url characters) are kept as their 16 bytes, which is most of a large set; any
/// other id as text.
struct ById<V> {
    drawn: foldhash::HashMap<[u8; 16], V>,
    other: foldhash::HashMap<Box<str>, V>,
}

impl<V> Default for ById<V> {
    fn default() -> Self {
        ById {
            drawn: foldhash::HashMap::default(),
            other: foldhash::HashMap::default(),
        }
    }
}

impl<V> ById<V> {
    fn get(&self, id: &str) -> Option<&V> {
        match drawn(id) {
            Some(bytes) => self.drawn.get(&bytes),
            None => self.other.get(id),
        }
    }

    /// The entry for `id`, made with `new` when there is none.
    fn entry(&mut self, id: &str, new: V) -> &mut V {
        match drawn(id) {
            Some(bytes) => self.drawn.entry(bytes).or_insert(new),
            None => self.other.entry(id.into()).or_insert(new),
        }
    }

    fn retain(&mut self, keep: impl Fn(&V) -> bool) {
        self.drawn.retain(|_, value| keep(value));
        self.other.retain(|_, value| keep(value));
    }

    fn len(&self) -> usize {
        self.drawn.len() + self.other.len()
    }
}

struct Inner {
    /// Revoked access token `jti` → expiry in Unix milliseconds.
    jtis: ById<i64>,
    /// Revoked refresh-token family → expiry in Unix milliseconds.
    families: ById<i64>,
    /// Deleted, disabled or re-keyed user → (tokens whose `iat` is before this Unix second
    /// are refused, expiry in Unix milliseconds).
    users: ById<(i64, i64)>,
    /// Deleted client → the same.
    clients: ById<(i64, i64)>,
    /// When the last successful read began: the next one reads what was recorded from a
    /// while before it. (Not the newest `revoked_at` read: a read in no particular order can
    /// pass over a record written while it runs, and see newer ones after it.)
    read_began: Option<Timestamp>,
    last_sync: Option<Instant>,
    last_sweep: Option<Instant>,
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
                jtis: ById::default(),
                families: ById::default(),
                users: ById::default(),
                clients: ById::default(),
                read_began: None,
                last_sync: None,
                last_sweep: None,
                following: None,
            })),
            loaded: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl RevocationSet {
    /// Whether an access token is revoked: by its `jti`, its refresh-token family, or its
    /// user or client having been deleted. Ask [`RevocationSet::is_loaded`] first: before the
    /// first whole read, "not revoked" means "not known".
    pub fn is_revoked(&self, token: TokenFacts<'_>) -> bool {
        let now = now().unix_millis();
        let Ok(inner) = self.inner.read() else {
            // A poisoned lock means a panic elsewhere: refuse rather than accept.
            return true;
        };
        let live = |map: &ById<i64>, id: &str| map.get(id).is_some_and(|exp| *exp > now);
        let issued_at = i64::try_from(token.issued_at).unwrap_or(i64::MAX);
        let issued_before = |map: &ById<(i64, i64)>, id: &str| {
            map.get(id)
                .is_some_and(|(cutoff, expiry)| *expiry > now && issued_at < *cutoff)
        };
        live(&inner.jtis, token.jti)
            || token.family.is_some_and(|f| live(&inner.families, f))
            || token.user.is_some_and(|u| issued_before(&inner.users, u))
            || issued_before(&inner.clients, token.client_id)
    }

    /// Whether the set has been read whole from the database at least once.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Adds a revocation just stored (by this instance, or read back from the database).
    pub fn insert(&self, revocation: &Revocation) {
        if let Ok(mut inner) = self.inner.write() {
            inner.add(revocation);
        }
    }

    /// Adds a batch read from the database.
    pub(super) fn add_batch(&self, batch: &[Revocation]) {
        if let Ok(mut inner) = self.inner.write() {
            for revocation in batch {
                inner.add(revocation);
            }
        }
    }

    /// Where the next read starts: from the first record until the set has been read whole
    /// (entries a failed attempt added stay, and the read starts over), then `overlap`
    /// before the last successful read began, so records written during it, or stamped by
    /// a clock up to `overlap` behind, are read again.
    pub(super) fn read_from(&self, overlap: Duration) -> Option<Timestamp> {
        if !self.is_loaded() {
            return None;
        }
        let began = self.inner.read().ok()?.read_began?;
        let overlap = i64::try_from(overlap.as_millis()).unwrap_or(i64::MAX);
        Some(began.plus_millis(-overlap))
    }

    /// Counts a successful sync: the set holds everything recorded up to the moment the
    /// read `began`. Drops expired entries when the last sweep is a while ago.
    pub(super) fn synced(&self, began: Timestamp) {
        if let Ok(mut inner) = self.inner.write() {
            inner.last_sync = Some(Instant::now());
            inner.read_began = Some(began);
            if inner
                .last_sweep
                .is_none_or(|at| at.elapsed() >= SWEEP_INTERVAL)
            {
                inner.sweep();
            }
            self.loaded.store(true, Ordering::Release);
        }
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
        let keep_later = |map: &mut ById<i64>, id: &str| {
            let entry = map.entry(id, expiry);
            *entry = (*entry).max(expiry);
        };
        let cutoff = revocation
            .issued_before
            .map(|before| before.unix_millis().div_euclid(1000));
        let keep_later_subject = |map: &mut ById<(i64, i64)>, id: &str, cutoff: i64| {
            let entry = map.entry(id, (cutoff, expiry));
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
            (RevocationKey::User(_) | RevocationKey::Client(_), None) => {}
        }
    }

    fn sweep(&mut self) {
        let now = now().unix_millis();
        self.jtis.retain(|expiry| *expiry > now);
        self.families.retain(|expiry| *expiry > now);
        self.users.retain(|(_, expiry)| *expiry > now);
        self.clients.retain(|(_, expiry)| *expiry > now);
        self.last_sweep = Some(Instant::now());
        crate::metrics::revocation_set(
            self.jtis.len() + self.families.len() + self.users.len() + self.clients.len(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{FamilyId, Jti};

    fn revoked(key: RevocationKey, expires_in_ms: i64) -> Revocation {
        let now = now();
        Revocation {
            key,
            revoked_at: now,
            expires_at: now.plus_millis(expires_in_ms),
            issued_before: None,
        }
    }

    fn facts<'a>(jti: &'a str, family: Option<&'a str>) -> TokenFacts<'a> {
        TokenFacts {
            jti,
            family,
            user: None,
            client_id: "app",
            issued_at: 0,
        }
    }

    #[test]
    fn drawn_and_other_ids_are_both_found_and_never_confused() {
        let set = RevocationSet::default();
        let drawn_jti = Jti::draw().unwrap();
        let family = FamilyId::draw().unwrap();
        set.insert(&revoked(
            RevocationKey::AccessToken(drawn_jti.clone()),
            60_000,
        ));
        set.insert(&revoked(RevocationKey::Family(family.clone()), 60_000));
        set.insert(&revoked(
            RevocationKey::AccessToken(Jti::carried("short")),
            60_000,
        ));
        assert!(set.is_revoked(facts(drawn_jti.as_str(), None)));
        assert!(set.is_revoked(facts("other", Some(family.as_str()))));
        assert!(set.is_revoked(facts("short", None)));
        assert!(!set.is_revoked(facts(Jti::draw().unwrap().as_str(), None)));
        // The same 16 bytes under a non-canonical last character: another text, not found.
        let text = drawn_jti.as_str();
        let last = text.chars().last().unwrap();
        let other_last = if last == 'A' { 'B' } else { 'A' };
        let sibling = format!("{}{other_last}", &text[..21]);
        assert!(!set.is_revoked(facts(&sibling, None)));
    }

    #[test]
    fn expired_entries_refuse_nothing_and_are_swept() {
        let set = RevocationSet::default();
        let jti = Jti::draw().unwrap();
        set.insert(&revoked(RevocationKey::AccessToken(jti.clone()), -1));
        assert!(!set.is_revoked(facts(jti.as_str(), None)));
        assert!(!set.is_loaded());
        set.synced(now());
        assert!(set.is_loaded());
        assert_eq!(set.inner.read().unwrap().jtis.len(), 0);
    }
}
