//! The connection layer: Portcullis speaks HTTP/1.1 only, so HTTP/2's cheap streams (tens of
//! thousands per connection, none of them bounded by Rocket 0.5) cannot be opened at all.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{free_closed_port, test_config, unique_database, DatabaseGuard};

/// RFC 9113 §3.4: the client connection preface, then an empty SETTINGS frame.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

#[rocket::async_test]
async fn http2_with_prior_knowledge_is_not_spoken() {
    let database = unique_database();
    let _db = DatabaseGuard {
        name: database.clone(),
    };
    let port = free_closed_port();
    let mut config = test_config(&database);
    config.port = port;
    let store = portcullis::Store::from_config(&config).await.unwrap();
    let keys = portcullis::KeyRing::load(&config.keys_dir).unwrap();
    let rocket = portcullis::build_rocket(config, store, keys)
        .ignite()
        .await
        .unwrap();
    let shutdown = rocket.shutdown();
    let server = tokio::spawn(rocket.launch());

    let mut connection = None;
    for _ in 0..100 {
        if let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            connection = Some(stream);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut stream = connection.expect("the server listens");
    stream.write_all(H2_PREFACE).await.unwrap();
    let mut reply = vec![0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut reply))
        .await
        .expect("the server answers or closes")
        .unwrap_or(0);
    reply.truncate(read);
    shutdown.notify();
    let _ = server.await;

    // An HTTP/2 server's first frame would be its SETTINGS (RFC 9113 §3.4): type 0x4 at byte 3.
    let is_h2_settings = reply.len() >= 9 && reply[3] == 0x04;
    assert!(!is_h2_settings, "the server answered in HTTP/2: {reply:?}");
    assert!(
        reply.is_empty() || reply.starts_with(b"HTTP/1.1 "),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
}
