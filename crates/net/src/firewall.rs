//! The host rules of a bridge network, in an nftables table of nsbox's own
//! (`ip nsbox-BRIDGE`), applied through nft's JSON interface (the
//! `nftables` crate runs `nft -j`), as podman's netavark keeps its rules:
//! traffic from the subnet to anywhere else is masqueraded, the bridge's
//! traffic is forwarded, and IPv4 forwarding is on. The whole table is
//! written in one transaction (flushed and refilled, so applying twice is
//! harmless) and deleted with the network's last container.

use serde_json::{json, Value};

use crate::cidr::Cidr;
use crate::Error;

/// The table of bridge `bridge`'s rules.
pub fn table(bridge: &str) -> String {
    format!("nsbox-{bridge}")
}

/// Writes the table for `bridge` and `subnet` and turns IPv4 forwarding on
/// (in the caller's network namespace).
pub fn apply(bridge: &str, subnet: Cidr) -> Result<(), Error> {
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1")
        .map_err(|e| Error::io("write", "/proc/sys/net/ipv4/ip_forward", e))?;
    nft(&rules(bridge, subnet), "write the bridge's nftables rules")
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

fn rules(bridge: &str, subnet: Cidr) -> Value {
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
    json!({"nftables": [
        {"add": {"table": {"family": "ip", "name": t}}},
        {"flush": {"table": {"family": "ip", "name": t}}},
        chain("postrouting", "nat", "postrouting", 100),
        chain("forward", "filter", "forward", 0),
        rule("postrouting", json!([
            {"match": {"op": "==", "left": field("saddr"), "right": net}},
            {"match": {"op": "!=", "left": field("daddr"), "right": net}},
            {"masquerade": null}
        ])),
        rule("forward", json!([
            {"match": {"op": "==", "left": iface("iifname"), "right": bridge}},
            {"accept": null}
        ])),
        rule("forward", json!([
            {"match": {"op": "==", "left": iface("oifname"), "right": bridge}},
            {"accept": null}
        ])),
    ]})
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
        let r = rules("nsbox0", "10.89.0.0/24".parse().unwrap());
        let cmds = r["nftables"].as_array().unwrap();
        assert_eq!(cmds[0]["add"]["table"]["name"], "nsbox-nsbox0");
        assert_eq!(cmds[1]["flush"]["table"]["name"], "nsbox-nsbox0");
        let masq = &cmds[4]["add"]["rule"]["expr"];
        assert_eq!(masq[0]["match"]["right"]["prefix"]["addr"], "10.89.0.0");
        assert_eq!(masq[0]["match"]["right"]["prefix"]["len"], 24);
        assert!(masq[2].get("masquerade").is_some());
    }
}
