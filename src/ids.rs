//! Typed identifiers, parsed once where they enter and passed on as themselves, so a user id
//! is never confused with a client id or re-parsed from a string along the way.

use std::fmt;

use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::secrets::random_id;

/// An id the database draws (an ObjectId), shown outside as 24 hex digits.
macro_rules! object_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(ObjectId);

        impl $name {
            /// A fresh id.
            pub fn new() -> $name {
                $name(ObjectId::new())
            }

            /// The id a string names; `None` for anything but 24 hex digits.
            pub fn parse(text: &str) -> Option<$name> {
                ObjectId::parse_str(text).ok().map($name)
            }

            /// The 24 hex digits, as tokens, other records and the APIs carry the id.
            pub fn to_hex(self) -> String {
                self.0.to_hex()
            }

            /// The stored form, for the store's queries.
            pub(crate) fn object_id(self) -> ObjectId {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0.to_hex())
            }
        }
    };
}

object_id! {
    /// A user account's id: the `sub` of its tokens; an ObjectId in the `users` collection.
    UserId
}

object_id! {
    /// An audit event's id: the listing's page mark, in time order within a second.
    EventId
}

/// An id the server draws as random text (128 bits, base64url) and that tokens and records
/// carry as it is. Not a secret: it names a token or family without granting anything.
macro_rules! drawn_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh id from the CSPRNG.
            pub fn draw() -> Result<$name> {
                random_id().map($name)
            }

            /// The id a verified token or a stored record carries; they were drawn here, so
            /// there is nothing to check beyond where the text came from.
            pub fn carried(text: impl Into<String>) -> $name {
                $name(text.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

drawn_id! {
    /// An access token's id (`jti`, RFC 9068 §2.2).
    Jti
}

drawn_id! {
    /// A refresh-token family's id: the `sid` of the access tokens issued from it.
    FamilyId
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
