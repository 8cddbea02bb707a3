//! Tokens that verified once, so presenting one again costs a hash and a look-up instead of an
//! RSA verification. Bounded by memory (`verified_token_cache_mb`) rather than by count, in two
//! tiers:
//!
//! - **hot**: the last few thousand tokens' claims as the guards hand them out (shared, not
//!   copied);
//! - **compact**: every token that fits the budget, in about a hundred bytes each: the ids
//!   this server draws as their 16 bytes, the times as 32-bit seconds, and what many tokens
//!   share (issuer, audience, subject, client, scope, role, username, key id) interned once,
//!   found through an index of 4-byte positions.
//!   A hit here rebuilds the claims (a few small allocations, far below a verification) and
//!   moves them to the hot tier.
//!
//! Expiry, the signing key still being loaded, and revocation are checked by the caller on
//! every request all the same; a cached entry only stands for "this signature was valid".

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::claims::{unix_now, AccessClaims};
use crate::ids::drawn_bytes as drawn;

/// Tokens in the hot tier at most; past it the tier starts over (the compact tier keeps them).
const HOT_CAPACITY: usize = 4_096;
/// What one compact entry costs besides itself: its slot in the index (a 4-byte position and
/// a control byte, at most 7/8 full, and up to twice that just after the table grows).
const INDEX_BYTES_PER_ENTRY: usize = 12;
/// What an interned record costs besides its text: the allocations' headers and its slots.
const SHARED_OVERHEAD_BYTES: usize = 160;
/// An entry has a refresh-token family (`sid`).
const HAS_SID: u8 = 1;

/// A token that verified: its claims and the key that signed it.
#[derive(Clone)]
pub struct Verified {
    pub claims: Arc<AccessClaims>,
    pub kid: Arc<str>,
}

/// What many tokens have in common, kept once.
#[derive(PartialEq, Eq, Hash)]
struct Shared {
    iss: Box<str>,
    aud: Box<[Box<str>]>,
    sub: Box<str>,
    client_id: Box<str>,
    scope: Box<str>,
    role: Option<Box<str>>,
    username: Option<Box<str>>,
    kid: Arc<str>,
}

impl Shared {
    fn of(verified: &Verified) -> Shared {
        let claims = &verified.claims;
        Shared {
            iss: claims.iss.as_str().into(),
            aud: claims.aud.iter().map(|a| a.as_str().into()).collect(),
            sub: claims.sub.as_str().into(),
            client_id: claims.client_id.as_str().into(),
            scope: claims.scope.as_str().into(),
            role: claims.role.as_deref().map(Into::into),
            username: claims.username.as_deref().map(Into::into),
            kid: verified.kid.clone(),
        }
    }

    fn bytes(&self) -> usize {
        let text = [&self.iss, &self.sub, &self.client_id, &self.scope]
            .iter()
            .map(|s| s.len())
            .sum::<usize>()
            + self.aud.iter().map(|a| a.len() + 16).sum::<usize>()
            + self.role.as_ref().map_or(0, |r| r.len())
            + self.username.as_ref().map_or(0, |u| u.len())
            + self.kid.len();
        std::mem::size_of::<Shared>() + text + SHARED_OVERHEAD_BYTES
    }
}

/// One token in the compact tier (64 bytes): the first 16 bytes of its SHA-256, its drawn ids
/// as bytes, its times as 32-bit seconds (`nbf` is `iat`), and what it shares by position.
struct Entry {
    key: [u8; 16],
    jti: [u8; 16],
    sid: [u8; 16],
    exp: u32,
    iat: u32,
    shared: u32,
    flags: u8,
}

/// The index's hash of a key: its first 8 bytes, already uniform (part of a SHA-256 digest of
/// a token this server signed).
fn hash_of(key: &[u8; 16]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&key[..8]);
    u64::from_le_bytes(first)
}

impl Entry {
    /// The entry for `claims` without what it shares, or `None` for a token that does not fit
    /// the compact form (ids not drawn here, `nbf` other than `iat`, times past 2106): such a
    /// token is kept in the hot tier only.
    fn compact(key: [u8; 16], claims: &AccessClaims) -> Option<Entry> {
        let (sid, flags) = match &claims.sid {
            Some(sid) => (drawn(sid)?, HAS_SID),
            None => ([0; 16], 0),
        };
        if claims.nbf != claims.iat {
            return None;
        }
        Some(Entry {
            key,
            jti: drawn(&claims.jti)?,
            sid,
            exp: u32::try_from(claims.exp).ok()?,
            iat: u32::try_from(claims.iat).ok()?,
            shared: 0,
            flags,
        })
    }

    fn expand(&self, shared: &Shared) -> Verified {
        let iat = u64::from(self.iat);
        let claims = AccessClaims {
            iss: shared.iss.to_string(),
            sub: shared.sub.to_string(),
            aud: shared.aud.iter().map(ToString::to_string).collect(),
            exp: u64::from(self.exp),
            iat,
            nbf: iat,
            jti: URL_SAFE_NO_PAD.encode(self.jti),
            client_id: shared.client_id.to_string(),
            scope: shared.scope.to_string(),
            role: shared.role.as_deref().map(str::to_owned),
            username: shared.username.as_deref().map(str::to_owned),
            sid: (self.flags & HAS_SID != 0).then(|| URL_SAFE_NO_PAD.encode(self.sid)),
        };
        Verified {
            claims: Arc::new(claims),
            kid: shared.kid.clone(),
        }
    }
}

#[derive(Default)]
struct Compact {
    /// Positions in `entries`, by their entries' keys. Only tokens that verified are entered,
    /// so a presented token finds another's entry only if it matches 128 bits of that token's
    /// digest: a second preimage, out of reach.
    index: hashbrown::HashTable<u32>,
    entries: Vec<Entry>,
    /// What the entries share, by position, and each record's position.
    shared: Vec<Arc<Shared>>,
    shared_ids: foldhash::HashMap<Arc<Shared>, u32>,
    shared_bytes: usize,
}

impl Compact {
    fn bytes(&self) -> usize {
        self.entries.len() * (std::mem::size_of::<Entry>() + INDEX_BYTES_PER_ENTRY)
            + self.shared_bytes
    }

    fn find(&self, key: &[u8; 16]) -> Option<&Entry> {
        let entries = &self.entries;
        let position = self
            .index
            .find(hash_of(key), |&at| entries[at as usize].key == *key)?;
        entries.get(*position as usize)
    }

    fn intern(&mut self, shared: Arc<Shared>) -> Option<u32> {
        if let Some(id) = self.shared_ids.get(&shared) {
            return Some(*id);
        }
        let id = u32::try_from(self.shared.len()).ok()?;
        self.shared_bytes += shared.bytes();
        self.shared.push(shared.clone());
        self.shared_ids.insert(shared, id);
        Some(id)
    }

    fn push(&mut self, mut entry: Entry, shared: Arc<Shared>) {
        if self.find(&entry.key).is_some() {
            return;
        }
        let (Some(shared), Ok(position)) = (self.intern(shared), u32::try_from(self.entries.len()))
        else {
            return;
        };
        entry.shared = shared;
        let hash = hash_of(&entry.key);
        self.entries.push(entry);
        let entries = &self.entries;
        self.index
            .insert_unique(hash, position, |&at| hash_of(&entries[at as usize].key));
    }

    /// Keeps the entries still valid at `now` (with `leeway`), and what they share.
    fn retain_live(&mut self, now: u64, leeway: u64) {
        let old = std::mem::take(self);
        for entry in old.entries {
            if u64::from(entry.exp).saturating_add(leeway) >= now {
                let shared = old.shared[entry.shared as usize].clone();
                self.push(entry, shared);
            }
        }
    }
}

/// The cache. Cheap to clone; clones share it.
#[derive(Clone)]
pub struct VerifiedCache {
    hot: Arc<Mutex<foldhash::HashMap<[u8; 32], Verified>>>,
    compact: Arc<Mutex<Compact>>,
    budget_bytes: usize,
    leeway: u64,
}

fn prefix(digest: &[u8; 32]) -> [u8; 16] {
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

impl VerifiedCache {
    /// A cache of at most `budget_mb` MiB (0: no compact tier, the hot tier only).
    pub fn new(budget_mb: usize, leeway: u64) -> Self {
        VerifiedCache {
            hot: Arc::default(),
            compact: Arc::default(),
            budget_bytes: budget_mb.saturating_mul(1024 * 1024),
            leeway,
        }
    }

    /// The token with SHA-256 `digest`, if it verified before.
    pub fn get(&self, digest: &[u8; 32]) -> Option<Verified> {
        if let Some(hit) = self.hot.lock().ok()?.get(digest).cloned() {
            return Some(hit);
        }
        let expanded = {
            let compact = self.compact.lock().ok()?;
            let entry = compact.find(&prefix(digest))?;
            entry.expand(compact.shared.get(entry.shared as usize)?)
        };
        self.insert_hot(*digest, expanded.clone());
        Some(expanded)
    }

    /// Remembers a token that has just verified.
    pub fn insert(&self, digest: [u8; 32], verified: Verified) {
        self.insert_compact(&digest, &verified);
        self.insert_hot(digest, verified);
    }

    fn insert_hot(&self, digest: [u8; 32], verified: Verified) {
        let Ok(mut hot) = self.hot.lock() else { return };
        if hot.len() >= HOT_CAPACITY {
            hot.clear();
        }
        hot.insert(digest, verified);
    }

    fn insert_compact(&self, digest: &[u8; 32], verified: &Verified) {
        if self.budget_bytes == 0 {
            return;
        }
        let Some(entry) = Entry::compact(prefix(digest), &verified.claims) else {
            return;
        };
        let shared = Arc::new(Shared::of(verified));
        let Ok(mut compact) = self.compact.lock() else {
            return;
        };
        if compact.bytes() >= self.budget_bytes {
            // Full: drop what has expired; if that frees too little, start over.
            compact.retain_live(unix_now(), self.leeway);
            if compact.bytes() >= self.budget_bytes / 4 * 3 {
                *compact = Compact::default();
            }
        }
        compact.push(entry, shared);
    }

    /// Tokens in the compact tier, and the bytes they are counted as.
    pub fn size(&self) -> (usize, usize) {
        self.compact
            .lock()
            .map(|c| (c.entries.len(), c.bytes()))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(n: u8, sid: bool) -> ([u8; 32], Verified) {
        let id = |b: u8| URL_SAFE_NO_PAD.encode([b; 16]);
        let claims = AccessClaims {
            iss: "https://issuer.example".into(),
            sub: "6750f0c2a1b2c3d4e5f60718".into(),
            aud: vec!["api".into(), "other".into()],
            exp: unix_now() + 600,
            iat: unix_now(),
            nbf: unix_now(),
            jti: id(n),
            client_id: "app".into(),
            scope: "profile data:read".into(),
            role: Some("user".into()),
            username: Some("alice".into()),
            sid: sid.then(|| id(n.wrapping_add(100))),
        };
        let verified = Verified {
            claims: Arc::new(claims),
            kid: "key-1".into(),
        };
        ([n; 32], verified)
    }

    #[test]
    fn a_compact_entry_gives_back_the_same_claims() {
        let cache = VerifiedCache::new(1, 10);
        let (digest, verified) = token(7, true);
        cache.insert(digest, verified.clone());
        // Out of the hot tier, so the answer comes from the compact one.
        cache.hot.lock().unwrap().clear();
        let back = cache.get(&digest).expect("remembered");
        assert_eq!(*back.claims, *verified.claims);
        assert_eq!(&*back.kid, "key-1");
        assert!(cache.get(&[8; 32]).is_none());
    }

    #[test]
    fn tokens_share_their_common_text_and_stay_within_the_budget() {
        let cache = VerifiedCache::new(1, 10);
        for n in 0..=255u8 {
            let (mut digest, verified) = token(n, n % 2 == 0);
            digest[31] = 0;
            cache.insert(digest, verified);
        }
        let (entries, bytes) = cache.size();
        assert_eq!(entries, 256);
        assert_eq!(cache.compact.lock().unwrap().shared.len(), 1);
        assert!(bytes < 256 * 100, "{bytes} bytes for 256 tokens");

        // A budget of one MiB holds about ten thousand; far more start it over, never grow it.
        let small = VerifiedCache::new(1, 10);
        for n in 0..40_000u32 {
            let (_, verified) = token(1, false);
            let mut claims = (*verified.claims).clone();
            let mut jti = [0u8; 16];
            jti[..4].copy_from_slice(&n.to_le_bytes());
            claims.jti = URL_SAFE_NO_PAD.encode(jti);
            let mut digest = [0u8; 32];
            digest[..4].copy_from_slice(&n.to_le_bytes());
            small.insert(
                digest,
                Verified {
                    claims: Arc::new(claims),
                    kid: verified.kid,
                },
            );
            assert!(small.size().1 <= 1024 * 1024 + 1024);
        }
    }

    #[test]
    fn tokens_with_ids_not_drawn_here_stay_in_the_hot_tier_only() {
        let cache = VerifiedCache::new(1, 10);
        let (digest, verified) = token(3, false);
        let mut claims = (*verified.claims).clone();
        claims.jti = "not-a-drawn-id".into();
        cache.insert(
            digest,
            Verified {
                claims: Arc::new(claims),
                kid: verified.kid,
            },
        );
        assert_eq!(cache.size().0, 0);
        assert_eq!(cache.get(&digest).unwrap().claims.jti, "not-a-drawn-id");
    }
}
