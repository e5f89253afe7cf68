//! `nsbox run`: runc's run (create + start + wait) of a bundle, or, with a
//! command after `--`, the sandbox's run (`nsbox_sandbox::run`): the
//! command isolated in new namespaces, no bundle needed.
use std::path::PathBuf;

use nsbox_sandbox::flags;
use nsbox_sandbox::limits;
use nsbox_sandbox::{Net, RunOptions};

use super::create::ContainerFlags;

#[derive(clap::Args, Debug)]
#[group(skip)]
#[command(
    override_usage = "nsbox run [OPTIONS] <ID>\n       nsbox run [-d] [--name NAME] [--rootfs DIR] [--net none|host|bridge|pasta|container:NAME|ns:PATH] [-p [IP:]HPORT:CPORT]...\n                 [--userns] [--init] [--memory SIZE] [--cpus N] [--pids-limit N] [--cpuset-cpus LIST] [-e KEY=VALUE]...\n                 [-w DIR] [--hostname NAME] [--no-proc-view] -- <CMD> [ARGS]..."
)]
pub struct Args {
    /// Do not wait: leave the container running (with `-- CMD`: its output
    /// goes to ROOT/.bundles/NAME/output.log; `nsbox stop`, `nsbox rm`).
    #[arg(short, long)]
    pub detach: bool,
    /// The bundle directory (holding config.json).
    #[arg(short, long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    #[command(flatten)]
    pub container: ContainerFlags,
    #[command(flatten)]
    pub sandbox: SandboxFlags,
    /// The container id (runc's run of a bundle).
    pub id: Option<String>,
    /// The command to run isolated (after `--`), without a bundle.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// The flags of `run -- CMD` (docker's words), refused with a bundle id.
#[derive(clap::Args, Debug, Clone, Default)]
#[group(skip)]
pub struct SandboxFlags {
    /// With `-- CMD`: run this root file system instead of the host's
    /// (read-only) root.
    #[arg(long, value_name = "DIR")]
    pub rootfs: Option<PathBuf>,
    /// With `-- CMD`: `host` shares the host's network (the default;
    /// with --name `bridge` as root, `pasta` without), `none` gives a network namespace with only lo, `bridge` one on the
    /// host's bridge (--bridge, --subnet) with an address, a default
    /// route and the other containers there by name, `pasta` one with a
    /// user-mode network (pasta, also without root), `cni:NAME` one made
    /// by the CNI network NAME's plugins ($NETCONFPATH, $CNI_PATH), `container:NAME`
    /// joins the network namespace of the running container NAME (and
    /// only that one), `ns:PATH` the namespace at PATH (`/run/netns/X`).
    #[arg(long, value_name = "MODE", value_parser = Net::parse)]
    pub net: Option<Net>,
    /// With `--net bridge` or `pasta`: publish the container's port on the host's
    /// addresses (or IP only), its 127.0.0.1 included (repeatable); with
    /// `--net cni:NAME`: given to plugins with the portMappings capability.
    #[arg(
        short = 'p',
        long = "publish",
        value_name = "[IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]"
    )]
    pub publish: Vec<nsbox_net::firewall::PortMap>,
    /// With `--net bridge`: the bridge (made on first use).
    #[arg(long, value_name = "NAME")]
    pub bridge: Option<String>,
    /// With `--net bridge`: the bridge's subnet (fixed by its first
    /// container; the gateway is its first address).
    #[arg(long, value_name = "CIDR", value_parser = parse_subnet)]
    pub subnet: Option<nsbox_net::cidr::Cidr>,
    /// With `-- CMD`: the container's name (and hostname, unless
    /// --hostname): `stop`, `rm`, `--net container:NAME` and `enter -t NAME`
    /// find it by that name while it runs.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// With `-- CMD`: a user namespace too, its root mapped to the caller
    /// (implied when not run as root).
    #[arg(long)]
    pub userns: bool,
    /// With `-- CMD`: a small PID 1 runs CMD as its child, reaping orphans
    /// and passing signals on (CMD as PID 1 ignores those it has no handler
    /// for, Ctrl-C included).
    #[arg(long)]
    pub init: bool,
    /// With `-- CMD`: memory limit (bytes, or 64m, 1g; at least 6m).
    #[arg(short, long, value_name = "SIZE", value_parser = limits::parse_memory)]
    pub memory: Option<i64>,
    /// With `-- CMD`: CPU time in cores (0.5: half a core; quota per 100 ms).
    #[arg(long, value_name = "N", value_parser = limits::parse_cpus)]
    pub cpus: Option<i64>,
    /// With `-- CMD`: at most N processes and threads (0 or -1: no limit).
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = limits::parse_pids)]
    pub pids_limit: Option<i64>,
    /// With `-- CMD`: the CPUs it may run on (0-3, 0,2).
    #[arg(long, value_name = "LIST", value_parser = limits::parse_cpuset)]
    pub cpuset_cpus: Option<String>,
    /// With `-- CMD`: set KEY to VALUE in its environment (repeatable);
    /// KEY alone passes the caller's value, or removes KEY when unset.
    #[arg(short, long, value_name = "KEY=VALUE", value_parser = flags::parse_env)]
    pub env: Vec<String>,
    /// With `-- CMD`: its working directory (absolute; made when missing).
    #[arg(short = 'w', long, value_name = "DIR", value_parser = flags::parse_cwd)]
    pub cwd: Option<PathBuf>,
    /// With `-- CMD`: its hostname (else the generated container id).
    #[arg(long, value_name = "NAME", value_parser = flags::parse_hostname)]
    pub hostname: Option<String>,
    /// With `-- CMD`: leave its /proc files the host's (no per-container
    /// view, which is otherwise started when none runs: nsbox proc-view).
    #[arg(long)]
    pub no_proc_view: bool,
}

impl SandboxFlags {
    /// The first of these flags that is set, for "needs a command".
    fn first_set(&self) -> Option<&'static str> {
        [
            (self.rootfs.is_some(), "--rootfs"),
            (self.net.is_some(), "--net"),
            (!self.publish.is_empty(), "--publish"),
            (self.name.is_some(), "--name"),
            (self.userns, "--userns"),
            (self.init, "--init"),
            (self.memory.is_some(), "--memory"),
            (self.cpus.is_some(), "--cpus"),
            (self.pids_limit.is_some(), "--pids-limit"),
            (self.cpuset_cpus.is_some(), "--cpuset-cpus"),
            (!self.env.is_empty(), "--env"),
            (self.cwd.is_some(), "--cwd"),
            (self.hostname.is_some(), "--hostname"),
            (self.no_proc_view, "--no-proc-view"),
        ]
        .into_iter()
        .find_map(|(set, flag)| set.then_some(flag))
    }

    /// The sandbox's request for `command`, from the caller's environment,
    /// working directory and terminal.
    fn options(self, root: PathBuf, command: Vec<String>, detach: bool) -> RunOptions {
        RunOptions {
            command,
            rootfs: self.rootfs,
            // a named container's default is a network of its own, as
            // docker's and podman's: the bridge as root, pasta without
            // root (as podman's rootless); an unnamed run shares the host's
            net: match self.net.unwrap_or(match self.name {
                None => Net::Host,
                Some(_) if rustix::process::geteuid().is_root() => Net::Bridge(Default::default()),
                Some(_) => Net::Pasta(Default::default()),
            }) {
                Net::Bridge(mut b) => {
                    b.bridge = self.bridge.unwrap_or(b.bridge);
                    b.subnet = self.subnet.unwrap_or(b.subnet);
                    b.ports = self.publish;
                    Net::Bridge(b)
                }
                Net::Cni(mut c) => {
                    c.ports = self.publish;
                    Net::Cni(c)
                }
                Net::Pasta(mut p) => {
                    p.ports = self.publish;
                    Net::Pasta(p)
                }
                other => other,
            },
            // detached without a name: a generated one, printed
            name: match (self.name, detach) {
                (None, true) => Some(nsbox_sandbox::run::generate_id()),
                (name, _) => name,
            },
            detach,
            userns: self.userns,
            init: self.init,
            tty: rustix::termios::isatty(rustix::stdio::stdin()),
            env: flags::environment(&self.env),
            cwd: self.cwd,
            caller_cwd: std::env::current_dir().ok(),
            limits: limits::Limits {
                memory: self.memory,
                cpu_quota: self.cpus,
                pids: limits::pids_limit(self.pids_limit),
                cpuset_cpus: self.cpuset_cpus,
            },
            hostname: self.hostname,
            proc_view: (!self.no_proc_view)
                .then(|| super::proc_view::view(&root))
                .flatten(),
            root,
        }
    }
}

impl Args {
    /// The words that prefix error messages: `run ID`, or `run CMD`.
    pub fn verb(&self) -> String {
        match (&self.id, self.command.first()) {
            (Some(id), _) => format!("run {id}"),
            (None, Some(cmd)) => format!("run {cmd}"),
            (None, None) => "run".into(),
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    if !args.command.is_empty() {
        return sandboxed(args);
    }
    if let Some(flag) = args.sandbox.first_set() {
        return usage(&format!("{flag} needs a command after --"));
    }
    let Some(id) = args.id else {
        return usage("run needs a container id (with a bundle), or -- CMD [ARGS]...");
    };
    let bundle = args.bundle.unwrap_or_else(|| PathBuf::from("."));
    let outcome = nsbox_runtime::run::run(&args.container.options(&id, &bundle)?, args.detach)?;
    super::warn(&format!("run {id}"), outcome.warnings);
    Ok(outcome.code)
}

/// `nsbox run [--rootfs DIR] [--net none|host] [--userns] [limits] [-e, -w, --hostname] -- CMD ARGS...`
fn sandboxed(args: Args) -> anyhow::Result<u8> {
    let bundle_flag = [
        (args.id.is_some(), "a container id"),
        (args.bundle.is_some(), "--bundle"),
    ]
    .into_iter()
    .find_map(|(set, flag)| set.then_some(flag))
    .or_else(|| args.container.first_set());
    if let Some(flag) = bundle_flag {
        return usage(&format!(
            "{flag} is for a bundle's container, not with -- CMD"
        ));
    }
    let root = rustix::process::geteuid().is_root();
    let named = args.sandbox.name.is_some();
    let (bridge, cni, pasta) = match &args.sandbox.net {
        Some(net) => (
            matches!(net, Net::Bridge(_)),
            matches!(net, Net::Cni(_)),
            matches!(net, Net::Pasta(_)),
        ),
        // a named container's default
        None => (named && root, false, named && !root),
    };
    let misplaced = [
        (
            !args.sandbox.publish.is_empty() && !bridge && !cni && !pasta,
            "--publish needs --net bridge, pasta or cni:NAME",
        ),
        (
            args.sandbox.bridge.is_some() && !bridge,
            "--bridge needs --net bridge",
        ),
        (
            args.sandbox.subnet.is_some() && !bridge,
            "--subnet needs --net bridge",
        ),
    ]
    .into_iter()
    .find_map(|(wrong, msg)| wrong.then_some(msg));
    if let Some(msg) = misplaced {
        return usage(msg);
    }
    let opts = args
        .sandbox
        .options(crate::global::root()?, args.command, args.detach);
    let outcome = match nsbox_sandbox::run(&opts) {
        Ok(outcome) => outcome,
        // A command that could not be started: 127 or 126, as a shell.
        Err(e) => match e.into_exec_failure() {
            Ok((code, cause)) => {
                crate::report::error("run", &cause.into());
                return Ok(code);
            }
            Err(e) => return Err(e.into()),
        },
    };
    super::warn("run", outcome.warnings);
    if let (true, Some(name)) = (opts.detach, &opts.name) {
        println!("{name}");
    }
    Ok(outcome.code)
}

fn parse_subnet(text: &str) -> Result<nsbox_net::cidr::Cidr, String> {
    text.parse::<nsbox_net::cidr::Cidr>()
        .map_err(|e| e.to_string())
}

/// A usage error: one line, exit 2 (as clap's).
fn usage(msg: &str) -> anyhow::Result<u8> {
    crate::report::usage(msg);
    Ok(2)
}
