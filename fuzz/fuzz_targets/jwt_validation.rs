//! Fuzzes the access-token validation path every protected request goes through: header
//! parsing, key selection by `kid`, RS256 verification, claim checks and the revocation look-up.
//! Any input must be answered with a rejection, never a panic or a hang.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use portcullis::config::Config;
use portcullis::keys::{generate_key, KeyRing};
use portcullis::oauth::verify::TokenVerifier;
use portcullis::revocation::RevocationSet;

fn verifier() -> &'static TokenVerifier {
    static VERIFIER: OnceLock<TokenVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("portcullis-fuzz-keys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        generate_key(&dir, true).expect("a signing key for the fuzzer");
        let keys = KeyRing::load(&dir).expect("the fuzzer's key ring");
        TokenVerifier::new(&Config::default(), keys, RevocationSet::default())
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        assert!(verifier().verify(token).is_err(), "a random input verified");
    }
});
