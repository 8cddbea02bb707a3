//! Who may open one more connection: a global cap, and a cap per client address, both held
//! as counts that a connection's ticket gives back when it closes, however it closes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// The open-connection counts.
#[derive(Debug)]
pub struct Admission {
    max_open: usize,
    /// `None` when per-address counting is off.
    max_per_address: Option<usize>,
    ipv6_prefix: u8,
    open: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    Server,
    Address,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Ticket {
    admission: Arc<Admission>,
    address: Option<IpAddr>,
}

impl Admission {
    pub fn new(max_open: usize, max_per_address: Option<usize>, ipv6_prefix: u8) -> Arc<Self> {
        Arc::new(Admission {
            max_open,
            max_per_address,
            ipv6_prefix,
            open: Mutex::new(Counts::default()),
        })
    }

    /// Takes a place for a connection from `peer`, or says which cap is reached. Both counts
    /// move under one lock, so parallel accepts can never overshoot either cap.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Ticket, Full> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.max_open {
            return Err(Full::Server);
        }
        let address = match self.max_per_address {
            Some(cap) => {
                let group = crate::address::group(peer, self.ipv6_prefix);
                let count = open.by_address.entry(group).or_default();
                if *count >= cap {
                    return Err(Full::Address);
                }
                *count += 1;
                Some(group)
            }
            None => None,
        };
        open.total += 1;
        Ok(Ticket {
            admission: self.clone(),
            address,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut open = self
            .admission
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.total -= 1;
        if let Some(address) = self.address {
            if let Some(count) = open.by_address.get_mut(&address) {
                *count -= 1;
                if *count == 0 {
                    open.by_address.remove(&address);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Admission, Full};

    #[test]
    fn both_caps_hold_and_places_come_back() {
        let admission = Admission::new(3, Some(2), 64);
        let a: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        let b: std::net::IpAddr = "2001:db8::1".parse().unwrap();
        let b_neighbour: std::net::IpAddr = "2001:db8::ffff".parse().unwrap();
        let first = admission.admit(a).unwrap();
        let _second = admission.admit(a).unwrap();
        assert_eq!(admission.admit(a).unwrap_err(), Full::Address);
        let _third = admission.admit(b).unwrap();
        assert_eq!(admission.admit(b_neighbour).unwrap_err(), Full::Server);
        drop(first);
        assert_eq!(admission.open(), 2);
        let _again = admission.admit(b_neighbour).unwrap();
        assert_eq!(admission.admit(b).unwrap_err(), Full::Server);
    }
}
