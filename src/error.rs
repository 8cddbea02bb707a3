//! The application error: what can go wrong outside the OAuth protocol itself (configuration,
//! keys, storage, validation). OAuth protocol errors live in `oauth::error`.

/// Result with the application error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration error: {0}")]
    Config(String),
    #[error("signing keys: {0}")]
    Keys(String),
    #[error("database unavailable: {0}")]
    Database(#[from] DatabaseError),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    /// A valid request the current state does not allow (deleting your own account, ...).
    #[error("refused: {0}")]
    Refused(String),
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// Why the database could not serve a request.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The driver's failure. Its message names the server and the cause, never credentials.
    #[error("{}", describe(.0))]
    Driver(#[source] mongodb::error::Error),
    /// No answer within `database_timeout_ms` (`store::deadline`).
    #[error("no answer within database_timeout_ms")]
    Timeout,
    /// The server closed a change stream (its collection or database was dropped or
    /// renamed): it must be opened again.
    #[error("the change stream was closed by the server")]
    StreamClosed,
    /// A lease another change holds did not come free in time (`store::admin_lock`).
    #[error("another administrator change is in progress")]
    Busy,
    /// The command line could not reach the database at all.
    #[error("cannot reach MongoDB at {hosts} within {within} ({cause}) — is it running? set MONGODB_URI")]
    Unreachable {
        hosts: String,
        within: String,
        #[source]
        cause: Box<DatabaseError>,
    },
}

impl From<mongodb::error::Error> for Error {
    fn from(error: mongodb::error::Error) -> Self {
        Error::Database(DatabaseError::Driver(error))
    }
}

/// The driver's account of a failure, in one line: for a server-selection timeout the first
/// server's error rather than the whole topology.
fn describe(error: &mongodb::error::Error) -> String {
    let message = error.to_string();
    if let mongodb::error::ErrorKind::ServerSelection { .. } = error.kind.as_ref() {
        let cause = message
            .split("Error: Kind: ")
            .nth(1)
            .and_then(|rest| rest.split(", labels").next())
            .map(|cause| format!(" ({})", cause.trim()))
            .unwrap_or_default();
        return format!("no server answered in time{cause}");
    }
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
