//! The token-verification recipes for APIs not written in Rust (`examples/recipes/`), run
//! against a live Portcullis with the libraries they name: PyJWT (Python) and jose (Node), both
//! pinned and installed by `scripts/test.sh`. Each must accept a good token, refuse a missing
//! scope or role with 403, a forged or non-access token with 401, and, with introspection, a
//! revoked one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{run_with_input, BinaryOnPort, Running};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One recipe as a command: `ISSUER TOKEN [options]` follows.
fn recipe(language: &str) -> Command {
    match language {
        "python" => {
            let python: PathBuf = root().join(".venv/bin/python");
            assert!(python.exists(), "scripts/test.sh installs PyJWT into .venv");
            let mut command = Command::new(python);
            command.arg(root().join("examples/recipes/python/portcullis_verify.py"));
            command
        }
        _ => {
            let jose = root().join("examples/recipes/node/node_modules/jose");
            assert!(
                jose.exists(),
                "scripts/test.sh installs jose for the Node recipe"
            );
            let mut command = Command::new("node");
            command.arg(root().join("examples/recipes/node/portcullis-verify.mjs"));
            command
        }
    }
}

/// What a recipe printed for one token.
fn outcome(language: &str, issuer: &str, token: &str, options: &[&str]) -> Value {
    let output = recipe(language)
        .arg(issuer)
        .arg(token)
        .args(options)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let printed: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "{language}: {stdout} {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(
        output.status.success(),
        printed["status"] == 200,
        "{language}: {printed}"
    );
    printed
}

#[rocket::async_test]
async fn python_and_node_apis_verify_tokens_as_the_recipes_show() {
    let binary = BinaryOnPort::new();
    let issuer = binary.issuer.clone();
    let command = |args: &[&str]| binary.command(args);
    let added = run_with_input(command(&["user", "add", "alice"]), "alice-password\n");
    assert!(added.status.success());
    let client = run_with_input(
        command(&[
            "client",
            "add",
            "--name",
            "First-party app",
            "--id",
            "app",
            "--grant-type",
            "password",
            "--scope",
            "profile,data:read",
            "--introspect",
        ]),
        "",
    );
    let secret = crate::cli::secret_of(&String::from_utf8(client.stdout).unwrap());
    let _server = Running(command(&["serve"]).spawn().unwrap());

    let http = reqwest::Client::new();
    let started = Instant::now();
    let token = loop {
        let answer = http
            .post(format!("{issuer}/oauth/token"))
            .basic_auth("app", Some(&secret))
            .form(&[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice-password"),
                ("scope", "profile data:read"),
            ])
            .send()
            .await;
        if let Ok(answer) = answer {
            let body: Value = answer.json().await.unwrap();
            break body["access_token"].as_str().unwrap().to_owned();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no server");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // One signature character changed, well inside the signature: the last character of a
    // base64url RS256 signature carries padding bits, and changing those forges nothing.
    let at = token.rfind('.').unwrap() + 10;
    let mut forged = token.clone();
    let changed = if &token[at..=at] == "A" { "B" } else { "A" };
    forged.replace_range(at..=at, changed);
    // Signed with Portcullis's own key, but typed as a plain JWT, not an access token.
    let plain = crate::jwt::shared_key_token(&issuer, "JWT", None);

    for language in ["python", "node"] {
        let good = outcome(language, &issuer, &token, &["--scope", "data:read"]);
        assert_eq!(good["status"], 200, "{language}: {good}");
        assert_eq!(good["scope"], "data:read profile", "{language}: {good}");
        assert_eq!(good["role"], "user", "{language}: {good}");
        let write = outcome(language, &issuer, &token, &["--scope", "data:write"]);
        assert_eq!(write["status"], 403, "{language}: {write}");
        assert_eq!(write["error"], "insufficient_scope");
        let admin = outcome(language, &issuer, &token, &["--role", "admin"]);
        assert_eq!(admin["status"], 403, "{language}: {admin}");
        for bad in [&forged, &plain] {
            let refused = outcome(language, &issuer, bad, &[]);
            assert_eq!(refused["status"], 401, "{language}: {refused}");
            assert_eq!(refused["error"], "invalid_token");
        }
        let active = outcome(language, &issuer, &token, &["--introspect", "app", &secret]);
        assert_eq!(active["status"], 200, "{language}: {active}");
    }

    // Revoked at Portcullis: the signature still verifies, introspection says no.
    let revoked = http
        .post(format!("{issuer}/oauth/revoke"))
        .basic_auth("app", Some(&secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 200);
    for language in ["python", "node"] {
        let still_signed = outcome(language, &issuer, &token, &[]);
        assert_eq!(still_signed["status"], 200, "{language}: {still_signed}");
        let refused = outcome(language, &issuer, &token, &["--introspect", "app", &secret]);
        assert_eq!(refused["status"], 401, "{language}: {refused}");
        assert_eq!(refused["why"], "the token has been revoked");
    }
}
