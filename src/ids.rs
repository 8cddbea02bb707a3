//! Typed identifiers, parsed once where they enter and passed on as themselves, so a user id
//! is never confused with a client id or re-parsed from a string along the way.

use std::fmt;

use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
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

/// Serde for a `UserId` kept as its 24 hex digits, as the records that point at an account
/// (sessions, consents, codes, refresh families) store it.
pub mod user_id_as_hex {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::UserId;

    pub fn serialize<S: Serializer>(id: &UserId, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&id.to_hex())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<UserId, D::Error> {
        let text = String::deserialize(deserializer)?;
        UserId::parse(&text).ok_or_else(|| D::Error::custom("not a user id"))
    }
}

object_id! {
    /// An audit event's id: the listing's page mark, in time order within a second.
    EventId
}

/// The 16 bytes of an id drawn here (22 base64url characters), for tables that keep many of
/// them; `None` for any other text. Only the canonical encoding decodes (the decoder refuses
/// stray trailing bits), so two different texts never share bytes.
pub fn drawn_bytes(id: &str) -> Option<[u8; 16]> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    if id.len() != 22 {
        return None;
    }
    let mut bytes = [0u8; 16];
    match URL_SAFE_NO_PAD.decode_slice(id, &mut bytes) {
        Ok(16) => Some(bytes),
        _ => None,
    }
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

drawn_id! {
    /// A browser session's public id: the `sid` of the id tokens issued in it (OpenID Connect
    /// Front-Channel Logout 1.0 §3), which RP-initiated logout names. The session's cookie
    /// token is another, secret, value.
    SessionId
}

/// A registered client's id (RFC 6749 §2.2): 1 to 64 of `A-Z a-z 0-9 - _ .`, chosen at
/// registration or drawn by the server. Derefs to `str`, as the protocol carries it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    /// A client id someone chose, checked against the rules.
    pub fn parse(text: &str) -> Result<ClientId> {
        let valid = !text.is_empty()
            && text.len() <= 64
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid {
            return Err(Error::invalid(
                "client_id",
                "must be 1 to 64 of A-Z a-z 0-9 - _ .",
            ));
        }
        // RFC 9700 §4.15: a client's tokens carry its id as `sub`, and a user's `sub` is 24
        // hex digits; an id of that form could pass for a user at a resource server.
        if UserId::parse(text).is_some() {
            return Err(Error::invalid(
                "client_id",
                "must not be 24 hex digits, the form of a user id",
            ));
        }
        Ok(ClientId(text.to_owned()))
    }

    /// The id of a client already registered: a stored record's, or the one the registrar
    /// found for an authorization request.
    pub fn registered(text: impl Into<String>) -> ClientId {
        ClientId(text.into())
    }

    /// A fresh id (22 base64url characters, which the rules allow).
    pub fn draw() -> Result<ClientId> {
        random_id().map(ClientId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for ClientId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// A token or request carries the id as text.
impl PartialEq<String> for ClientId {
    fn eq(&self, other: &String) -> bool {
        self.0 == *other
    }
}

impl PartialEq<&str> for ClientId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<ClientId> for String {
    fn eq(&self, other: &ClientId) -> bool {
        *self == other.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::{ClientId, UserId};

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

    #[test]
    fn client_ids_follow_the_rules() {
        for good in ["web-app", "a", "svc_1.prod", &"x".repeat(64)] {
            assert_eq!(ClientId::parse(good).unwrap().as_str(), good);
        }
        let user_like = UserId::new().to_hex();
        for bad in ["", "has space", "ünïcode", &"x".repeat(65), &user_like] {
            assert!(ClientId::parse(bad).is_err(), "{bad}");
        }
        assert!(ClientId::parse(&ClientId::draw().unwrap()).is_ok());
    }
}
