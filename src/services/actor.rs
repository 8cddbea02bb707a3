//! Who made a change, for the audit trail: the command line, an administrator through the
//! admin API, or nobody in particular (self-registration).

use crate::store::{AuditEvent, UserDoc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An operator with a shell and the database credentials.
    CommandLine,
    /// A user with the `admin` role, through `/admin/v1`.
    Admin { user_id: String, username: String },
    /// The person the change is about (self-registration).
    SelfService,
    /// The signing-key schedule (`keys.rotation_interval_secs`), acting on some instance.
    KeySchedule,
}

impl Actor {
    /// Whether the actor is an administrator acting on their own account.
    pub fn is_account(&self, user: &UserDoc) -> bool {
        matches!(self, Actor::Admin { user_id, .. } if *user_id == user.id.to_hex())
    }

    /// Names the actor on an event about to be recorded.
    pub fn stamp(&self, mut event: AuditEvent) -> AuditEvent {
        match self {
            Actor::CommandLine => event.actor = Some("command line".to_owned()),
            Actor::Admin { user_id, username } => {
                event.actor = Some(username.clone());
                event.actor_id = Some(user_id.clone());
            }
            Actor::SelfService => {}
            Actor::KeySchedule => event.actor = Some("key schedule".to_owned()),
        }
        event
    }
}
