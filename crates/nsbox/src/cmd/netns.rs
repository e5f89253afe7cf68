//! `nsbox netns ...`: named network namespaces, as `ip netns` keeps them
//! (`/run/netns/NAME`), so either tool sees and enters the other's.

use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;

use anyhow::Context;
use nsbox_net::{netns, nsid, rtnl::Rtnl};

#[derive(clap::Subcommand, Debug)]
pub enum NetnsCommand {
    /// Create a network namespace NAME (only `lo`, down), kept in /run/netns.
    Add { name: String },
    /// Name the network namespace of process PID.
    Attach { name: String, pid: u32 },
    /// Remove the name; refused while a process is still in the namespace.
    #[command(alias = "del")]
    Delete {
        /// Every named namespace.
        #[arg(short = 'a', long = "all", conflicts_with = "name")]
        all: bool,
        #[arg(required_unless_present = "all")]
        name: Option<String>,
    },
    /// List the named namespaces, with their ids (`ip netns set`).
    #[command(aliases = ["ls", "show"])]
    List {
        /// One JSON array: [{"name": ..., "id": ...}].
        #[arg(long)]
        json: bool,
    },
    /// Run CMD in namespace NAME, with /sys of that network and
    /// /etc/netns/NAME/* bound over /etc (what `ip netns exec` does).
    Exec {
        name: String,
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// The processes in namespace NAME.
    Pids { name: String },
    /// The names of the network namespace of PID (default: this process).
    Identify { pid: Option<u32> },
    /// Give namespace NAME the id NSID (a number, or `auto`) in this one.
    Set {
        name: String,
        #[arg(allow_hyphen_values = true)]
        nsid: String,
    },
}

impl NetnsCommand {
    pub fn verb(&self) -> &'static str {
        match self {
            NetnsCommand::Add { .. } => "netns add",
            NetnsCommand::Attach { .. } => "netns attach",
            NetnsCommand::Delete { .. } => "netns delete",
            NetnsCommand::List { .. } => "netns list",
            NetnsCommand::Exec { .. } => "netns exec",
            NetnsCommand::Pids { .. } => "netns pids",
            NetnsCommand::Identify { .. } => "netns identify",
            NetnsCommand::Set { .. } => "netns set",
        }
    }
}

pub fn run(c: NetnsCommand) -> anyhow::Result<u8> {
    match c {
        NetnsCommand::Add { name } => {
            netns::add(&name)?;
        }
        NetnsCommand::Attach { name, pid } => {
            netns::attach(&name, pid)?;
        }
        NetnsCommand::Delete { all: false, name } => {
            netns::delete(name.as_deref().expect("clap requires it"))?;
        }
        NetnsCommand::Delete { all: true, .. } => {
            // every one it can; those in use are said and kept
            let mut failed = false;
            for n in netns::list(|_| Ok(None))? {
                if let Err(e) = netns::delete(&n.name) {
                    crate::report::error("netns delete", &anyhow::Error::new(e));
                    failed = true;
                }
            }
            return Ok(u8::from(failed));
        }
        NetnsCommand::List { json } => list(json)?,
        NetnsCommand::Exec { name, command } => return exec(&name, &command),
        NetnsCommand::Pids { name } => {
            for pid in netns::pids(&name)? {
                println!("{pid}");
            }
        }
        NetnsCommand::Identify { pid } => {
            for name in netns::identify(pid.unwrap_or_else(std::process::id))? {
                println!("{name}");
            }
        }
        NetnsCommand::Set { name, nsid } => {
            let id = match nsid.as_str() {
                "auto" => None,
                n => Some(
                    n.parse::<i32>()
                        .ok()
                        .filter(|n| *n >= 0)
                        .with_context(|| format!("invalid id {n:?}: a number >= 0, or auto"))?,
                ),
            };
            let ns = nsbox_ns::NsFile::open(&netns::existing(&name)?, Some(nsbox_ns::NsKind::Net))?;
            nsid::set(&mut Rtnl::open()?, ns.as_fd(), id)?;
        }
    }
    Ok(0)
}

/// `ip netns list`'s lines (`NAME (id: N)`), or JSON.
fn list(json: bool) -> anyhow::Result<()> {
    let mut rtnl = Rtnl::open()?;
    let named = netns::list(|path| {
        let ns = nsbox_ns::NsFile::open(path, Some(nsbox_ns::NsKind::Net))?;
        nsid::get(&mut rtnl, ns.as_fd())
    })?;
    if json {
        println!("{}", serde_json::to_string(&named)?);
        return Ok(());
    }
    for n in named {
        match n.id {
            Some(id) => println!("{} (id: {id})", n.name),
            None => println!("{}", n.name),
        }
    }
    Ok(())
}

/// Enters NAME (see `nsbox_net::netns_exec`) and execs the command; exits
/// as a shell would when it cannot (127 not found, 126 not executable).
fn exec(name: &str, command: &[String]) -> anyhow::Result<u8> {
    for failed in nsbox_net::netns_exec::enter(name)? {
        eprintln!("nsbox: netns exec: warning: {failed}");
    }
    let err = std::process::Command::new(&command[0])
        .args(&command[1..])
        .exec();
    let code = if err.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    crate::report::error(
        "netns exec",
        &anyhow::Error::new(err).context(format!("exec {:?}", command[0])),
    );
    Ok(code)
}
