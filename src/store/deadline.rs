//! Every database operation is bounded by `database_timeout_ms`. The driver bounds server
//! selection and connecting, but not the wait for an answer: a server that accepts a
//! connection and never replies would hold the request forever. Store code awaits each
//! operation through `within`, the one place that time limit is applied; an operation past it
//! fails as the database being unavailable (503 `temporarily_unavailable`).

use std::future::IntoFuture;

use futures_util::future::Map;
use futures_util::FutureExt;
use tokio::time::error::Elapsed;
use tokio::time::Timeout;

use super::Store;
use crate::error::{DatabaseError, Error, Result};

type Outcome<T, E> = std::result::Result<std::result::Result<T, E>, Elapsed>;
type Finish<T, E> = fn(Outcome<T, E>) -> Result<T>;
type Answer<T, E> = fn(Outcome<T, E>) -> Result<std::result::Result<T, E>>;

/// An operation that can be awaited within the store's time limit.
pub(crate) trait Bounded<T, E: Into<Error>>:
    IntoFuture<Output = std::result::Result<T, E>> + Sized
{
    /// The operation, failing with `Error::Database` once the store's time limit has passed.
    fn within(self, store: &Store) -> Map<Timeout<Self::IntoFuture>, Finish<T, E>> {
        tokio::time::timeout(store.operation_timeout, self.into_future())
            .map(finish::<T, E> as Finish<T, E>)
    }

    /// The same, keeping the operation's own error for the caller to inspect (a duplicate
    /// key, say); only the time limit becomes `Error::Database`.
    fn answered_within(self, store: &Store) -> Map<Timeout<Self::IntoFuture>, Answer<T, E>> {
        tokio::time::timeout(store.operation_timeout, self.into_future())
            .map(answer::<T, E> as Answer<T, E>)
    }
}

impl<F, T, E: Into<Error>> Bounded<T, E> for F where
    F: IntoFuture<Output = std::result::Result<T, E>>
{
}

fn finish<T, E: Into<Error>>(outcome: Outcome<T, E>) -> Result<T> {
    answer(outcome)?.map_err(Into::into)
}

fn answer<T, E>(outcome: Outcome<T, E>) -> Result<std::result::Result<T, E>> {
    outcome.map_err(|_| Error::Database(DatabaseError::Timeout))
}
