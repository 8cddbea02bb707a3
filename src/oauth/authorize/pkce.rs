//! PKCE (RFC 7636) through oxide-auth's `Pkce`: `S256` only (`plain` is refused), required
//! for public clients and, by default, for every client; a verifier for a code issued without
//! a challenge is refused.

use oxide_auth::code_grant::authorization::Request;
use oxide_auth::code_grant::extensions::Pkce;
use oxide_auth::primitives::grant::{Extensions, Value};

use crate::store::{ClientKind, Store};

/// The PKCE rule for a client.
pub fn pkce_for(kind: Option<ClientKind>, require_all: bool) -> Pkce {
    if require_all || kind != Some(ClientKind::Confidential) {
        Pkce::required()
    } else {
        Pkce::optional()
    }
}

/// RFC 7636 §4.1/§4.2: 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`
/// (an S256 challenge is 43 such characters too).
fn well_formed(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks a `code_verifier` against the challenge stored with the code.
pub fn verify_pkce(pkce: &Pkce, stored: Option<&str>, verifier: Option<&str>) -> bool {
    if verifier.is_some_and(|v| !well_formed(v)) {
        return false;
    }
    // RFC 9700 §4.8.2: a verifier for a code issued without a challenge is refused, or an
    // attacker could inject a code obtained without PKCE into a session that uses it (a PKCE
    // downgrade). oxide-auth's optional `Pkce` would ignore the verifier.
    if stored.is_none() && verifier.is_some() {
        return false;
    }
    let stored = stored.map(|s| Value::private(Some(s.to_owned())));
    pkce.verify(stored, verifier.map(Into::into)).is_ok()
}

/// The authorization request's PKCE parameters, checked, as the grant keeps them: a client
/// that must use PKCE and sends no challenge, a `plain` one or a malformed one is refused.
pub async fn challenge(
    store: &Store,
    require_all: bool,
    request: &(dyn Request + Sync),
) -> Result<Extensions, ()> {
    let kind = match request.client_id() {
        Some(id) => store
            .find_client(&id)
            .await
            .map_err(|_| ())?
            .map(|client| client.kind),
        None => None,
    };
    let pkce = pkce_for(kind, require_all);
    let challenge = request.extension("code_challenge");
    if challenge.as_deref().is_some_and(|c| !well_formed(c)) {
        return Err(());
    }
    let mut extensions = Extensions::new();
    if let Some(value) = pkce.challenge(request.extension("code_challenge_method"), challenge)? {
        extensions.set(&pkce, value);
    }
    Ok(extensions)
}
