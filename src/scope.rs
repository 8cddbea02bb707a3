//! Scope sets (RFC 6749 §3.3): parsing, validation and set algebra. What a token may carry
//! is decided in `oauth::scope`.

use std::collections::BTreeSet;
use std::fmt;

/// Longest scope parameter accepted, so hostile input cannot make us allocate much.
pub const MAX_SCOPE_LEN: usize = 1024;

/// A set of scope tokens, kept sorted so tokens and stored records print them identically.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope(BTreeSet<String>);

/// Why a scope string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidScope;

impl Scope {
    /// Parses a space-delimited scope string. RFC 6749 §3.3:
    /// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, tokens separated by one space.
    pub fn parse(value: &str) -> Result<Scope, InvalidScope> {
        if value.len() > MAX_SCOPE_LEN {
            return Err(InvalidScope);
        }
        let mut tokens = BTreeSet::new();
        for token in value.split(' ') {
            let valid = !token.is_empty()
                && token
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid {
                return Err(InvalidScope);
            }
            tokens.insert(token.to_owned());
        }
        Ok(Scope(tokens))
    }

    /// Builds a set from tokens already known to be valid (configuration, stored records).
    pub fn from_tokens(tokens: impl IntoIterator<Item = String>) -> Scope {
        Scope(tokens.into_iter().collect())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    pub fn is_subset(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn intersection(&self, other: &Scope) -> Scope {
        Scope(self.0.intersection(&other.0).cloned().collect())
    }

    pub fn union(&self, other: &Scope) -> Scope {
        Scope(self.0.union(&other.0).cloned().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.0.iter().cloned().collect()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for token in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_sorted() {
        let scope = Scope::parse("data:read profile data:read").unwrap();
        assert_eq!(scope.to_string(), "data:read profile");
        assert_eq!(scope.len(), 2);
    }

    #[test]
    fn refuses_rfc_6749_forbidden_characters() {
        for bad in [
            "",
            " ",
            "a  b",
            "a\"b",
            "a\\b",
            "caf\u{e9}",
            "a\tb",
            "a ",
            " a",
        ] {
            assert_eq!(Scope::parse(bad), Err(InvalidScope), "{bad:?}");
        }
        assert_eq!(
            Scope::parse(&"a".repeat(MAX_SCOPE_LEN + 1)),
            Err(InvalidScope)
        );
    }

    proptest::proptest! {
        #[test]
        fn valid_scopes_round_trip(tokens in proptest::collection::btree_set("[!#-\\[\\]-~]{1,10}", 1..6)) {
            let text = tokens.iter().cloned().collect::<Vec<_>>().join(" ");
            let scope = Scope::parse(&text).unwrap();
            proptest::prop_assert_eq!(scope.to_string(), text);
        }

        #[test]
        fn parsed_scopes_only_hold_rfc_6749_characters(text in ".{0,80}") {
            if let Ok(scope) = Scope::parse(&text) {
                for token in scope.iter() {
                    proptest::prop_assert!(!token.is_empty());
                    proptest::prop_assert!(token.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)));
                }
            }
        }
    }

    #[test]
    fn set_algebra() {
        let a = Scope::parse("a b c").unwrap();
        let b = Scope::parse("b c d").unwrap();
        assert_eq!(a.intersection(&b).to_string(), "b c");
        assert!(Scope::parse("b").unwrap().is_subset(&a));
        assert!(!b.is_subset(&a));
    }
}
