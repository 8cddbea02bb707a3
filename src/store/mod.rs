//! MongoDB storage: typed documents, the one place that names collections, and the indexes
//! every query relies on. Nothing here knows about HTTP.

mod admin_lock;
mod audit;
mod audit_queue;
mod clients;
mod codes;
mod consents;
mod deadline;
mod indexes;
mod migrations;
mod notes;
mod refresh_families;
mod request_counts;
mod revocations;
mod sessions;
mod signing_keys;
mod throttle;
mod time;
mod user_cache;
mod users;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::event::command::CommandEvent;
use mongodb::event::EventHandler;
use mongodb::options::{Acknowledgment, ClientOptions, ReadConcern, WriteConcern};
use mongodb::{Collection, Database};

pub use admin_lock::AdminLock;
pub use audit::{AuditEvent, AuditKind, AuditQuery};
pub use clients::{ClientChange, ClientDoc, ClientKind, ClientSettings};
pub use codes::{AuthCodeDoc, CodeUse, SignInRecord};
pub use consents::ConsentDoc;
pub use notes::NoteDoc;
pub use refresh_families::{FamilyOwner, RefreshFamilyDoc, RefreshLookup, RefreshUse, Successor};
pub use request_counts::RequestCount;
pub use revocations::{Revocation, RevocationFeed, RevocationKey};
pub use sessions::SessionDoc;
pub use signing_keys::{SealedKeyDoc, SigningKeyDoc};
pub use throttle::{LockoutPolicy, LoginAttempt, LoginFailuresDoc};
pub use time::Timestamp;
pub use users::{UserChange, UserDoc, UserProfile};

use crate::config::{MongoConfig, ReadConcernLevel, WriteConcernSetting};
use crate::error::{Error, Result};
use deadline::Bounded;

/// Collection names, in one place.
pub mod collections {
    pub const USERS: &str = "users";
    pub const CLIENTS: &str = "clients";
    pub const REFRESH_FAMILIES: &str = "refresh_families";
    /// One document per refresh token, as earlier versions stored them (moved at start-up).
    pub const LEGACY_REFRESH_TOKENS: &str = "refresh_tokens";
    pub const REVOCATIONS: &str = "revocations";
    pub const AUDIT: &str = "audit";
    pub const NOTES: &str = "notes";
    pub const AUTHORIZATION_CODES: &str = "authorization_codes";
    pub const SESSIONS: &str = "sessions";
    pub const CONSENTS: &str = "consents";
    pub const LOGIN_FAILURES: &str = "login_failures";
    pub const RATE_LIMITS: &str = "rate_limits";
    /// Leases that serialise changes which must see each other (`admin_lock`).
    pub const LOCKS: &str = "locks";
    /// Signing keys, sealed, with `keys.store = "database"`.
    pub const SIGNING_KEYS: &str = "signing_keys";
}

/// A handle on Portcullis's database. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct Store {
    db: Database,
    indexes_ready: Arc<AtomicBool>,
    client_cache: clients::ClientCache,
    audit_queue: audit_queue::AuditQueue,
    request_counts: request_counts::RequestCounts,
    user_cache: user_cache::UserCache,
    /// How long audit events are kept; `None` keeps them forever.
    audit_retention: Option<Duration>,
    /// How long one operation may take (`deadline`).
    operation_timeout: Duration,
}

/// A MongoDB URI's scheme and hosts, without credentials, path or options: what messages
/// may show of it.
pub fn hosts_of(uri: &str) -> String {
    let (scheme, rest) = uri.split_once("://").unwrap_or(("mongodb", uri));
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let hosts = authority
        .rsplit_once('@')
        .map_or(authority, |(_, hosts)| hosts);
    format!("{scheme}://{hosts}")
}

impl Store {
    /// Documents of `collection` in `_id` order, after the id `after`: one page of a listing.
    async fn page_by_id<T>(
        &self,
        collection: Collection<T>,
        after: Option<Bson>,
        limit: i64,
    ) -> Result<Vec<T>>
    where
        T: serde::de::DeserializeOwned + Send + Sync,
    {
        let filter = match after {
            Some(id) => doc! { "_id": { "$gt": id } },
            None => doc! {},
        };
        let cursor = collection
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(limit)
            .within(self)
            .await?;
        cursor.try_collect().within(self).await
    }

    /// Prepares a connection pool with the default `[mongodb]` settings. The driver connects
    /// lazily, so this succeeds even while the server is down; `ping` and `ensure_indexes`
    /// tell whether it is reachable.
    pub async fn connect(uri: &str, database: &str, timeout: Duration) -> Result<Store> {
        Store::connect_with(uri, database, timeout, &MongoConfig::default()).await
    }

    /// The same with the given write and read concerns, retries and pool size.
    pub async fn connect_with(
        uri: &str,
        database: &str,
        timeout: Duration,
        settings: &MongoConfig,
    ) -> Result<Store> {
        let mut options = ClientOptions::parse(uri)
            .await
            .map_err(|e| Error::Config(format!("mongodb_uri: {}", Error::from(e))))?;
        options.app_name = Some("portcullis".into());
        options.server_selection_timeout = Some(timeout);
        options.connect_timeout = Some(timeout);
        apply(&mut options, settings, timeout);
        options.command_event_handler =
            Some(EventHandler::callback(|event: CommandEvent| match event {
                CommandEvent::Succeeded(done) => {
                    crate::metrics::database_command(&done.command_name, done.duration, false)
                }
                CommandEvent::Failed(failed) => {
                    crate::metrics::database_command(&failed.command_name, failed.duration, true)
                }
                _ => {}
            }));
        let client = mongodb::Client::with_options(options)?;
        Ok(Store {
            db: client.database(database),
            indexes_ready: Arc::new(AtomicBool::new(false)),
            client_cache: clients::ClientCache::default(),
            audit_queue: audit_queue::AuditQueue::default(),
            request_counts: request_counts::RequestCounts::default(),
            user_cache: user_cache::UserCache::default(),
            audit_retention: None,
            operation_timeout: timeout,
        })
    }

    /// Connects with the database settings of a configuration.
    pub async fn from_config(config: &crate::Config) -> Result<Store> {
        let mut store = Store::connect_with(
            config.mongodb_uri.expose(),
            &config.database,
            Duration::from_millis(config.database_timeout_ms),
            &config.mongodb,
        )
        .await?;
        store.audit_retention = (config.audit_retention_days > 0)
            .then(|| Duration::from_secs(u64::from(config.audit_retention_days) * 86_400));
        Ok(store)
    }

    pub fn database_name(&self) -> &str {
        self.db.name()
    }

    /// Round trip to the server.
    pub async fn ping(&self) -> Result<()> {
        self.db.run_command(doc! { "ping": 1 }).within(self).await?;
        Ok(())
    }

    /// Creates every index and moves data stored by earlier versions (both idempotent). Run
    /// at start-up and retried by `/readyz` until it works.
    pub async fn ensure_indexes(&self) -> Result<()> {
        migrations::before_indexes(self).await?;
        indexes::create_all(self).await?;
        migrations::after_indexes(self).await?;
        self.indexes_ready.store(true, Ordering::Release);
        Ok(())
    }

    pub fn indexes_ready(&self) -> bool {
        self.indexes_ready.load(Ordering::Acquire)
    }

    /// Drops the whole database. Used by tests and never by the server.
    pub async fn drop_database(&self) -> Result<()> {
        self.db.drop().within(self).await?;
        Ok(())
    }

    fn users(&self) -> Collection<UserDoc> {
        self.db.collection(collections::USERS)
    }

    fn clients(&self) -> Collection<ClientDoc> {
        self.db.collection(collections::CLIENTS)
    }

    fn database(&self) -> &Database {
        &self.db
    }

    fn locks(&self) -> Collection<mongodb::bson::Document> {
        self.db.collection(collections::LOCKS)
    }

    fn refresh_families(&self) -> Collection<RefreshFamilyDoc> {
        self.db.collection(collections::REFRESH_FAMILIES)
    }

    fn revocations(&self) -> Collection<revocations::RevocationDoc> {
        self.db.collection(collections::REVOCATIONS)
    }

    fn audit_events(&self) -> Collection<AuditEvent> {
        self.db.collection(collections::AUDIT)
    }

    fn notes(&self) -> Collection<NoteDoc> {
        self.db.collection(collections::NOTES)
    }

    fn codes(&self) -> Collection<AuthCodeDoc> {
        self.db.collection(collections::AUTHORIZATION_CODES)
    }

    fn sessions(&self) -> Collection<SessionDoc> {
        self.db.collection(collections::SESSIONS)
    }

    fn consents(&self) -> Collection<ConsentDoc> {
        self.db.collection(collections::CONSENTS)
    }

    fn login_failures_collection(&self) -> Collection<LoginFailuresDoc> {
        self.db.collection(collections::LOGIN_FAILURES)
    }

    fn rate_limits(&self) -> Collection<mongodb::bson::Document> {
        self.db.collection(collections::RATE_LIMITS)
    }
}

/// The `[mongodb]` settings on the driver's options (docs/operations.md, "Write and read
/// concerns"). Spends, codes, revocations and lockouts are single acknowledged writes; with
/// the default majority, journaled concern an acknowledged one survives an election. A
/// majority that cannot be reached fails the write after `timeout` instead of holding the
/// request forever (the write may still have landed on the primary).
fn apply(options: &mut ClientOptions, settings: &MongoConfig, timeout: Duration) {
    let w = match (settings.write_concern.members(), &settings.write_concern) {
        (Some(members), _) | (None, &WriteConcernSetting::Members(members)) => {
            Acknowledgment::Nodes(members)
        }
        (None, WriteConcernSetting::Named(name)) if name.eq_ignore_ascii_case("majority") => {
            Acknowledgment::Majority
        }
        (None, WriteConcernSetting::Named(tag)) => Acknowledgment::Custom(tag.clone()),
    };
    options.write_concern = Some(
        WriteConcern::builder()
            .w(w)
            .journal(settings.journal)
            .w_timeout(timeout)
            .build(),
    );
    options.read_concern = Some(match settings.read_concern {
        ReadConcernLevel::Majority => ReadConcern::majority(),
        ReadConcernLevel::Local => ReadConcern::local(),
    });
    options.retry_writes = Some(settings.retry_writes);
    options.retry_reads = Some(settings.retry_reads);
    if let Some(max) = settings.max_pool_size {
        options.max_pool_size = Some(max);
    }
    if let Some(min) = settings.min_pool_size {
        options.min_pool_size = Some(min);
    }
}

/// Whether a write failed on a unique index (MongoDB error E11000).
/// (`findAndModify` reports it as a command error, inserts and updates as a write error).
fn is_duplicate_key(error: &mongodb::error::Error) -> bool {
    match error.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == 11000,
        ErrorKind::Command(e) => e.code == 11000,
        _ => false,
    }
}

/// The current time as stored in documents.
pub fn now() -> Timestamp {
    Timestamp::now()
}

/// A time `secs` seconds from now.
pub fn in_secs(secs: u64) -> Timestamp {
    let millis = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    now().plus_millis(millis)
}
