//! `nsbox link ...`: network devices in iproute2's words (`ip link`), so
//! the articles' commands work with the tool's name changed.

use std::os::fd::AsFd;

use nsbox_net::link::{self, Change, Master, NewLink};
use nsbox_net::nsarg;

use super::ipargs::{usage, Netlink, Words};

#[derive(clap::Subcommand, Debug)]
pub enum LinkCommand {
    /// Add a device: `NAME type veth [peer [name] PEER [netns NS]]` or
    /// `NAME type bridge`.
    Add {
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        words: Vec<String>,
    },
    /// Change a device, all in one request: `[dev] NAME` then any of `up`,
    /// `down`, `netns NS` (a name, path or pid), `master BRIDGE`,
    /// `nomaster`, `mtu N`.
    Set {
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        words: Vec<String>,
    },
    /// Delete a device `[dev] NAME` (a veth's peer goes with it).
    #[command(alias = "delete")]
    Del {
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        words: Vec<String>,
    },
    /// List the devices (`[dev] NAME`: only that one), as `ip link`.
    #[command(aliases = ["show", "ls"])]
    List {
        /// One JSON array in the shape of `ip -j -d link`.
        #[arg(short = 'j', long)]
        json: bool,
        words: Vec<String>,
    },
}

impl LinkCommand {
    pub fn verb(&self) -> &'static str {
        match self {
            LinkCommand::Add { .. } => "link add",
            LinkCommand::Set { .. } => "link set",
            LinkCommand::Del { .. } => "link del",
            LinkCommand::List { .. } => "link list",
        }
    }
}

/// Runs one `link` command through `nl` (a wrong keyword is a
/// [`super::ipargs::Usage`] error).
pub fn run(c: LinkCommand, nl: &mut Netlink) -> anyhow::Result<u8> {
    match c {
        LinkCommand::Add { words } => add(nl, &words),
        LinkCommand::Set { words } => set(nl, &words),
        LinkCommand::Del { words } => {
            let mut w = Words::new(&words);
            let name = w.device("the device name")?;
            w.end()?;
            link::delete(nl.socket()?, name)?;
            Ok(0)
        }
        LinkCommand::List { json, words } => list(nl, json, &words),
    }
}

/// `NAME type veth [peer [name] PEER [netns NS]]` | `NAME type bridge`.
fn add(nl: &mut Netlink, words: &[String]) -> anyhow::Result<u8> {
    let mut w = Words::new(words);
    let name = w.device("the device name")?;
    let kind = match w.next() {
        Some("type") => w.value("type")?,
        Some(other) => return usage(format!("unknown keyword \"{other}\" (expected type)")),
        None => return usage("missing \"type veth|bridge\""),
    };
    let mut peer = None;
    let mut peer_ns = None;
    match kind {
        "bridge" => w.end()?,
        "veth" => {
            match w.next() {
                None => {}
                Some("peer") => {
                    let p = match w.next() {
                        Some("name") => w.value("name")?,
                        Some(p) => p,
                        None => return usage("\"peer\" needs a name"),
                    };
                    peer = Some(p);
                }
                Some(other) => {
                    return usage(format!("unknown keyword \"{other}\" (expected peer)"))
                }
            }
            match w.next() {
                None => {}
                Some("netns") => peer_ns = Some(nsarg::open(w.value("netns")?)?),
                Some(other) => return usage(format!("unknown keyword \"{other}\"")),
            }
            w.end()?;
        }
        other => {
            return usage(format!(
                "unsupported type \"{other}\" (nsbox makes veth and bridge)"
            ))
        }
    }
    let new = match kind {
        "bridge" => NewLink::Bridge,
        _ => NewLink::Veth {
            peer,
            peer_netns: peer_ns.as_ref().map(|ns| ns.as_fd()),
        },
    };
    link::add(nl.socket()?, name, new)?;
    Ok(0)
}

/// `[dev] NAME` then `up|down|netns NS|master BRIDGE|nomaster|mtu N`...
fn set(nl: &mut Netlink, words: &[String]) -> anyhow::Result<u8> {
    let mut w = Words::new(words);
    let name = w.device("the device name")?;
    let mut change = Change::default();
    let mut ns = None;
    let mut any = false;
    while let Some(word) = w.next() {
        any = true;
        match word {
            "up" => change.up = Some(true),
            "down" => change.up = Some(false),
            "netns" => ns = Some(nsarg::open(w.value("netns")?)?),
            "master" => change.master = Some(Master::Bridge(w.value("master")?)),
            "nomaster" => change.master = Some(Master::None),
            "mtu" => {
                let v = w.value("mtu")?;
                change.mtu = Some(
                    v.parse()
                        .map_err(|_| anyhow::anyhow!("invalid MTU {v:?}: not a number"))?,
                );
            }
            other => {
                return usage(format!(
                    "unknown keyword \"{other}\" (expected up, down, netns, master, nomaster, mtu)"
                ))
            }
        }
    }
    if !any {
        return usage("nothing to set (up, down, netns NS, master BRIDGE, nomaster, mtu N)");
    }
    change.netns = ns.as_ref().map(|n| n.as_fd());
    link::set(nl.socket()?, name, &change)?;
    Ok(0)
}

fn list(nl: &mut Netlink, json: bool, words: &[String]) -> anyhow::Result<u8> {
    let mut w = Words::new(words);
    let only = match words.is_empty() {
        true => None,
        false => Some(w.device("the device name")?),
    };
    w.end()?;
    let rtnl = nl.socket()?;
    let mut links = link::list(rtnl)?;
    if let Some(name) = only {
        let index = link::index(rtnl, name)?;
        links.retain(|l| l.ifindex == index);
    }
    if json {
        println!("{}", serde_json::to_string(&links)?);
        return Ok(0);
    }
    for l in &links {
        println!("{}", header_line(l));
        let address = l.address.as_deref().unwrap_or("");
        println!("    link/{} {address}", l.link_type);
        if let Some(k) = &l.linkinfo {
            println!("    {}", k.info_kind);
        }
    }
    Ok(0)
}

/// ip's first line of a device: `3: veth0@veth1: <BROADCAST,UP> mtu 1500
/// master br0 state UP` (also `addr list`'s); a peer in another namespace
/// is `@ifN`.
pub fn header_line(l: &link::Link) -> String {
    let peer = match (&l.link, l.link_index) {
        (Some(name), _) => format!("@{name}"),
        (None, Some(i)) => format!("@if{i}"),
        _ => String::new(),
    };
    let master = l
        .master
        .as_deref()
        .map(|m| format!(" master {m}"))
        .unwrap_or_default();
    format!(
        "{}: {}{peer}: <{}> mtu {}{master} state {}",
        l.ifindex,
        l.ifname,
        l.flags.join(","),
        l.mtu,
        l.operstate
    )
}
