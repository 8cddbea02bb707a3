//! Usernames in the forms Portcullis keeps them: normalised for display, case-folded for
//! uniqueness, and reduced to a confusable skeleton so names that look alike cannot both exist.

use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// Longest username accepted, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;

/// A username in the forms Portcullis keeps: as shown, as compared, and as it looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username {
    pub display: String,
    pub key: String,
    /// The UTS #39 skeleton of `key`: names that look alike share it.
    pub skeleton: String,
}

/// The UTS #39 §4 confusable skeleton of a case-folded name.
pub fn username_skeleton(key: &str) -> String {
    unicode_security::skeleton(key)
        .collect::<String>()
        .to_lowercase()
}

/// Normalises a username (NFKC, so look-alike compositions are one name) and derives the
/// case-insensitive key that uniqueness is checked on.
pub fn parse_username(raw: &str) -> Result<Username> {
    if raw.len() > 4 * MAX_USERNAME_CHARS {
        return Err(Error::invalid("username", "must be at most 64 characters"));
    }
    let display: String = raw.nfkc().collect();
    let count = display.chars().count();
    if count == 0 || count > MAX_USERNAME_CHARS {
        return Err(Error::invalid("username", "must be 1 to 64 characters"));
    }
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+');
    if !display.chars().all(allowed) {
        return Err(Error::invalid(
            "username",
            "may contain only letters, digits and . _ - @ +",
        ));
    }
    let key: String = display.to_lowercase().nfkc().collect();
    let skeleton = username_skeleton(&key);
    Ok(Username {
        display,
        key,
        skeleton,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_case_folded() {
        let a = parse_username("Alice").unwrap();
        assert_eq!((a.display.as_str(), a.key.as_str()), ("Alice", "alice"));
        // Fullwidth letters are NFKC-equivalent to ASCII ones.
        assert_eq!(parse_username("\u{ff21}lice").unwrap().key, "alice");
        // Look-alikes from other scripts share a skeleton: Cyrillic о, digit 0 vs letter O.
        let root = parse_username("root").unwrap();
        assert_eq!(
            parse_username("r\u{43e}\u{43e}t").unwrap().skeleton,
            root.skeleton
        );
        assert_ne!(parse_username("r\u{43e}\u{43e}t").unwrap().key, root.key);
        assert_eq!(
            parse_username("Paypa1").unwrap().skeleton,
            parse_username("paypal").unwrap().skeleton
        );
        assert_ne!(parse_username("bob").unwrap().skeleton, root.skeleton);
        for bad in ["", "a b", "a/b", "a\u{0}", &"x".repeat(65)] {
            assert!(parse_username(bad).is_err(), "{bad:?}");
        }
    }
}
