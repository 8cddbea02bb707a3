//! Built-in TLS: with `tls.certs` and `tls.key` set, the server speaks HTTPS (and only HTTPS)
//! on its port; an unreadable file is refused at start, naming the key.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use portcullis::config::TlsFiles;
use rocket::figment::providers::{Format, Toml};

use crate::common::{free_closed_port, temp_dir, test_config, unique_database, DatabaseGuard};

/// Fetches a URL with Python's standard library, accepting the self-signed certificate.
fn fetch(url: &str) -> Result<String, String> {
    let script = "import ssl, sys, urllib.request\n\
        context = ssl.create_default_context()\n\
        context.check_hostname = False\n\
        context.verify_mode = ssl.CERT_NONE\n\
        print(urllib.request.urlopen(sys.argv[1], context=context, timeout=5).read().decode())";
    let output = Command::new("python3")
        .args(["-c", script, url])
        .output()
        .unwrap();
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[rocket::async_test]
async fn the_server_can_terminate_tls_itself() {
    let dir = temp_dir();
    let (certs, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&certs)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

    let database = unique_database();
    let _db = DatabaseGuard {
        name: database.clone(),
    };
    let port = free_closed_port();
    let mut config = test_config(&database);
    config.port = port;
    config.issuer = format!("https://127.0.0.1:{port}");
    config.tls = Some(TlsFiles { certs, key });
    let store = portcullis::Store::from_config(&config).await.unwrap();
    let keys = portcullis::KeyRing::load(&config.keys_dir).unwrap();
    let rocket = portcullis::build_rocket(config, store, keys)
        .ignite()
        .await
        .unwrap();
    let shutdown = rocket.shutdown();
    let server = tokio::spawn(rocket.launch());

    let started = Instant::now();
    let body = loop {
        let url = format!("https://127.0.0.1:{port}/healthz");
        match tokio::task::spawn_blocking(move || fetch(&url))
            .await
            .unwrap()
        {
            Ok(body) => break body,
            Err(error) => {
                assert!(started.elapsed() < Duration::from_secs(20), "{error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert!(body.contains("\"ok\""), "{body}");
    let plain = format!("http://127.0.0.1:{port}/healthz");
    assert!(tokio::task::spawn_blocking(move || fetch(&plain))
        .await
        .unwrap()
        .is_err());
    shutdown.notify();
    let _ = server.await;
}

#[test]
fn missing_tls_files_are_refused_by_name() {
    let figment = portcullis::Config::defaults().merge(Toml::string(
        "[tls]\ncerts = \"/nonexistent/cert.pem\"\nkey = \"/nonexistent/key.pem\"",
    ));
    let error = portcullis::Config::from_figment(figment)
        .unwrap_err()
        .to_string();
    assert!(error.contains("tls.certs"), "{error}");
}
