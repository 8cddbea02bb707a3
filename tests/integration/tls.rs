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
    let running = portcullis::server::start(config, store, keys)
        .await
        .unwrap();
    let shutdown = running.shutdown();

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
    // HTTP/2 is not offered: a client asking for it by ALPN is given HTTP/1.1.
    let alpn = format!("{port}");
    let chosen = tokio::task::spawn_blocking(move || negotiated_protocol(&alpn))
        .await
        .unwrap();
    assert_eq!(chosen.trim(), "http/1.1");
    shutdown.notify();
    let _ = running.stopped().await;
}

/// The protocol the server picks by ALPN when offered HTTP/2 first, with Python's ssl module.
fn negotiated_protocol(port: &str) -> String {
    let script = "import socket, ssl, sys\n\
        context = ssl.create_default_context()\n\
        context.check_hostname = False\n\
        context.verify_mode = ssl.CERT_NONE\n\
        context.set_alpn_protocols(['h2', 'http/1.1'])\n\
        with socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5) as raw:\n\
        \x20   with context.wrap_socket(raw) as tls:\n\
        \x20       print(tls.selected_alpn_protocol())";
    let output = Command::new("python3")
        .args(["-c", script, port])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
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

/// A self-signed certificate and its key, made by openssl.
fn certificate(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let (certs, key) = (
        dir.join(format!("{name}-cert.pem")),
        dir.join(format!("{name}-key.pem")),
    );
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&certs)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    (certs, key)
}

fn tls_config_error(certs: &std::path::Path, key: &std::path::Path) -> Option<String> {
    let toml = format!(
        "[tls]\ncerts = \"{}\"\nkey = \"{}\"",
        certs.display(),
        key.display()
    );
    let figment = portcullis::Config::defaults().merge(Toml::string(&toml));
    portcullis::Config::from_figment(figment)
        .err()
        .map(|e| e.to_string())
}

#[test]
fn broken_tls_material_is_refused_before_the_server_starts() {
    let dir = temp_dir();
    let (certs, key) = certificate(dir.path(), "a");
    let (_, other_key) = certificate(dir.path(), "b");
    assert_eq!(tls_config_error(&certs, &key), None, "a matching pair");

    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let error = tls_config_error(&empty, &key).expect("an empty certificate file");
    assert!(
        error.contains("tls.certs") && error.contains("CERTIFICATE"),
        "{error}"
    );
    let error = tls_config_error(&certs, &other_key).expect("another certificate's key");
    assert!(
        error.contains("tls.key") && error.contains("does not belong"),
        "{error}"
    );
    let error = tls_config_error(&certs, &certs).expect("a certificate as the key");
    assert!(error.contains("tls.key"), "{error}");

    // The binary says so in one line and never that it is listening.
    let database = unique_database();
    let _db = DatabaseGuard {
        name: database.clone(),
    };
    let keys = dir.path().join("keys");
    let output = crate::common::portcullis_command(&database, &keys, &["serve", "--dev"])
        .env("PORTCULLIS_PORT", free_closed_port().to_string())
        .env("PORTCULLIS_TLS__CERTS", &empty)
        .env("PORTCULLIS_TLS__KEY", &key)
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success(), "{printed}");
    assert!(!printed.contains("listening"), "{printed}");
    let lines: Vec<&str> = printed.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{printed}");
    assert!(lines[0].contains("tls.certs"), "{printed}");
}
