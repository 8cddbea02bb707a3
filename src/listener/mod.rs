//! The listening socket. Rocket 0.5 sets no deadline on reading a request and no cap on open
//! connections, so the public socket is Portcullis's own: it admits connections under a global
//! and a per-address cap, terminates TLS when configured, reads each request's head and body
//! under deadlines, and relays what passes to Rocket on a loopback port of its own. Every
//! request relayed carries the client's socket address in a header sealed with a secret drawn
//! at start, which [`crate::http::peer`] turns back into the request's remote address.

mod admission;
mod refusal;
mod relay;
mod request_head;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::secrets::SecretString;
use admission::{Admission, Full};
use refusal::Refusal;

pub use request_head::PEER_HEADER;

/// File descriptors kept back from connections: the database pool, key and template files.
const RESERVED_FDS: u64 = 256;
/// Each relayed connection holds three: the client's socket, and both ends of the loopback
/// connection to Rocket.
const FDS_PER_CONNECTION: u64 = 3;

/// Below this many affordable connections the lowered cap is worth a warning.
const LOW_CONNECTION_BUDGET: usize = 1024;

/// The bound public socket, before it serves.
pub struct Listener {
    tcp: TcpListener,
    tls: Option<TlsAcceptor>,
    admission: Arc<Admission>,
    seal: SecretString,
    config: crate::config::ConnectionConfig,
}

impl Listener {
    /// Binds the configured address and loads the TLS material, so that an error in either is
    /// reported before anything says the server is up.
    pub async fn bind(config: &Config) -> Result<Listener> {
        let tls = config.tls.as_ref().map(tls::acceptor).transpose()?;
        let address = SocketAddr::new(config.address, config.port);
        let tcp = TcpListener::bind(address)
            .await
            .map_err(|e| Error::Internal(format!("cannot bind {address}: {e}")))?;
        let connections = config.connections;
        let max_open = within_fd_budget(connections.max_open);
        // Behind a proxy every connection comes from the proxy: a per-address cap would cap
        // the proxy.
        let per_address = (connections.max_open_per_address > 0
            && config.client_ip_header.is_none())
        .then_some(connections.max_open_per_address);
        Ok(Listener {
            tcp,
            tls,
            admission: Admission::new(max_open, per_address, config.rate_limits.ipv6_prefix),
            seal: SecretString::new(crate::secrets::random_token()?),
            config: connections,
        })
    }

    /// The address actually bound (the configured one, with the port filled in).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.tcp
            .local_addr()
            .map_err(|e| Error::Internal(format!("listening socket: {e}")))
    }

    /// The secret the peer header is sealed with.
    pub fn seal(&self) -> &SecretString {
        &self.seal
    }

    /// Accepts connections until `shutdown` resolves, relaying each to `upstream`.
    pub async fn serve(self, upstream: SocketAddr, shutdown: impl Future<Output = ()>) {
        let relay = Arc::new(relay::Relay {
            upstream,
            seal: self.seal.clone(),
            header_timeout: Duration::from_secs(self.config.header_timeout_secs),
            body_timeout: Duration::from_secs(self.config.body_timeout_secs),
            idle_timeout: Duration::from_secs(self.config.idle_timeout_secs),
        });
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                biased;
                () = &mut shutdown => return,
                accepted = self.tcp.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => self.admit(stream, peer, &relay),
                Err(error) => {
                    // Out of descriptors or memory: back off instead of spinning.
                    crate::limited!(warn, %error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn admit(&self, stream: TcpStream, peer: SocketAddr, relay: &Arc<relay::Relay>) {
        let accepted = Instant::now();
        let ticket = match self.admission.admit(peer.ip()) {
            Ok(ticket) => ticket,
            Err(full) => {
                crate::metrics::connection_refused("busy");
                let scope = match full {
                    Full::Server => "the server",
                    Full::Address => "one address",
                };
                crate::limited!(warn, peer = %peer.ip(), "connection refused: {scope} has too many open");
                // A plain-text answer is only readable without TLS; with TLS the close is it.
                if self.tls.is_none() {
                    let _ = stream.try_write(&Refusal::Busy.response());
                }
                return;
            }
        };
        crate::metrics::connections_open(self.admission.open());
        let _ = stream.set_nodelay(true);
        let (tls, relay, admission) = (self.tls.clone(), relay.clone(), self.admission.clone());
        tokio::spawn(async move {
            match tls {
                None => relay::serve(stream, peer, accepted, relay).await,
                Some(tls) => {
                    // The handshake counts against the first request's header deadline.
                    let deadline = accepted + relay.header_timeout;
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout_at(deadline, tls.accept(stream)).await
                    {
                        relay::serve(stream, peer, accepted, relay).await;
                    }
                }
            }
            drop(ticket);
            crate::metrics::connections_open(admission.open());
        });
    }
}

/// `wanted`, or fewer when the process may not open enough descriptors for that many. The
/// soft limit is raised to the hard one first, as servers commonly do.
fn within_fd_budget(wanted: usize) -> usize {
    let Some(limit) = raise_fd_limit() else {
        return wanted;
    };
    let affordable = (limit.saturating_sub(RESERVED_FDS) / FDS_PER_CONNECTION).max(1) as usize;
    if affordable < wanted {
        // A warning when few connections are left; otherwise the limit is merely noted.
        if affordable < LOW_CONNECTION_BUDGET {
            tracing::warn!(
                wanted,
                affordable,
                fd_limit = limit,
                "connections.max_open lowered to what the open-file limit allows"
            );
        } else {
            tracing::info!(
                wanted,
                affordable,
                fd_limit = limit,
                "connections.max_open lowered to what the open-file limit allows"
            );
        }
    }
    wanted.min(affordable)
}

#[cfg(target_os = "linux")]
fn raise_fd_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    #[allow(clippy::unnecessary_cast)] // `rlim_t` is not 64 bits on every Linux target.
    Some(limit.rlim_cur as u64)
}

#[cfg(not(target_os = "linux"))]
fn raise_fd_limit() -> Option<u64> {
    None
}
