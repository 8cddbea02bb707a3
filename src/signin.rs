//! The sign-in state machine. A sign-in only moves forward — credentials checked, then any
//! further factors the account requires, then signed in — and only the last state, an
//! [`Authenticated`], can start a browser session or have tokens issued for it. It records
//! when the user signed in and by which methods (RFC 8176 `amr` values), which the session
//! keeps for what comes after (`auth_time` and `amr` of OpenID Connect).
//!
//! No account requires a second factor yet: [`Factor`] has no variant, so
//! [`SignIn::FactorsPending`] cannot occur, and every `match` over it says so. A factor is one
//! variant here, and the compiler then shows each place that must handle it.

use crate::ids::SessionId;
use crate::oauth::claims::unix_now;
use crate::store::{SignInRecord, Timestamp, UserDoc};

/// How a user proved who they are (RFC 8176 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// A password.
    Pwd,
}

impl AuthMethod {
    /// The RFC 8176 name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Pwd => "pwd",
        }
    }
}

/// A further factor an account may require after its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {}

/// Where a sign-in stands.
#[derive(Debug)]
pub enum SignIn {
    /// The password was right; `next` is still to be presented.
    FactorsPending { user: UserDoc, next: Factor },
    /// Every required factor is in.
    SignedIn(Authenticated),
}

impl SignIn {
    /// The state after a password check succeeded for `user`.
    pub fn after_password(user: UserDoc) -> SignIn {
        SignIn::SignedIn(Authenticated {
            user,
            at: unix_now(),
            methods: vec![AuthMethod::Pwd],
        })
    }
}

/// A user who completed sign-in: who, when (Unix seconds) and how. Only [`SignIn`] makes one.
#[derive(Debug, Clone)]
pub struct Authenticated {
    user: UserDoc,
    at: u64,
    methods: Vec<AuthMethod>,
}

impl Authenticated {
    pub fn user(&self) -> &UserDoc {
        &self.user
    }

    /// When the user signed in, in Unix seconds (OpenID Connect's `auth_time`).
    pub fn at(&self) -> u64 {
        self.at
    }

    /// The methods used, in order (`amr`).
    pub fn methods(&self) -> &[AuthMethod] {
        &self.methods
    }

    /// What codes, sessions and refresh families keep of it, with the browser session's id
    /// when it started one.
    pub fn record(&self, sid: Option<SessionId>) -> SignInRecord {
        let at_ms = i64::try_from(self.at.saturating_mul(1000)).unwrap_or(i64::MAX);
        SignInRecord {
            auth_time: Timestamp::from_unix_millis(at_ms),
            amr: self.methods.iter().map(|m| m.as_str().to_owned()).collect(),
            sid,
        }
    }
}
