//! `nsbox route ...`: routes of the main table in iproute2's words
//! (`ip route`).

use nsbox_net::route::{self, Dest, Family, Route, RouteSpec};

use super::ipargs::{usage, Netlink, Words};

#[derive(clap::Subcommand, Debug)]
pub enum RouteCommand {
    /// Add a route: `PREFIX|default [via IP] [dev NAME]` (one of them at
    /// least; without `via`, the network is on the link).
    Add {
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        words: Vec<String>,
    },
    /// Delete a route: `PREFIX|default [via IP] [dev NAME]`.
    #[command(alias = "delete")]
    Del {
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        words: Vec<String>,
    },
    /// List the routes of the main table, IPv4 then IPv6, as `ip route`.
    #[command(aliases = ["show", "ls"])]
    List {
        /// One JSON array in the shape of `ip -j route`.
        #[arg(short = 'j', long)]
        json: bool,
        /// Only IPv4 routes.
        #[arg(short = '4', conflicts_with = "v6")]
        v4: bool,
        /// Only IPv6 routes.
        #[arg(short = '6')]
        v6: bool,
    },
}

impl RouteCommand {
    pub fn verb(&self) -> &'static str {
        match self {
            RouteCommand::Add { .. } => "route add",
            RouteCommand::Del { .. } => "route del",
            RouteCommand::List { .. } => "route list",
        }
    }
}

/// Runs one `route` command through `nl`.
pub fn run(c: RouteCommand, nl: &mut Netlink) -> anyhow::Result<u8> {
    match c {
        RouteCommand::Add { words } => {
            let spec = spec(&words)?;
            if spec.via.is_none() && spec.dev.is_none() {
                return usage("missing \"via IP\" or \"dev NAME\"");
            }
            route::add(nl.socket()?, &spec)?;
            Ok(0)
        }
        RouteCommand::Del { words } => {
            route::delete(nl.socket()?, &spec(&words)?)?;
            Ok(0)
        }
        RouteCommand::List { json, v4, v6 } => {
            let family = match (v4, v6) {
                (true, _) => Some(Family::V4),
                (_, true) => Some(Family::V6),
                _ => None,
            };
            let routes = route::list(nl.socket()?, family)?;
            if json {
                println!("{}", serde_json::to_string(&routes)?);
            } else {
                for r in &routes {
                    println!("{}", line(r));
                }
            }
            Ok(0)
        }
    }
}

/// `[to] PREFIX|default [via IP] [dev NAME]`, keywords in any order.
fn spec(words: &[String]) -> anyhow::Result<RouteSpec<'_>> {
    let mut w = Words::new(words);
    let mut dst = None;
    let mut via = None;
    let mut dev = None;
    while let Some(word) = w.next() {
        match word {
            "via" => {
                let v = w.value("via")?;
                via = Some(v.parse().map_err(|_| {
                    anyhow::anyhow!("invalid gateway {v:?}: not an IPv4 or IPv6 address")
                })?);
            }
            "dev" => dev = Some(w.value("dev")?),
            "to" => dst = Some(w.value("to")?),
            d if dst.is_none() => dst = Some(d),
            other => return usage(format!("unexpected \"{other}\"")),
        }
    }
    let dst = match dst {
        None => return usage("missing the destination (PREFIX or default)"),
        Some("default") => Dest::Default,
        Some(d) => Dest::Net(d.parse()?),
    };
    Ok(RouteSpec { dst, via, dev })
}

/// ip's line: `default via 10.0.0.1 dev v0`, `10.0.0.0/24 dev v0 proto
/// kernel scope link src 10.0.0.2`, `fd00::/64 dev v0 proto kernel metric
/// 256 pref medium`.
fn line(r: &Route) -> String {
    let mut s = String::new();
    if let Some(k) = &r.kind {
        s.push_str(k);
        s.push(' ');
    }
    s.push_str(&r.dst);
    if let Some(g) = r.gateway {
        s.push_str(&format!(" via {g}"));
    }
    if let Some(d) = &r.dev {
        s.push_str(&format!(" dev {d}"));
    }
    if let Some(p) = &r.protocol {
        s.push_str(&format!(" proto {p}"));
    }
    if let Some(sc) = r.scope {
        s.push_str(&format!(" scope {sc}"));
    }
    if let Some(src) = r.prefsrc {
        s.push_str(&format!(" src {src}"));
    }
    if let Some(m) = r.metric {
        s.push_str(&format!(" metric {m}"));
    }
    if let Some(p) = r.pref {
        s.push_str(&format!(" pref {p}"));
    }
    s
}
