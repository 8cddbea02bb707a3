//! The development run (`serve --dev`) as a newcomer meets it: the first start prints the demo
//! credentials and how to get new ones; a later start says the demo data exists and how to
//! recover its credentials, and the commands it names work as printed.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{
    free_closed_port, portcullis_command, temp_dir, unique_database, DatabaseGuard, Running,
};

/// Starts `serve --dev` and collects its standard output until `last` appears.
fn start(database: &str, keys: &std::path::Path, port: u16, last: &str) -> (Running, String) {
    let mut child = portcullis_command(database, keys, &["serve", "--dev"])
        .env("PORTCULLIS_PORT", port.to_string())
        .env("PORTCULLIS_ISSUER", format!("http://127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let (lines, printed) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let mut text = String::new();
    while !text.contains(last) {
        let line = printed
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no {last:?} in {text}"));
        text.push_str(&line);
        text.push('\n');
    }
    (running, text)
}

async fn token_status(port: u16, client: &str, secret: &str) -> u16 {
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(answer) = http
            .post(format!("http://127.0.0.1:{port}/oauth/token"))
            .basic_auth(client, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
        {
            return answer.status().as_u16();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server never answered");
}

#[rocket::async_test]
async fn a_later_start_says_how_to_get_the_demo_credentials_back() {
    let database = unique_database();
    let _db = DatabaseGuard {
        name: database.clone(),
    };
    let keys = temp_dir();
    let port = free_closed_port();
    let (first, printed) = start(&database, keys.path(), port, "rotate-secret demo-client");
    assert!(printed.contains("Demo data created"), "{printed}");
    let secret = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("client_secret:"))
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(token_status(port, "demo-client", &secret).await, 200);
    drop(first);

    let port = free_closed_port();
    let (_second, printed) = start(&database, keys.path(), port, "rotate-secret demo-client");
    assert!(printed.contains("Demo data exists"), "{printed}");
    assert!(!printed.contains(&secret), "{printed}");
    let hint = printed
        .lines()
        .find(|l| l.contains("client rotate-secret"))
        .unwrap()
        .trim();
    // The command as printed, run the way ./scripts/portcullis runs it.
    let args: Vec<&str> = hint
        .strip_prefix("./scripts/portcullis ")
        .unwrap_or_else(|| panic!("{hint}"))
        .split_whitespace()
        .collect();
    let output = portcullis_command(&database, keys.path(), &args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let new_secret = crate::cli::secret_of(&String::from_utf8(output.stdout).unwrap());
    assert_eq!(token_status(port, "demo-client", &new_secret).await, 200);
    assert_eq!(token_status(port, "demo-client", &secret).await, 401);
}
