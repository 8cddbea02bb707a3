//! Revocation in one place: what each revocation refuses and for how long
//! ([`Revocations`], the one writer: the database record and this instance's set together),
//! the in-memory set every token check asks ([`RevocationSet`]), and how the set follows
//! revocations made elsewhere (`sync`).
//!
//! Consistency: a revocation made on this instance is in its set before the request that
//! made it answers; one made on another instance (or by the command line) arrives through a
//! change stream where the deployment offers one, or with the next poll.

mod service;
mod set;
mod sync;

pub use service::{Cutoff, Revocations};
pub use set::{Following, RevocationSet, TokenFacts};
pub use sync::keep_in_sync;
