//! The connection layer, attacked as a client on the network would, against the real binary
//! (so its memory is its own): HTTP/1.1 only, so HTTP/2's cheap streams cannot be opened;
//! headers and bodies trickled a byte at a time are cut off at their deadlines; idle
//! connections close; open connections are capped, globally and per address, with a clean
//! 503 past the cap. Meanwhile another client, on another loopback address, is still served.
//! Each attack is bounded to a few hundred connections and a few seconds.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::common::{
    free_closed_port, portcullis_command, shared_keys_dir, unique_database, DatabaseGuard, Running,
};

/// RFC 9113 §3.4: the client connection preface, then an empty SETTINGS frame.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
/// The attacker's address; the bystander connects from another one on the loopback network.
const ATTACKER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const BYSTANDER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// The server binary on its own database, with the listed `PORTCULLIS_*` settings.
struct Server {
    process: Running,
    port: u16,
    _database: DatabaseGuard,
}

impl Server {
    async fn start(settings: &[(&str, &str)]) -> Server {
        let database = unique_database();
        let port = free_closed_port();
        let mut command = portcullis_command(&database, shared_keys_dir(), &["serve"]);
        command
            .env("PORTCULLIS_PORT", port.to_string())
            .env("PORTCULLIS_ISSUER", format!("http://127.0.0.1:{port}"))
            .env("PORTCULLIS_LOG", "error")
            .stdout(std::process::Stdio::null());
        for (key, value) in settings {
            command.env(format!("PORTCULLIS_{key}"), value);
        }
        let server = Server {
            process: Running(command.spawn().unwrap()),
            port,
            _database: DatabaseGuard { name: database },
        };
        let started = Instant::now();
        while server.health(BYSTANDER).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    async fn connect(&self, from: Ipv4Addr) -> std::io::Result<TcpStream> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(IpAddr::V4(from), 0))?;
        socket
            .connect(SocketAddr::new(IpAddr::V4(ATTACKER), self.port))
            .await
    }

    /// One `GET /healthz` on a fresh connection from `from`: how long the answer took.
    async fn health(&self, from: Ipv4Addr) -> Result<Duration, String> {
        let started = Instant::now();
        let mut stream = self.connect(from).await.map_err(|e| e.to_string())?;
        let reply = exchange(
            &mut stream,
            b"GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        )
        .await;
        if reply.starts_with("HTTP/1.1 200") {
            Ok(started.elapsed())
        } else {
            Err(reply)
        }
    }

    /// The server's resident memory, in KiB.
    fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.process.0.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

/// Writes `request` and reads until the server closes or 5 s pass.
async fn exchange(stream: &mut TcpStream, request: &[u8]) -> String {
    let _ = stream.write_all(request).await;
    read_until_closed(stream, Duration::from_secs(5)).await.0
}

/// Everything the server sends until it closes (or `limit` passes), and whether it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut reply = Vec::new();
    let closed = tokio::time::timeout(limit, async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => reply.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await
    .is_ok();
    (String::from_utf8_lossy(&reply).into_owned(), closed)
}

/// Sends `start`, then one more byte every 300 ms until the server closes the connection (or
/// 10 s pass): what the server answered, and when it closed.
async fn trickle(stream: TcpStream, start: &'static [u8]) -> (String, Duration) {
    let started = Instant::now();
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        let _ = write.write_all(start).await;
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if write.write_all(b"a").await.is_err() {
                return;
            }
        }
    });
    let mut reply = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), read.read_to_end(&mut reply)).await;
    writer.abort();
    assert!(closed.is_ok(), "the connection stayed open");
    (
        String::from_utf8_lossy(&reply).into_owned(),
        started.elapsed(),
    )
}

/// The bystander's `/healthz` latencies while `attack` runs: all must be answered.
async fn bystander_during<F: std::future::Future>(
    server: &Server,
    attack: F,
) -> (F::Output, Duration) {
    let done = std::sync::atomic::AtomicBool::new(false);
    let watch = async {
        let mut worst = Duration::ZERO;
        loop {
            let took = server
                .health(BYSTANDER)
                .await
                .expect("the bystander is served");
            worst = worst.max(took);
            if done.load(std::sync::atomic::Ordering::Relaxed) {
                return worst;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let attack = async {
        let output = attack.await;
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        output
    };
    tokio::join!(attack, watch)
}

#[rocket::async_test]
async fn a_flood_of_http2_frames_on_one_connection_is_refused() {
    let server = Server::start(&[]).await;
    let before = server.rss_kib();
    // 60,000 header-only streams' worth of HEADERS frames (RFC 9113 §6.2) after the preface.
    let mut flood = H2_PREFACE.to_vec();
    for stream_id in (1u32..120_000).step_by(2) {
        flood.extend_from_slice(&[0, 0, 1, 0x1, 0x5]);
        flood.extend_from_slice(&stream_id.to_be_bytes());
        flood.push(0x82); // :method GET, from the static table
    }
    let flood = std::sync::Arc::new(flood);
    let (replies, worst) = bystander_during(&server, async {
        // For two seconds, connection after connection, each sending the whole flood as fast
        // as the socket takes it.
        let started = Instant::now();
        let mut replies = Vec::new();
        while started.elapsed() < Duration::from_secs(2) {
            let stream = server.connect(ATTACKER).await.unwrap();
            let (mut read, mut write) = stream.into_split();
            let flood = flood.clone();
            let writer = tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(5), write.write_all(&flood)).await;
            });
            let mut reply = Vec::new();
            let _ =
                tokio::time::timeout(Duration::from_secs(5), read.read_to_end(&mut reply)).await;
            writer.abort();
            replies.push(String::from_utf8_lossy(&reply).into_owned());
        }
        replies
    })
    .await;
    let grown = server.rss_kib().saturating_sub(before);
    eprintln!(
        "HTTP/2 floods: {} connections; RSS grew by {grown} KiB; the bystander's worst \
         /healthz took {worst:?}",
        replies.len()
    );
    // An HTTP/2 server's first frame would be its SETTINGS (RFC 9113 §3.4); this one answers
    // the preface as the malformed HTTP/1.1 request it is, and closes.
    for reply in &replies {
        assert!(reply.starts_with("HTTP/1.1 400 "), "{reply:?}");
        assert!(reply.contains("Connection: close"), "{reply}");
    }
    assert!(grown < 32 * 1024, "RSS grew by {grown} KiB");
    assert!(worst < Duration::from_secs(5), "{worst:?}");
}

#[rocket::async_test]
async fn trickled_headers_are_cut_off_and_extra_connections_refused() {
    let server = Server::start(&[
        ("CONNECTIONS__HEADER_TIMEOUT_SECS", "2"),
        ("CONNECTIONS__MAX_OPEN_PER_ADDRESS", "40"),
    ])
    .await;
    let before = server.rss_kib();
    let ((outcomes, refused), worst) = bystander_during(&server, async {
        // 40 connections trickle a header a byte every 300 ms; 60 more find no room.
        let mut trickles = Vec::new();
        for _ in 0..40 {
            let stream = server.connect(ATTACKER).await.unwrap();
            trickles.push(tokio::spawn(trickle(
                stream,
                b"POST /oauth/token HTTP/1.1\r\nHost: a\r\nX-Slow: ",
            )));
        }
        // The admitted ones are in: let the server count them before knocking again.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut refused = Vec::new();
        for _ in 0..60 {
            let mut stream = server.connect(ATTACKER).await.unwrap();
            refused.push(
                read_until_closed(&mut stream, Duration::from_secs(3))
                    .await
                    .0,
            );
        }
        let mut outcomes = Vec::new();
        for trickle in trickles {
            outcomes.push(trickle.await.unwrap());
        }
        (outcomes, refused)
    })
    .await;
    let grown = server.rss_kib().saturating_sub(before);
    eprintln!(
        "slow headers: RSS grew by {grown} KiB; the bystander's worst /healthz took {worst:?}"
    );
    for (reply, took) in &outcomes {
        assert!(reply.starts_with("HTTP/1.1 408 "), "{reply:?}");
        assert!(*took < Duration::from_secs(5), "cut off after {took:?}");
    }
    for reply in &refused {
        assert!(reply.starts_with("HTTP/1.1 503 "), "{reply:?}");
        assert!(reply.contains("Retry-After: 1"), "{reply}");
        assert!(
            reply.contains(r#""error":"temporarily_unavailable""#),
            "{reply}"
        );
    }
    assert!(grown < 32 * 1024, "RSS grew by {grown} KiB");
    assert!(worst < Duration::from_secs(5), "{worst:?}");
    // The places come back once the connections close.
    server.health(ATTACKER).await.unwrap();
}

#[rocket::async_test]
async fn a_trickled_body_is_cut_off_at_its_deadline() {
    let server = Server::start(&[("CONNECTIONS__BODY_TIMEOUT_SECS", "2")]).await;
    let stream = server.connect(ATTACKER).await.unwrap();
    let (reply, took) = trickle(
        stream,
        b"POST /oauth/token HTTP/1.1\r\nHost: a\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n",
    )
    .await;
    assert!(took < Duration::from_secs(5), "cut off after {took:?}");
    assert!(
        took >= Duration::from_secs(2),
        "cut off early, after {took:?}"
    );
    // The handlers never saw a whole request, so no answer of theirs came back.
    assert!(reply.is_empty(), "{reply:?}");
}

#[rocket::async_test]
async fn an_idle_connection_closes_and_a_silent_one_is_told_why() {
    let server = Server::start(&[
        ("CONNECTIONS__IDLE_TIMEOUT_SECS", "2"),
        ("CONNECTIONS__HEADER_TIMEOUT_SECS", "2"),
    ])
    .await;
    // A kept-alive connection, quiet after its answer, is closed after the idle timeout.
    let mut kept = server.connect(ATTACKER).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let (reply, closed) = read_until_closed(&mut kept, Duration::from_secs(8)).await;
    assert!(reply.starts_with("HTTP/1.1 200 "), "{reply:?}");
    assert!(closed, "the idle connection stayed open");
    let took = started.elapsed();
    assert!(
        // The server's clock starts when it has read the request, a moment before ours.
        (Duration::from_millis(1900)..Duration::from_secs(5)).contains(&took),
        "{took:?}"
    );

    // A connection that never sends a byte gets 408 at the header deadline.
    let mut silent = server.connect(ATTACKER).await.unwrap();
    let (reply, closed) = read_until_closed(&mut silent, Duration::from_secs(8)).await;
    assert!(closed);
    assert!(reply.starts_with("HTTP/1.1 408 "), "{reply:?}");
}

#[rocket::async_test]
async fn the_server_wide_cap_refuses_cleanly_and_recovers() {
    let server = Server::start(&[
        ("CONNECTIONS__MAX_OPEN", "8"),
        ("CONNECTIONS__MAX_OPEN_PER_ADDRESS", "0"),
    ])
    .await;
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(server.connect(ATTACKER).await.unwrap());
    }
    // Connected is not yet accepted: on a busy machine the server counts the eighth a moment
    // later. Until it has, a bystander still gets in; from then on, never.
    let started = Instant::now();
    let refused = loop {
        match server.health(BYSTANDER).await {
            Err(reply) => break reply,
            Ok(_) => assert!(
                started.elapsed() < Duration::from_secs(10),
                "the cap of 8 never refused anyone"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(refused.starts_with("HTTP/1.1 503 "), "{refused}");
    held.pop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.health(BYSTANDER).await.unwrap();
}

#[rocket::async_test]
async fn requests_carry_the_clients_own_address() {
    // Metrics are open to 127.0.0.1 only: the bystander on 127.0.0.2 must not pass for it,
    // although the handlers behind the listener are reached over 127.0.0.1.
    let server = Server::start(&[]).await;
    let metrics = b"GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    let mut local = server.connect(ATTACKER).await.unwrap();
    assert!(exchange(&mut local, metrics)
        .await
        .starts_with("HTTP/1.1 200 "));
    let mut other = server.connect(BYSTANDER).await.unwrap();
    let reply = exchange(&mut other, metrics).await;
    assert!(reply.starts_with("HTTP/1.1 403 "), "{reply}");
    // A client cannot name another address in the listener's header.
    let forged = b"GET /metrics HTTP/1.1\r\nHost: a\r\nportcullis-peer: x 127.0.0.1:1\r\n\
                   Connection: close\r\n\r\n";
    let mut other = server.connect(BYSTANDER).await.unwrap();
    let reply = exchange(&mut other, forged).await;
    assert!(reply.starts_with("HTTP/1.1 403 "), "{reply}");
    // Pipelined requests on one connection are framed and answered in order.
    let mut pipelined = server.connect(BYSTANDER).await.unwrap();
    let reply = exchange(
        &mut pipelined,
        b"POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
          GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(reply.matches("HTTP/1.1 ").count(), 2, "{reply}");
    assert!(reply.ends_with(r#"{"status":"ok"}"#), "{reply}");
}
