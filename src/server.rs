//! A running Portcullis: the [`Listener`](crate::listener::Listener) on the configured address,
//! and the Rocket application from [`build_rocket`](crate::build_rocket) behind it on a loopback
//! port of its own. The binary and the tests that need real sockets both start here.

use std::net::{Ipv4Addr, SocketAddr};

use rocket::fairing::AdHoc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::listener::Listener;
use crate::{Config, KeyRing, Store};

/// The server, up and answering.
pub struct Running {
    /// The public address, as bound.
    pub address: SocketAddr,
    shutdown: rocket::Shutdown,
    rocket: JoinHandle<std::result::Result<(), rocket::Error>>,
}

impl Running {
    /// A handle that stops the server (as SIGTERM does) when notified.
    pub fn shutdown(&self) -> rocket::Shutdown {
        self.shutdown.clone()
    }

    /// Waits until the server has stopped.
    pub async fn stopped(self) -> Result<()> {
        match self.rocket.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(launch_error(error)),
            Err(join) => Err(Error::Internal(format!("server task failed: {join}"))),
        }
    }
}

/// Binds the public socket, starts Rocket behind it, and returns once both are ready.
pub async fn start(config: Config, store: Store, keys: KeyRing) -> Result<Running> {
    let listener = Listener::bind(&config).await?;
    let address = listener.local_addr()?;
    let peer = crate::http::peer::PeerFromListener::new(listener.seal().clone());
    let (ready, bound) = oneshot::channel::<SocketAddr>();
    let ready = std::sync::Mutex::new(Some(ready));
    let app = crate::build_rocket(config, store, keys);
    // Rocket listens where only the listener connects; the port is the system's choice.
    let internal = app
        .figment()
        .clone()
        .merge((rocket::Config::ADDRESS, Ipv4Addr::LOCALHOST))
        .merge((rocket::Config::PORT, 0));
    let rocket = app
        .configure(internal)
        .attach(peer)
        .attach(AdHoc::on_liftoff("relay target", move |rocket| {
            let upstream = SocketAddr::new(rocket.config().address, rocket.config().port);
            if let Some(ready) = ready.lock().ok().and_then(|mut r| r.take()) {
                let _ = ready.send(upstream);
            }
            Box::pin(async {})
        }))
        .ignite()
        .await
        .map_err(launch_error)?;
    let shutdown = rocket.shutdown();
    let mut rocket = tokio::spawn(async move { rocket.launch().await.map(|_| ()) });
    let upstream = tokio::select! {
        bound = bound => bound.map_err(|_| Error::Internal("the server did not start".into()))?,
        failed = &mut rocket => {
            return Err(match failed {
                Ok(Err(error)) => launch_error(error),
                _ => Error::Internal("the server did not start".into()),
            });
        }
    };
    tokio::spawn(listener.serve(upstream, shutdown.clone()));
    Ok(Running {
        address,
        shutdown,
        rocket,
    })
}

/// Rocket's errors print several lines (and panic if dropped unread); operators get one line.
fn launch_error(error: rocket::Error) -> Error {
    use rocket::error::ErrorKind;
    let message = match error.kind() {
        ErrorKind::Bind(e) => format!("cannot bind the internal loopback port: {e}"),
        ErrorKind::Io(e) => format!("I/O error: {e}"),
        ErrorKind::Config(e) => format!("server configuration: {e}"),
        ErrorKind::InsecureSecretKey(_) => "session_secret must be set".to_owned(),
        other => format!("server failed to start: {other}"),
    };
    Error::Internal(message)
}
