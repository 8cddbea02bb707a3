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
    Database(String),
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

impl From<mongodb::error::Error> for Error {
    fn from(error: mongodb::error::Error) -> Self {
        // The driver's message names the server and the cause, never the credentials.
        let message = error.to_string();
        if let mongodb::error::ErrorKind::ServerSelection { .. } = error.kind.as_ref() {
            // Not the driver's whole account of the topology: the first server's error.
            let cause = message
                .split("Error: Kind: ")
                .nth(1)
                .and_then(|rest| rest.split(", labels").next())
                .map(|cause| format!(" ({})", cause.trim()))
                .unwrap_or_default();
            return Error::Database(format!("no server answered in time{cause}"));
        }
        Error::Database(message.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}
