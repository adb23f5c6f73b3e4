//! Forwarded client certificates behind a TLS-terminating proxy. A listener
//! configured with `client_cert_header` and `trusted_proxies` believes the
//! header only when the TCP peer is one of those proxies; from anyone else the
//! header is ignored, counted and logged, and the request carries no
//! certificate. The headers are removed from every request, whoever sent them,
//! before anything else sees it.
//!
//! Identity on such a listener: requests from a trusted proxy are identified by
//! the header alone (a TLS certificate on that connection is the proxy's own);
//! requests from any other peer by their TLS certificate alone.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use axum::http::{HeaderMap, HeaderName};
use certbound_pki::CertDer;
use certbound_pki::forwarded::{self, HeaderFormat};

/// An address block such as `10.0.0.0/8` or `::1/128`; a bare address is a block of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{s}` is not an address or CIDR block (e.g. 10.0.0.0/8)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}`: the prefix length must be 0 to {max}"))?,
        };
        // An IPv4-mapped block (`::ffff:10.0.0.0/104`) is the IPv4 block it
        // maps: peers are compared as IPv4, so as written it would match none.
        if let IpAddr::V6(v6) = addr {
            if let Some(v4) = v6.to_ipv4_mapped() {
                if prefix < 96 {
                    return Err(format!(
                        "`{s}`: an IPv4-mapped block needs a prefix of 96 or more; write the IPv4 block instead (e.g. {v4}/8)"
                    ));
                }
                return Ok(Cidr {
                    addr: IpAddr::V4(v4),
                    prefix: prefix - 96,
                });
            }
        }
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Cidr {
    /// Whether `ip` is in the block (IPv4-mapped IPv6 peers count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => mask_eq(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => mask_eq(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

fn mask_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[full] & mask) == (b[full] & mask)
}

/// A listener's forwarded-certificate settings.
#[derive(Debug, Clone)]
pub struct ForwardedConfig {
    pub header: HeaderName,
    /// RFC 9440's `Client-Cert-Chain`, for the `rfc9440` format.
    pub chain_header: Option<HeaderName>,
    pub format: HeaderFormat,
    pub trusted: Vec<Cidr>,
}

/// What a request's headers say about its client certificate.
#[derive(Debug)]
pub enum Forwarded {
    /// The peer is not a trusted proxy: headers (if any) were ignored.
    Untrusted { header_present: bool },
    /// From a trusted proxy: the chain (`None`: no certificate) or why it could not be read.
    Trusted(Result<Option<Vec<CertDer>>, String>),
}

impl ForwardedConfig {
    /// Read and strip the forwarded headers of a request from `peer`.
    pub fn take(&self, headers: &mut HeaderMap, peer: IpAddr) -> Forwarded {
        let values: Vec<String> = headers
            .get_all(&self.header)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        let chain_values: Vec<String> = self
            .chain_header
            .as_ref()
            .map(|h| {
                headers
                    .get_all(h)
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        headers.remove(&self.header);
        if let Some(h) = &self.chain_header {
            headers.remove(h);
        }
        if !self.trusted.iter().any(|c| c.contains(peer)) {
            return Forwarded::Untrusted {
                header_present: !values.is_empty() || !chain_values.is_empty(),
            };
        }
        Forwarded::Trusted(self.decode(&values, &chain_values))
    }

    fn decode(
        &self,
        values: &[String],
        chain_values: &[String],
    ) -> Result<Option<Vec<CertDer>>, String> {
        let value = match values {
            [] => return Ok(None),
            [one] => one,
            _ => {
                return Err(format!(
                    "the {} header appears {} times: a proxy must send it once (and strip copies sent by the client)",
                    self.header,
                    values.len()
                ));
            }
        };
        let mut chain = match forwarded::decode(self.format, value).map_err(|e| e.to_string())? {
            None => return Ok(None),
            Some(c) => c,
        };
        if self.format == HeaderFormat::Rfc9440 && !chain_values.is_empty() {
            let joined = chain_values.join(", ");
            chain.extend(forwarded::decode_rfc9440_chain(&joined).map_err(|e| e.to_string())?);
        }
        Ok(Some(chain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_mapped_blocks_are_their_ipv4_blocks() {
        let c: Cidr = "::ffff:10.1.0.0/112".parse().unwrap();
        assert_eq!(c.to_string(), "10.1.0.0/16");
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(c.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!c.contains("10.2.0.1".parse().unwrap()));
        let one: Cidr = "::ffff:127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!("::ffff:10.0.0.0/64".parse::<Cidr>().is_err());
    }

    #[test]
    fn cidr_blocks() {
        let c: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(!c.contains("10.2.0.1".parse().unwrap()));
        assert!(
            c.contains("::ffff:10.1.0.9".parse().unwrap()),
            "IPv4-mapped IPv6"
        );
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        let odd: Cidr = "192.168.1.128/25".parse().unwrap();
        assert!(odd.contains("192.168.1.200".parse().unwrap()));
        assert!(!odd.contains("192.168.1.100".parse().unwrap()));
        assert!(
            "0.0.0.0/0"
                .parse::<Cidr>()
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nowhere".parse::<Cidr>().is_err());
    }
}
