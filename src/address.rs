//! Client addresses as per-address limits see them: an IPv4 address (or an IPv4-mapped IPv6
//! one) on its own, an IPv6 address by its network, because one host is routinely handed a
//! whole /64 and could otherwise take a fresh limit with every address in it.

use std::net::IpAddr;

/// The address or network that `ip`'s limits are counted against.
pub fn group(ip: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ipnet::Ipv6Net::new(v6, ipv6_prefix.min(128))
                .map_or(IpAddr::V6(v6), |net| IpAddr::V6(net.trunc().addr())),
        },
        v4 => v4,
    }
}
