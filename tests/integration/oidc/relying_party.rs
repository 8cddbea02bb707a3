//! A relying party we did not write: openid-client (Node, pinned in `tests/relying-party/`,
//! installed by `scripts/test.sh`) against the real binary. Discovery, the code flow with PKCE
//! and a nonce (and the RFC 9207 `iss` check), UserInfo, refresh, `prompt=none` signed in and
//! signed out, `max_age=0`, the form-post response mode and RP-initiated logout, each checked
//! by the library's own rules (`tests/relying-party/rp.mjs`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{run_with_input, BinaryOnPort, Running};

const CALLBACK: &str = "http://127.0.0.1:9/callback";
const SIGNED_OUT: &str = "http://127.0.0.1:9/signed-out";

#[rocket::async_test]
async fn openid_client_completes_every_flow() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/relying-party");
    assert!(
        folder.join("node_modules/openid-client").exists(),
        "scripts/test.sh installs openid-client into tests/relying-party"
    );
    let binary = BinaryOnPort::new();
    let issuer = binary.issuer.clone();
    let command = |args: &[&str]| binary.command(args);
    let added = run_with_input(
        command(&["user", "add", "alice", "--email", "alice@example.org"]),
        "alice-password\n",
    );
    assert!(added.status.success(), "{added:?}");
    let client = run_with_input(
        command(&[
            "client",
            "add",
            "--name",
            "Node app",
            "--id",
            "node-rp",
            "--grant-type",
            "authorization_code,refresh_token",
            "--scope",
            "openid,profile,email",
            "--redirect-uri",
            CALLBACK,
            "--post-logout-redirect-uri",
            SIGNED_OUT,
        ]),
        "",
    );
    assert!(client.status.success(), "{client:?}");
    let secret = crate::cli::secret_of(&String::from_utf8(client.stdout).unwrap());
    let _server = Running(command(&["serve"]).spawn().unwrap());
    let started = Instant::now();
    while reqwest::get(format!("{issuer}/healthz")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "no server");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let output = Command::new("node")
        .current_dir(&folder)
        .args(["rp.mjs", &issuer, "node-rp", &secret, CALLBACK, SIGNED_OUT])
        .args(["alice", "alice-password"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "openid-client refused: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.trim()).unwrap();

    assert_eq!(seen["issuer"], issuer);
    assert_eq!(
        seen["end_session_endpoint"],
        format!("{issuer}/oauth/end_session")
    );
    let code = &seen["code"];
    assert_eq!(code["aud"], "node-rp");
    assert_eq!(code["nonce_matches"], true);
    assert_eq!(code["amr"], serde_json::json!(["pwd"]));
    assert_eq!(code["email"], "alice@example.org");
    assert_eq!(code["pages"], 2, "sign-in and consent");
    let sub = code["sub"].as_str().unwrap();
    assert_eq!(seen["userinfo"]["sub"], sub);
    assert_eq!(seen["userinfo"]["email"], "alice@example.org");
    assert_eq!(seen["userinfo"]["preferred_username"], "alice");
    assert_eq!(seen["refresh"]["sub"], sub);
    assert_eq!(seen["refresh"]["auth_time"], code["auth_time"]);
    assert_eq!(seen["refresh"]["nonce"], Value::Null);
    assert_eq!(seen["prompt_none_signed_in"]["pages"], 0);
    assert_eq!(seen["prompt_none_signed_in"]["sub"], sub);
    assert_eq!(seen["max_age_0"]["signed_in_again"], true);
    assert_eq!(seen["max_age_0"]["pages"], 1, "the sign-in page, again");
    assert_eq!(seen["form_post"]["sub"], sub);
    assert_eq!(seen["form_post"]["pages"], 1, "the page that posts itself");
    assert_eq!(seen["logout"]["status"], 303);
    assert_eq!(
        seen["logout"]["location"],
        format!("{SIGNED_OUT}?state=bye")
    );
    assert_eq!(seen["prompt_none_signed_out"], "login_required");
    assert_eq!(seen["refresh_after_logout"], "invalid_grant");
}
