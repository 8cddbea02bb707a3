//! Typed identifiers, parsed once where they enter and passed on as themselves, so a user id
//! is never confused with a client id or re-parsed from a string along the way.

use std::fmt;

use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

/// A user account's id: 24 hex digits outside, an ObjectId in the `users` collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(ObjectId);

impl UserId {
    /// A fresh id for a new account.
    pub fn new() -> UserId {
        UserId(ObjectId::new())
    }

    /// The id a string names; `None` for anything but 24 hex digits.
    pub fn parse(text: &str) -> Option<UserId> {
        ObjectId::parse_str(text).ok().map(UserId)
    }

    /// The 24 hex digits, as tokens (`sub`), other records and the APIs carry the id.
    pub fn to_hex(self) -> String {
        self.0.to_hex()
    }

    /// The stored form, for the store's queries.
    pub(crate) fn object_id(self) -> ObjectId {
        self.0
    }
}

impl Default for UserId {
    fn default() -> Self {
        UserId::new()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::UserId;

    #[test]
    fn only_24_hex_digits_name_a_user() {
        let id = UserId::new();
        assert_eq!(UserId::parse(&id.to_hex()), Some(id));
        for bad in [
            "",
            "alice",
            "0123456789abcdef0123456",
            "0123456789abcdef012345678",
            "zz23456789abcdef01234567",
        ] {
            assert_eq!(UserId::parse(bad), None, "{bad}");
        }
    }
}
