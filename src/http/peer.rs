//! The client's socket address, as the listener saw it. Every request reaches Rocket over a
//! loopback connection from [`crate::listener`], which names the real peer in a header sealed
//! with this process's secret; this fairing checks the seal and makes that address the
//! request's remote one, before any guard or handler asks. A request without a valid seal came
//! over loopback from this machine, and keeps the loopback address.

use std::net::SocketAddr;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Data, Request};

use crate::listener::PEER_HEADER;
use crate::secrets::{constant_time_eq, SecretString};

/// Restores the remote address the listener relayed.
pub struct PeerFromListener {
    seal: SecretString,
}

impl PeerFromListener {
    pub fn new(seal: SecretString) -> Self {
        PeerFromListener { seal }
    }
}

#[rocket::async_trait]
impl Fairing for PeerFromListener {
    fn info(&self) -> Info {
        Info {
            name: "client address from the listener",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, request: &mut Request<'_>, _: &mut Data<'_>) {
        let peer = request
            .headers()
            .get_one(PEER_HEADER)
            .and_then(|value| value.split_once(' '))
            .filter(|(seal, _)| constant_time_eq(seal, self.seal.expose()))
            .and_then(|(_, address)| address.parse::<SocketAddr>().ok());
        if let Some(peer) = peer {
            request.set_remote(peer);
        }
        // The seal stays out of anything that reads headers later.
        if request.headers().contains(PEER_HEADER) {
            request.replace_header(Header::new(PEER_HEADER, ""));
        }
    }
}
