//! Database faults for real: the database server is stopped in the middle of the test. Every
//! endpoint answers 503 `temporarily_unavailable` (pages: the error page), protected APIs keep
//! working from the in-memory revocation set, nothing answers 200 for a write it could not
//! store; then the server restarts on the same data directory and service resumes by itself
//! with nothing acknowledged lost.

use std::time::{Duration, Instant};

use portcullis::{build_rocket, KeyRing, Store};
use rocket::http::{ContentType, Method, Status};
use rocket::local::asynchronous::Client;

use crate::common::{
    basic, bearer, free_closed_port, post_form, seed, temp_dir, test_config, token, user_tokens,
    DatabaseGuard, TestApp,
};
use crate::fleet::OwnDatabase;

#[rocket::async_test]
async fn an_outage_gives_503s_and_service_heals_without_losing_writes() {
    let data = temp_dir();
    let port = free_closed_port();
    let mut database = OwnDatabase::start(data.path(), port);
    let mut config = test_config("faults");
    config.mongodb_uri = portcullis::config::Secret::new(format!("mongodb://127.0.0.1:{port}"));
    config.database_timeout_ms = 500;
    config.revocation_poll_ms = 200;
    config.self_registration = true;
    let store = Store::from_config(&config).await.unwrap();
    store.ensure_indexes().await.unwrap();
    let keys = KeyRing::load(&config.keys_dir).unwrap();
    let client = Client::tracked(build_rocket(config.clone(), store.clone(), keys.clone()))
        .await
        .unwrap();
    let app = TestApp::new(
        client,
        store.clone(),
        config.clone(),
        keys.clone(),
        // The data directory goes with the test; nothing to drop on the shared server.
        DatabaseGuard {
            name: String::new(),
        },
    );
    let seed = seed(&app).await;
    let (access, refresh_token) = user_tokens(&app, &seed, "alice", None).await;
    let (revoked, _) = user_tokens(&app, &seed, "alice", None).await;
    let revoke = post_form(
        &app.client,
        "/oauth/revoke",
        &format!("token={revoked}"),
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(revoke.status, Status::Ok);

    database.stop();

    let grant = token(
        &app,
        "grant_type=password&username=alice&password=alice-password",
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(grant.status, Status::ServiceUnavailable, "{}", grant.body);
    assert_eq!(grant.body["error"], "temporarily_unavailable");
    assert_eq!(grant.header("Retry-After"), Some("5"));
    let refresh = token(
        &app,
        &format!("grant_type=refresh_token&refresh_token={refresh_token}"),
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(refresh.status, Status::ServiceUnavailable);
    // A revocation that cannot be stored must not answer 200.
    let failed_revoke = post_form(
        &app.client,
        "/oauth/revoke",
        &format!("token={access}"),
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(failed_revoke.status, Status::ServiceUnavailable);
    let ready = app.client.get("/readyz").dispatch().await;
    assert_eq!(ready.status(), Status::ServiceUnavailable);
    let register = app
        .client
        .post("/register")
        .header(ContentType::JSON)
        .body(r#"{"username":"newcomer","password":"long enough"}"#)
        .dispatch()
        .await;
    assert_eq!(register.status(), Status::ServiceUnavailable);
    // A client not read in the last seconds (one just read is served from the client cache).
    let page = app
        .client
        .get("/oauth/authorize?response_type=code&client_id=web")
        .dispatch()
        .await;
    assert_eq!(page.status(), Status::ServiceUnavailable);
    assert_eq!(page.content_type(), Some(ContentType::HTML));
    // Protected APIs need no database: valid tokens pass, revoked ones stay refused.
    assert_eq!(
        bearer(&app.client, Method::Get, "/api/me", Some(&access), None)
            .await
            .status,
        Status::Ok
    );
    assert_eq!(
        bearer(&app.client, Method::Get, "/api/me", Some(&revoked), None)
            .await
            .status,
        Status::Unauthorized
    );
    let notes = bearer(&app.client, Method::Get, "/api/data", Some(&access), None).await;
    assert_eq!(notes.status, Status::ServiceUnavailable);

    database.restart();

    // No restart of Portcullis: it heals by itself.
    let started = Instant::now();
    while app.client.get("/readyz").dispatch().await.status() != Status::Ok {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never became ready again"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let grant = token(
        &app,
        "grant_type=password&username=alice&password=alice-password",
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(grant.status, Status::Ok, "{}", grant.body);
    let refreshed = token(
        &app,
        &format!("grant_type=refresh_token&refresh_token={refresh_token}"),
        Some(basic("app", &seed.app_secret)),
    )
    .await;
    assert_eq!(
        refreshed.status,
        Status::Ok,
        "the refresh token stored before the outage survived"
    );

    // A fresh instance learns the revocation from the database: it was not lost.
    let fresh = Client::tracked(build_rocket(config, store, keys))
        .await
        .unwrap();
    assert_eq!(
        bearer(&fresh, Method::Get, "/api/me", Some(&revoked), None)
            .await
            .status,
        Status::Unauthorized
    );
    assert_eq!(
        bearer(&fresh, Method::Get, "/api/me", Some(&access), None)
            .await
            .status,
        Status::Ok
    );
}

/// A TCP relay to the test database that can be made to stop answering: bytes still flow to
/// the database, none come back. Connections made after that get no answer at all.
struct FreezingRelay {
    port: u16,
    frozen: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl FreezingRelay {
    async fn start(target: std::net::SocketAddr) -> FreezingRelay {
        use std::sync::atomic::{AtomicBool, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let frozen = std::sync::Arc::new(AtomicBool::new(false));
        let flag = frozen.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(target).await else {
                    continue;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                });
                let flag = flag.clone();
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 64 * 1024];
                    while let Ok(n) = server_read.read(&mut buffer).await {
                        if n == 0 {
                            break;
                        }
                        while flag.load(Ordering::Relaxed) {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        if client_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        FreezingRelay { port, frozen, task }
    }

    fn freeze(&self) {
        self.frozen
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for FreezingRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A database that accepts requests and stops answering them: a request that needs it gets a
/// 503 within `database_timeout_ms` instead of hanging.
#[rocket::async_test]
async fn a_database_that_stops_answering_times_out_as_unavailable() {
    let target: url::Url = crate::common::mongodb_uri().parse().unwrap();
    let target = std::net::SocketAddr::from(([127, 0, 0, 1], target.port().unwrap_or(27017)));
    let relay = FreezingRelay::start(target).await;
    let name = crate::common::unique_database();
    let _db = DatabaseGuard { name: name.clone() };
    let mut config = test_config(&name);
    config.mongodb_uri = portcullis::config::Secret::new(format!(
        // Direct: the server would otherwise name its own address and the driver use it.
        "mongodb://127.0.0.1:{}/?directConnection=true",
        relay.port
    ));
    config.database_timeout_ms = 800;
    let store = Store::from_config(&config).await.unwrap();
    store.ensure_indexes().await.unwrap();
    let keys = KeyRing::load(&config.keys_dir).unwrap();
    let client = Client::tracked(build_rocket(config.clone(), store.clone(), keys.clone()))
        .await
        .unwrap();
    let app = TestApp::new(
        client,
        store,
        config,
        keys,
        DatabaseGuard {
            name: String::new(),
        },
    );
    let seed = seed(&app).await;
    let grant = |form: &'static str, client: (&'static str, &str)| {
        post_form(
            &app.client,
            "/oauth/token",
            form,
            Some(basic(client.0, client.1)),
        )
    };
    let client_credentials = "grant_type=client_credentials";
    // A sign-in needs the database (its lockout count, the account).
    let sign_in = "grant_type=password&username=alice&password=alice-password";
    let m2m = ("m2m", seed.m2m_secret.as_str());
    let app_client = ("app", seed.app_secret.as_str());
    assert_eq!(grant(client_credentials, m2m).await.status, Status::Ok);
    assert_eq!(grant(sign_in, app_client).await.status, Status::Ok);

    relay.freeze();
    // A client-credentials grant needs no database (the client is cached, the rate limit
    // counted in memory, the audit record queued): it still answers.
    assert_eq!(grant(client_credentials, m2m).await.status, Status::Ok);
    // The driver notices a silent server only when its monitor's heartbeat fails (about ten
    // seconds); the limit answers within a few of its 800 ms steps.
    let answer = tokio::time::timeout(Duration::from_secs(5), grant(sign_in, app_client))
        .await
        .expect("the request waited on a database that does not answer");
    assert_eq!(answer.status, Status::ServiceUnavailable, "{}", answer.body);
    assert_eq!(answer.body["error"], "temporarily_unavailable");
    let page = tokio::time::timeout(Duration::from_secs(20), app.client.get("/login").dispatch())
        .await
        .expect("a page that needs no database");
    assert_eq!(page.status(), Status::Ok);
}
