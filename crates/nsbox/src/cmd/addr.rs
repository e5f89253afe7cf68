//! `nsbox addr ...`: addresses in iproute2's words (`ip addr`).

use nsbox_net::addr::{self, Addr};
use nsbox_net::cidr::Cidr;
use nsbox_net::link::{self, Link};

use super::ipargs::{usage, Netlink, Words};

#[derive(clap::Subcommand, Debug)]
pub enum AddrCommand {
    /// Add an address: `CIDR dev NAME` (IPv4 or IPv6; no `/LEN`: a host).
    Add {
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        words: Vec<String>,
    },
    /// Remove an address: `CIDR dev NAME`.
    #[command(alias = "delete")]
    Del {
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        words: Vec<String>,
    },
    /// List addresses per device (`[dev] NAME`: of that one), as `ip addr`.
    #[command(aliases = ["show", "ls"])]
    List {
        /// One JSON array in the shape of `ip -j addr`: each device with
        /// its `addr_info`.
        #[arg(short = 'j', long)]
        json: bool,
        words: Vec<String>,
    },
}

impl AddrCommand {
    pub fn verb(&self) -> &'static str {
        match self {
            AddrCommand::Add { .. } => "addr add",
            AddrCommand::Del { .. } => "addr del",
            AddrCommand::List { .. } => "addr list",
        }
    }
}

/// A device and its addresses: an entry of `ip -j addr`.
#[derive(serde::Serialize)]
struct LinkAddrs {
    #[serde(flatten)]
    link: Link,
    addr_info: Vec<Addr>,
}

/// Runs one `addr` command through `nl`.
pub fn run(c: AddrCommand, nl: &mut Netlink) -> anyhow::Result<u8> {
    match c {
        AddrCommand::Add { words } => {
            let (cidr, dev) = cidr_dev(&words)?;
            addr::add(nl.socket()?, dev, cidr)?;
            Ok(0)
        }
        AddrCommand::Del { words } => {
            let (cidr, dev) = cidr_dev(&words)?;
            addr::delete(nl.socket()?, dev, cidr)?;
            Ok(0)
        }
        AddrCommand::List { json, words } => list(nl, json, &words),
    }
}

/// `CIDR dev NAME`, in either order (`local CIDR` too), as ip takes them.
fn cidr_dev(words: &[String]) -> anyhow::Result<(Cidr, &str)> {
    let mut w = Words::new(words);
    let mut cidr = None;
    let mut dev = None;
    while let Some(word) = w.next() {
        match word {
            "dev" => dev = Some(w.value("dev")?),
            "local" => cidr = Some(w.value("local")?),
            a if cidr.is_none() => cidr = Some(a),
            other => return usage(format!("unexpected \"{other}\"")),
        }
    }
    let Some(cidr) = cidr else {
        return usage("missing the address (ADDR/LEN dev NAME)");
    };
    let Some(dev) = dev else {
        return usage("missing \"dev NAME\"");
    };
    Ok((cidr.parse()?, dev))
}

fn list(nl: &mut Netlink, json: bool, words: &[String]) -> anyhow::Result<u8> {
    let mut w = Words::new(words);
    let only = match words.is_empty() {
        true => None,
        false => Some(w.device("the device name")?),
    };
    w.end()?;
    let rtnl = nl.socket()?;
    let only = only.map(|name| link::index(rtnl, name)).transpose()?;
    let addrs = addr::list(rtnl, only)?;
    let mut out = Vec::new();
    for l in link::list(rtnl)? {
        if only.is_some_and(|i| i != l.ifindex) {
            continue;
        }
        let addr_info: Vec<Addr> = addrs
            .iter()
            .filter(|a| a.ifindex == l.ifindex)
            .cloned()
            .collect();
        out.push(LinkAddrs {
            // `ip -j addr` has no linkinfo (only with -d)
            link: Link {
                linkinfo: None,
                ..l
            },
            addr_info,
        });
    }
    if json {
        println!("{}", serde_json::to_string(&out)?);
        return Ok(0);
    }
    for l in &out {
        println!("{}", super::link::header_line(&l.link));
        for a in &l.addr_info {
            let label = a
                .label
                .as_deref()
                .map(|l| format!(" {l}"))
                .unwrap_or_default();
            println!(
                "    {} {}/{} scope {}{label}",
                a.family, a.local, a.prefixlen, a.scope
            );
        }
    }
    Ok(0)
}
