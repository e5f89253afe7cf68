//! An address with its prefix length (`10.0.0.1/24`, `fd00::1/64`), as
//! `ip addr` and `ip route` take them.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::Error;

/// An IPv4 or IPv6 address and a prefix length that fits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// The longest prefix of the address's family (32 or 128).
    pub fn max_prefix(addr: IpAddr) -> u8 {
        if addr.is_ipv4() {
            32
        } else {
            128
        }
    }

    /// True when the bits after the prefix are all zero (a network, as a
    /// route's destination must be).
    pub fn is_network(&self) -> bool {
        self.network() == self.addr
    }

    /// The address with the bits after the prefix cleared.
    pub fn network(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
        }
    }
}

impl FromStr for Cidr {
    type Err = Error;

    /// `ADDR/LEN`, or `ADDR` alone for a host (`/32`, `/128`) as ip takes it.
    fn from_str(text: &str) -> Result<Cidr, Error> {
        let bad = |why| Error::BadAddress {
            text: text.to_owned(),
            why,
        };
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| bad("not an IPv4 or IPv6 address"))?;
        let max = Cidr::max_prefix(addr);
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| {
                bad(if addr.is_ipv4() {
                    "the prefix length is not a number from 0 to 32"
                } else {
                    "the prefix length is not a number from 0 to 128"
                })
            })?,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v4_v6_and_hosts() {
        let c: Cidr = "10.0.0.1/24".parse().unwrap();
        assert_eq!(c.to_string(), "10.0.0.1/24");
        assert_eq!(c.network().to_string(), "10.0.0.0");
        assert!(!c.is_network());
        assert_eq!("fd00::1".parse::<Cidr>().unwrap().prefix, 128);
        assert_eq!("192.0.2.9".parse::<Cidr>().unwrap().prefix, 32);
        let c: Cidr = "fd00:1::5/64".parse().unwrap();
        assert_eq!(c.network().to_string(), "fd00:1::");
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().is_network());
    }

    #[test]
    fn refuses_bad_addresses_and_prefixes() {
        for bad in [
            "10.0.0.300/24",
            "10.0.0.1/33",
            "fd00::1/129",
            "x",
            "10.0.0.1/",
            "/24",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        let e = "10.0.0.1/33".parse::<Cidr>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid address \"10.0.0.1/33\": the prefix length is not a number from 0 to 32"
        );
    }
}
