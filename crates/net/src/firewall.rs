//! The host rules of a bridge network, in an nftables table of nsbox's own
//! (`ip nsbox-BRIDGE`), applied through nft's JSON interface (the
//! `nftables` crate runs `nft -j`), as podman's netavark keeps its rules:
//! traffic from the subnet to anywhere else is masqueraded, the bridge's
//! traffic is forwarded, and IPv4 forwarding is on. Published ports are
//! DNAT rules (prerouting for traffic from elsewhere, output for the
//! host's own, its 127.0.0.1 included: `route_localnet` on the bridge and
//! a masquerade of what comes from loopback or, hairpinned, from the
//! subnet itself). The whole table is written in one transaction (flushed
//! and refilled from every container's ports, so applying twice is
//! harmless) and deleted with the network's last container.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::cidr::Cidr;
use crate::Error;

/// `-p [IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]`, to a container's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMap {
    /// Only traffic to this host address (default: any of the host's).
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_port: u16,
    pub proto: Proto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl PortMap {
    /// `tcp` or `udp`.
    pub fn proto_word(&self) -> &'static str {
        self.proto.word()
    }
}

impl Proto {
    fn word(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

impl PortMap {
    /// Whether both take the same host traffic (same protocol and port, and
    /// addresses that overlap: one of them any, or the same).
    pub fn clashes(&self, other: &PortMap) -> bool {
        self.proto == other.proto
            && self.host_port == other.host_port
            && (self.host_ip.is_none() || other.host_ip.is_none() || self.host_ip == other.host_ip)
    }
}

impl FromStr for PortMap {
    type Err = String;

    fn from_str(text: &str) -> Result<PortMap, String> {
        let bad = |why: &str| format!("invalid port mapping {text:?}: {why}");
        let (ports, proto) = match text.rsplit_once('/') {
            Some((p, "tcp")) => (p, Proto::Tcp),
            Some((p, "udp")) => (p, Proto::Udp),
            Some((_, other)) => return Err(bad(&format!("protocol {other:?} (tcp or udp)"))),
            None => (text, Proto::Tcp),
        };
        let parts: Vec<&str> = ports.split(':').collect();
        let (ip, host, cont) = match parts.as_slice() {
            [h, c] => (None, *h, *c),
            [ip, h, c] => (Some(*ip), *h, *c),
            _ => return Err(bad("[IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]")),
        };
        let port = |p: &str| {
            p.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| bad(&format!("port {p:?} (1-65535)")))
        };
        let host_ip = match ip {
            None | Some("") => None,
            Some(ip) => Some(
                ip.parse::<Ipv4Addr>()
                    .map_err(|_| bad(&format!("address {ip:?} (an IPv4 address)")))?,
            ),
        };
        Ok(PortMap {
            host_ip,
            host_port: port(host)?,
            container_port: port(cont)?,
            proto,
        })
    }
}

impl fmt::Display for PortMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(ip) = self.host_ip {
            write!(f, "{ip}:")?;
        }
        write!(
            f,
            "{}:{}/{}",
            self.host_port,
            self.container_port,
            self.proto.word()
        )
    }
}

/// The table of bridge `bridge`'s rules.
pub fn table(bridge: &str) -> String {
    format!("nsbox-{bridge}")
}

/// Writes the table for `bridge` and `subnet` with `ports` (each to its
/// container's address) and turns IPv4 forwarding on (in the caller's
/// network namespace), and `route_localnet` on the bridge when a port is
/// published (so the host's own 127.0.0.1 reaches them).
pub fn apply(bridge: &str, subnet: Cidr, ports: &[(Ipv4Addr, PortMap)]) -> Result<(), Error> {
    let sysctl = |path: String| std::fs::write(&path, "1").map_err(|e| Error::io("write", path, e));
    sysctl("/proc/sys/net/ipv4/ip_forward".into())?;
    if !ports.is_empty() {
        sysctl(format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet"))?;
    }
    nft(
        &rules(bridge, subnet, ports),
        "write the bridge's nftables rules",
    )
}

/// Deletes the table of `bridge`, if there is one.
pub fn remove(bridge: &str) -> Result<(), Error> {
    let t = table(bridge);
    let commands = json!({"nftables": [
        // "add" first, so that deleting a table that is not there is no error
        {"add": {"table": {"family": "ip", "name": t}}},
        {"delete": {"table": {"family": "ip", "name": t}}},
    ]});
    nft(&commands, "delete the bridge's nftables rules")
}

fn rules(bridge: &str, subnet: Cidr, ports: &[(Ipv4Addr, PortMap)]) -> Value {
    let t = table(bridge);
    let net = json!({"prefix": {"addr": subnet.network().to_string(), "len": subnet.prefix}});
    let field = |f: &str| json!({"payload": {"protocol": "ip", "field": f}});
    let chain = |name: &str, typ: &str, hook: &str, prio: i32| {
        json!({"add": {"chain": {
            "family": "ip", "table": t, "name": name,
            "type": typ, "hook": hook, "prio": prio, "policy": "accept"
        }}})
    };
    let rule = |chain: &str, expr: Value| json!({"add": {"rule": {"family": "ip", "table": t, "chain": chain, "expr": expr}}});
    let iface = |which: &str| json!({"meta": {"key": which}});
    let mut cmds = vec![
        json!({"add": {"table": {"family": "ip", "name": t}}}),
        json!({"flush": {"table": {"family": "ip", "name": t}}}),
        chain("postrouting", "nat", "postrouting", 100),
        chain("forward", "filter", "forward", 0),
        rule(
            "postrouting",
            json!([
                {"match": {"op": "==", "left": field("saddr"), "right": net}},
                {"match": {"op": "!=", "left": field("daddr"), "right": net}},
                {"masquerade": null}
            ]),
        ),
        rule(
            "forward",
            json!([
                {"match": {"op": "==", "left": iface("iifname"), "right": bridge}},
                {"accept": null}
            ]),
        ),
        rule(
            "forward",
            json!([
                {"match": {"op": "==", "left": iface("oifname"), "right": bridge}},
                {"accept": null}
            ]),
        ),
    ];
    if ports.is_empty() {
        return json!({ "nftables": cmds });
    }
    cmds.push(chain("prerouting", "nat", "prerouting", -100));
    cmds.push(chain("output", "nat", "output", -100));
    // DNATed traffic from the host's loopback, or hairpinned from a
    // container of the subnet, leaves with the gateway's address, so the
    // reply comes back through the host
    for from in [
        json!({"prefix": {"addr": "127.0.0.0", "len": 8}}),
        net.clone(),
    ] {
        cmds.push(rule(
            "postrouting",
            json!([
                {"match": {"op": "==", "left": iface("oifname"), "right": bridge}},
                {"match": {"op": "==", "left": field("saddr"), "right": from}},
                {"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}},
                {"masquerade": null}
            ]),
        ));
    }
    for (addr, p) in ports {
        let mut expr = vec![match p.host_ip {
            Some(ip) => {
                json!({"match": {"op": "==", "left": field("daddr"), "right": ip.to_string()}})
            }
            None => {
                json!({"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "local"}})
            }
        }];
        expr.push(json!({"match": {"op": "==",
            "left": {"payload": {"protocol": p.proto.word(), "field": "dport"}},
            "right": p.host_port}}));
        expr.push(json!({"dnat": {"addr": addr.to_string(), "port": p.container_port}}));
        for c in ["prerouting", "output"] {
            cmds.push(rule(c, Value::Array(expr.clone())));
        }
    }
    json!({ "nftables": cmds })
}

fn nft(commands: &Value, what: &str) -> Result<(), Error> {
    let payload = commands.to_string();
    nftables::helper::apply_ruleset_raw::<str, str, _>(&payload, None, std::iter::empty())
        .map(drop)
        .map_err(|e| Error::Nft {
            what: what.to_owned(),
            why: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_transaction_that_refills_the_table() {
        let r = rules("nsbox0", "10.89.0.0/24".parse().unwrap(), &[]);
        let cmds = r["nftables"].as_array().unwrap();
        assert_eq!(cmds[0]["add"]["table"]["name"], "nsbox-nsbox0");
        assert_eq!(cmds[1]["flush"]["table"]["name"], "nsbox-nsbox0");
        let masq = &cmds[4]["add"]["rule"]["expr"];
        assert_eq!(masq[0]["match"]["right"]["prefix"]["addr"], "10.89.0.0");
        assert_eq!(masq[0]["match"]["right"]["prefix"]["len"], 24);
        assert!(masq[2].get("masquerade").is_some());
    }

    #[test]
    fn port_mappings_read_as_docker_writes_them() {
        let p: PortMap = "127.0.0.1:8080:80".parse().unwrap();
        assert_eq!(p.host_ip, Some(Ipv4Addr::LOCALHOST));
        assert_eq!(
            (p.host_port, p.container_port, p.proto),
            (8080, 80, Proto::Tcp)
        );
        assert_eq!(p.to_string(), "127.0.0.1:8080:80/tcp");
        let q: PortMap = "5353:53/udp".parse().unwrap();
        assert_eq!((q.host_ip, q.proto), (None, Proto::Udp));
        for bad in ["80", "0:80", "8080:80/sctp", "x:1:2", "1:2:3:4", "70000:80"] {
            assert!(bad.parse::<PortMap>().is_err(), "{bad}");
        }
        let any: PortMap = "8080:80".parse().unwrap();
        assert!(any.clashes(&p) && p.clashes(&any));
        let other_ip: PortMap = "10.0.0.1:8080:81".parse().unwrap();
        assert!(!other_ip.clashes(&p));
        assert!(!q.clashes(&"5353:53/tcp".parse().unwrap()));
    }

    #[test]
    fn a_published_port_is_dnat_for_outside_and_for_the_host() {
        let p: PortMap = "127.0.0.1:8080:80".parse().unwrap();
        let r = rules(
            "nsbox0",
            "10.89.0.0/24".parse().unwrap(),
            &[(Ipv4Addr::new(10, 89, 0, 2), p)],
        );
        let text = r.to_string();
        assert_eq!(
            text.matches(r#""dnat":{"addr":"10.89.0.2","port":80}"#)
                .count(),
            2,
            "{text}"
        );
        assert!(text.contains(r#""right":"127.0.0.1""#), "{text}");
    }
}
