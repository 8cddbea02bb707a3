//! What a person may tell about themselves: the OpenID Connect standard claims an account holds
//! (OIDC Core §5.1), checked once here for registration, the command line, the admin API and the
//! account's own profile.

use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use super::Actor;
use crate::error::{Error, Result};
use crate::store::{AuditEvent, AuditKind, Store, UserChange, UserDoc, UserProfile};

/// Longest name, given name or family name kept.
const MAX_NAME_CHARS: usize = 200;
/// RFC 5321 §4.5.3.1.3: a path holds at most 256 octets, so an address at most 254.
const MAX_EMAIL_LEN: usize = 254;

/// A change to a profile. Each member is `None` to leave the field as it is, `Some(None)` (or
/// an empty text) to clear it, and `Some(Some(value))` to set it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileChange {
    #[serde(default, deserialize_with = "present")]
    pub email: Option<Option<String>>,
    /// Only an administrator may say an address was verified; the account's own change has
    /// no such member.
    #[serde(default)]
    pub email_verified: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub family_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub locale: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub zoneinfo: Option<Option<String>>,
}

/// Tells a member sent as `null` (clear it) from one left out (keep it).
fn present<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl ProfileChange {
    pub fn is_empty(&self) -> bool {
        self.members().iter().all(|(_, given)| !given)
    }

    /// `current` with this change made, every field checked. A new address is unverified
    /// unless the change says otherwise.
    pub fn applied_to(&self, current: &UserProfile) -> Result<UserProfile> {
        let mut profile = current.clone();
        if let Some(email) = &self.email {
            let email = checked(email, "email", check_email)?;
            if email != profile.email {
                profile.email_verified = false;
            }
            profile.email = email;
        }
        if let Some(verified) = self.email_verified {
            if verified && profile.email.is_none() {
                return Err(Error::invalid(
                    "email_verified",
                    "cannot be true without an email address",
                ));
            }
            profile.email_verified = verified;
        }
        set(&mut profile.name, &self.name, "name", check_name)?;
        set(
            &mut profile.given_name,
            &self.given_name,
            "given_name",
            check_name,
        )?;
        set(
            &mut profile.family_name,
            &self.family_name,
            "family_name",
            check_name,
        )?;
        set(&mut profile.locale, &self.locale, "locale", check_locale)?;
        set(
            &mut profile.zoneinfo,
            &self.zoneinfo,
            "zoneinfo",
            check_zoneinfo,
        )?;
        Ok(profile)
    }

    /// Each member's name and whether the change gives it.
    fn members(&self) -> [(&'static str, bool); 7] {
        [
            ("email", self.email.is_some()),
            ("email_verified", self.email_verified.is_some()),
            ("name", self.name.is_some()),
            ("given_name", self.given_name.is_some()),
            ("family_name", self.family_name.is_some()),
            ("locale", self.locale.is_some()),
            ("zoneinfo", self.zoneinfo.is_some()),
        ]
    }

    /// The fields it changes, as the audit trail names them (never the values).
    fn fields(&self) -> String {
        let named: Vec<&str> = self
            .members()
            .iter()
            .filter(|(_, given)| *given)
            .map(|(name, _)| *name)
            .collect();
        named.join(",")
    }
}

type Check = fn(&str) -> std::result::Result<String, String>;

fn set(
    field: &mut Option<String>,
    change: &Option<Option<String>>,
    name: &'static str,
    check: Check,
) -> Result<()> {
    if let Some(value) = change {
        *field = checked(value, name, check)?;
    }
    Ok(())
}

/// The value as stored: trimmed, `None` when empty, else what `check` makes of it.
fn checked(value: &Option<String>, name: &'static str, check: Check) -> Result<Option<String>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => check(value)
            .map(Some)
            .map_err(|reason| Error::invalid(name, reason)),
    }
}

/// An RFC 5322 `addr-spec` with a domain, as typed (its case is kept; the unique index
/// compares it case-folded).
fn check_email(value: &str) -> std::result::Result<String, String> {
    if value.len() > MAX_EMAIL_LEN {
        return Err(format!("is longer than {MAX_EMAIL_LEN} bytes"));
    }
    let address = email_address::EmailAddress::from_str(value)
        .map_err(|e| format!("is not an email address ({e})"))?;
    if address.display_part() != "" || address.email() != value {
        return Err("must be a bare address, without a display name".into());
    }
    Ok(value.to_owned())
}

fn check_name(value: &str) -> std::result::Result<String, String> {
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(format!("is longer than {MAX_NAME_CHARS} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("contains a control character".into());
    }
    Ok(value.to_owned())
}

/// An RFC 5646 language tag. OIDC Core §5.1 lets relying parties accept `en_US` for `en-US`;
/// Portcullis accepts it and stores the standard form.
fn check_locale(value: &str) -> std::result::Result<String, String> {
    let tag = language_tags::LanguageTag::parse(&value.replace('_', "-"))
        .map_err(|e| format!("is not a language tag such as en-US ({e})"))?;
    tag.validate()
        .map_err(|e| format!("is not a valid language tag ({e})"))?;
    Ok(tag.to_string())
}

/// An IANA time zone database name such as `Europe/Paris`: its syntax (the database's own
/// rules: parts of letters, digits, `_`, `-` and `+`, at most 14 characters each, starting with
/// a letter), not its membership, which changes with each release of the database.
fn check_zoneinfo(value: &str) -> std::result::Result<String, String> {
    let well_formed = value.len() <= 64
        && value.split('/').all(|part| {
            (1..=14).contains(&part.len())
                && part.starts_with(|c: char| c.is_ascii_alphabetic())
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))
        });
    if well_formed {
        Ok(value.to_owned())
    } else {
        Err("is not a time zone name such as Europe/Paris".into())
    }
}

/// Makes `change` to the account's profile and records which fields changed. Fails with
/// `Conflict` when another account holds the email address (compared case-insensitively).
pub async fn change_profile(
    store: &Store,
    actor: &Actor,
    user: &UserDoc,
    change: &ProfileChange,
) -> Result<UserDoc> {
    if change.is_empty() {
        return Err(Error::invalid("profile", "is an empty change"));
    }
    let profile = change.applied_to(&user.profile)?;
    let updated = store
        .update_user(&user.username_key, UserChange::Profile(&profile))
        .await?;
    let mut event = AuditEvent::new(AuditKind::UserUpdated);
    event.user_id = Some(user.id.to_hex());
    event.username = Some(user.username.clone());
    event.reason = Some(format!("profile: {}", change.fields()));
    store.audit(actor.stamp(event)).await?;
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(email: &str) -> ProfileChange {
        ProfileChange {
            email: Some(Some(email.to_owned())),
            ..ProfileChange::default()
        }
    }

    #[test]
    fn addresses_are_checked_and_new_ones_are_unverified() {
        let verified = UserProfile {
            email: Some("ann@example.org".into()),
            email_verified: true,
            ..UserProfile::default()
        };
        let same = change("ann@example.org").applied_to(&verified).unwrap();
        assert!(same.email_verified);
        let moved = change(" Ann@Example.net ").applied_to(&verified).unwrap();
        assert_eq!(moved.email.as_deref(), Some("Ann@Example.net"));
        assert!(!moved.email_verified);
        assert_eq!(moved.email_key().as_deref(), Some("ann@example.net"));
        for bad in [
            "ann",
            "ann@",
            "@example.org",
            "Ann <ann@example.org>",
            "a b@example.org",
        ] {
            assert!(change(bad).applied_to(&verified).is_err(), "{bad}");
        }
        let cleared = change("").applied_to(&verified).unwrap();
        assert_eq!((cleared.email, cleared.email_verified), (None, false));
    }

    #[test]
    fn locales_and_zones_are_checked() {
        let mut change = ProfileChange {
            locale: Some(Some("fr_CA".into())),
            zoneinfo: Some(Some("America/Argentina/Buenos_Aires".into())),
            ..ProfileChange::default()
        };
        let profile = change.applied_to(&UserProfile::default()).unwrap();
        assert_eq!(profile.locale.as_deref(), Some("fr-CA"));
        change.locale = Some(Some("not a locale".into()));
        assert!(change.applied_to(&UserProfile::default()).is_err());
        change.locale = None;
        for bad in ["Europe/", "../etc/passwd", "Europe/Par is", "1Zone"] {
            change.zoneinfo = Some(Some(bad.into()));
            assert!(
                change.applied_to(&UserProfile::default()).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn verification_needs_an_address_and_null_clears() {
        let change: ProfileChange =
            serde_json::from_str(r#"{"email_verified": true, "name": null}"#).unwrap();
        assert!(change.applied_to(&UserProfile::default()).is_err());
        let named = UserProfile {
            name: Some("Ann".into()),
            email: Some("ann@example.org".into()),
            ..UserProfile::default()
        };
        let profile = change.applied_to(&named).unwrap();
        assert_eq!((profile.name, profile.email_verified), (None, true));
        assert!(serde_json::from_str::<ProfileChange>(r#"{"role": "admin"}"#).is_err());
    }
}
