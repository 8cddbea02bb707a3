//! The crypto floors the benchmark compares each grant with: how many RS256 access tokens
//! (Portcullis's own signing path: claims to JSON, base64url, one RSA-2048 signature through
//! ring) and how many Argon2id verifications (the default cost, each thread with memory of
//! its own, as the server's pool does) this machine does per second, on one core and on all
//! of them at once. Prints one JSON line; bench/run.sh hands it to bench/report.py.
//!
//! `cargo run --release --example floors -- --keys keys/ --seconds 3`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use portcullis::config::Argon2Config;
use portcullis::keys::KeyRing;
use portcullis::oauth::claims::AccessClaims;

/// An access token as the grants sign it: a user's, with a role and a family.
fn sample_claims() -> AccessClaims {
    AccessClaims {
        iss: "http://127.0.0.1:8000".into(),
        sub: "6750f0c2a1b2c3d4e5f60718".into(),
        aud: vec!["portcullis".into()],
        exp: 1_800_000_900,
        iat: 1_800_000_000,
        nbf: 1_800_000_000,
        jti: "AAAAAAAAAAAAAAAAAAAAAA".into(),
        client_id: "bench".into(),
        scope: "profile data:read data:write admin".into(),
        role: Some("admin".into()),
        username: Some("bench".into()),
        sid: Some("BBBBBBBBBBBBBBBBBBBBBB".into()),
    }
}

/// Operations per second of `work` run back to back on `threads` threads for `seconds`.
fn rate(threads: usize, seconds: f64, work: impl Fn() + Sync) -> f64 {
    let deadline = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let done: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut count = 0usize;
                    while started.elapsed() < deadline {
                        work();
                        count += 1;
                    }
                    count
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    done as f64 / started.elapsed().as_secs_f64()
}

fn argon2_verification() -> impl Fn() + Sync {
    let config = Argon2Config::default();
    let params = Params::new(
        config.memory_kib,
        config.iterations,
        config.parallelism,
        None,
    )
    .expect("the default Argon2 parameters are valid");
    let blocks = params.block_count();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    move || {
        thread_local! {
            static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        MEMORY.with(|memory| {
            let mut memory = memory.borrow_mut();
            memory.resize(blocks, Block::default());
            let mut out = [0u8; 32];
            argon2
                .hash_password_into_with_memory(
                    b"correct horse",
                    b"sixteen byte salt",
                    &mut out,
                    &mut memory[..],
                )
                .expect("Argon2 runs");
        });
    }
}

fn main() {
    let mut keys = PathBuf::from("keys");
    let mut seconds = 3.0_f64;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--keys" => keys = PathBuf::from(value),
            "--seconds" => seconds = value.parse().expect("--seconds takes a number"),
            other => panic!("unknown flag {other}"),
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let ring = KeyRing::load(&keys).expect("a keys folder with an active key");
    let claims = sample_claims();
    let sign = || {
        ring.sign(&claims).expect("signing works");
    };
    let argon2 = argon2_verification();
    let line = serde_json::json!({
        "cores": cores,
        "rsa_sign_per_s_one_core": rate(1, seconds, sign),
        "rsa_sign_per_s_all_cores": rate(cores, seconds, sign),
        "argon2_per_s_one_core": rate(1, seconds, &argon2),
        "argon2_per_s_all_cores": rate(cores, seconds, &argon2),
    });
    println!("{line}");
}
