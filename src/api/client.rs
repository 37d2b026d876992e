//! Who a request comes from, for per-client limits: its API key, or its
//! address. Behind trusted proxies (`CEASEFIRE_TRUSTED_PROXIES`) the address
//! is the one they name in the one header they append to
//! (`CEASEFIRE_FORWARDED_HEADER`: `X-Forwarded-For` by default, or
//! `Forwarded`, RFC 7239), read from the right and past every trusted hop,
//! so a client cannot pick its own address by sending a header itself; from
//! any other peer no header is believed. IPv6 clients count per /64 (what
//! one subscriber gets), IPv4-mapped addresses as IPv4.

use std::net::IpAddr;

use actix_web::http::header::{self, HeaderMap};
use ipnet::IpNet;

pub use crate::config::ForwardedHeader;

/// The proxies whose forwarding header is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>, header: ForwardedHeader) -> Self {
        Self { nets, header }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// The client's address: the peer's, or, when the peer is a trusted
    /// proxy, the right-most forwarded address that is not one.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let mut current = peer?.to_canonical();
        if !self.trusts(current) {
            return Some(current);
        }
        let hops = match self.header {
            ForwardedHeader::XForwardedFor => x_forwarded_for(headers),
            ForwardedHeader::Forwarded => forwarded(headers),
        };
        for hop in hops.iter().rev() {
            // A hop a trusted proxy could not name ("unknown", obfuscated):
            // the proxy itself is the best that is known.
            let Some(ip) = hop else { return Some(current) };
            current = ip.to_canonical();
            if !self.trusts(current) {
                break;
            }
        }
        Some(current)
    }
}

/// The `for=` addresses of every `Forwarded` header in order; `None` where
/// a hop is not an address.
fn forwarded(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all(header::FORWARDED)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim().eq_ignore_ascii_case("for").then(|| parse_node(value))
            })
        })
        .collect()
}

/// The addresses of every `X-Forwarded-For` header in order.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(parse_node)
        .collect()
}

/// A node as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    let v = raw.trim().trim_matches('"');
    if let Ok(ip) = v.parse() {
        return Some(ip);
    }
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    v.rsplit_once(':').and_then(|(host, _port)| host.parse().ok())
}

/// The client a request counts against: `key:<hash>` with an API key,
/// `ip:<address>` without. Set on every request by the rate limiter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(pub String);

/// An address as a client: IPv4 as it is, IPv6 by its /64.
pub fn client_net(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn headers_from_untrusted_peers_are_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(client_net("2001:db8:1:2:3:4:5:6".parse().unwrap()), "2001:db8:1:2::/64");
        let h = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(none.client_ip(ip("203.0.113.9"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let lb = TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap()], ForwardedHeader::XForwardedFor);
        // The client claims 6.6.6.6 itself; the balancer appends what it saw.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(lb.client_ip(ip("10.0.0.2"), &h), ip("198.51.100.7"));
        // A `Forwarded` the client sent itself is not believed when the
        // balancer appends to X-Forwarded-For.
        let h = headers(&[("forwarded", "for=6.6.6.6"), ("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(lb.client_ip(ip("10.0.0.2"), &h), ip("198.51.100.7"));
        // An IPv4-mapped peer is its IPv4 address.
        assert_eq!(lb.client_ip(ip("::ffff:10.0.0.2"), &h), ip("198.51.100.7"));
        let rfc = TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap()], ForwardedHeader::Forwarded);
        let h = headers(&[("forwarded", r#"for=6.6.6.6, for="[2001:db8::7]:4711";proto=https"#)]);
        assert_eq!(rfc.client_ip(ip("10.0.0.2"), &h), ip("2001:db8::7"));
        let h = headers(&[("forwarded", "for=198.51.100.7:55123")]);
        assert_eq!(rfc.client_ip(ip("10.0.0.2"), &h), ip("198.51.100.7"));
        // No header, or an unknown hop: the proxy is the client.
        assert_eq!(lb.client_ip(ip("10.0.0.2"), &HeaderMap::new()), ip("10.0.0.2"));
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(rfc.client_ip(ip("10.0.0.2"), &h), ip("10.0.0.2"));
    }
}
