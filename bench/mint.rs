//! Signs many distinct access tokens with the server's active key, as its password grant would
//! (a user's, with a role and a refresh-token family), one per line into a file: the
//! benchmark's "many live tokens" scenarios present them to `/api/me` and introspection.
//! Minting them through the token endpoint would cost the same signatures and take longer.
//!
//! `cargo run --release --example mint -- --keys DIR --issuer URL --count 1000000 --out FILE`

use std::io::Write;
use std::path::PathBuf;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis::keys::KeyRing;
use portcullis::oauth::claims::{unix_now, AccessClaims};

fn main() {
    let mut keys = PathBuf::from("keys");
    let mut issuer = String::from("http://127.0.0.1:8000");
    let mut count = 1000_usize;
    let mut out = PathBuf::from("tokens.txt");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--keys" => keys = PathBuf::from(value),
            "--issuer" => issuer = value,
            "--count" => count = value.parse().expect("--count takes a number"),
            "--out" => out = PathBuf::from(value),
            other => panic!("unknown flag {other}"),
        }
    }
    let keyring = KeyRing::load(&keys).expect("a keys folder with an active key");
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let now = unix_now();
    let draw = |bytes: &mut [u8; 16]| {
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), bytes)
            .expect("random bytes");
        URL_SAFE_NO_PAD.encode(*bytes)
    };
    let parts: Vec<Vec<String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|part| {
                let (keyring, issuer, draw) = (&keyring, &issuer, &draw);
                scope.spawn(move || {
                    let mine = count / threads + usize::from(part < count % threads);
                    let mut bytes = [0u8; 16];
                    (0..mine)
                        .map(|_| {
                            let claims = AccessClaims {
                                iss: issuer.clone(),
                                sub: "6750f0c2a1b2c3d4e5f60718".into(),
                                aud: vec!["portcullis-api".into()],
                                exp: now + 3600,
                                iat: now,
                                nbf: now,
                                jti: draw(&mut bytes),
                                client_id: "bench".into(),
                                scope: "profile data:read".into(),
                                role: Some("admin".into()),
                                username: Some("bench".into()),
                                sid: Some(draw(&mut bytes)),
                            };
                            keyring.sign(&claims).expect("signing works")
                        })
                        .collect()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a minting thread"))
            .collect()
    });
    let mut file = std::io::BufWriter::new(std::fs::File::create(&out).expect("the output file"));
    for token in parts.iter().flatten() {
        writeln!(file, "{token}").expect("writing a token");
    }
    file.flush().expect("writing the tokens");
}
