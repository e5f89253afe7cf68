//! runc's global flags and this invocation's values of them, read by the
//! verbs ([`global`]) once the command line is parsed.

use std::path::PathBuf;
use std::sync::OnceLock;

use clap::{Args, ValueEnum};

/// runc's global flags, so container engines can call nsbox as they call
/// runc. As with runc they go before the verb (`nsbox --root R create ...`);
/// they are not clap-global, so verbs keep their own meanings for the same
/// words (`enter --root` is nsenter's).
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Directory for container state (runc: --root) [default: /run/nsbox;
    /// when not root $XDG_RUNTIME_DIR/nsbox, else /run/user/UID/nsbox].
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Append log lines (errors; more with --debug) to FILE.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Format of --log lines: text, or json (one object per line: level, msg, time).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log debug lines too.
    #[arg(long)]
    pub debug: bool,
    /// Use systemd's cgroup driver (runc's flag): the container's cgroup is
    /// a transient unit, cgroupsPath slice:prefix:name; without systemd
    /// running, refused in one line.
    #[arg(long)]
    pub systemd_cgroup: bool,
    /// For link, addr and route: act inside network namespace NS (a name
    /// in /run/netns, a path or a pid), as `ip -n NS`.
    #[arg(short = 'n', long = "netns", value_name = "NS")]
    pub netns: Option<String>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The state directory: `--root`, else [`default_root`]'s.
pub fn root() -> anyhow::Result<PathBuf> {
    match &global().root {
        Some(dir) => Ok(dir.clone()),
        None => default_root(),
    }
}

/// runc's choice: root keeps state in /run; an unprivileged user (who
/// cannot write there) in their own runtime directory: `$XDG_RUNTIME_DIR`,
/// else `/run/user/UID` when it is theirs (after `su`, in cron or a CI job
/// the variable is often unset), else one line saying what to set. Root of
/// a user namespace that is not the host's, with `XDG_RUNTIME_DIR` set and
/// `USER` not `root`, is such a user too: rootless podman calls its runtime
/// so (as runc and crun, nsbox then keeps state in `$XDG_RUNTIME_DIR`).
pub fn default_root() -> anyhow::Result<PathBuf> {
    let euid = rustix::process::geteuid();
    let xdg = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty());
    if euid.is_root() {
        let rootless = xdg.is_some()
            && nsbox_ns::idmap::in_user_namespace()
            && std::env::var_os("USER").is_none_or(|u| u != "root");
        return Ok(match (rootless, xdg) {
            (true, Some(dir)) => PathBuf::from(dir).join("nsbox"),
            _ => PathBuf::from("/run/nsbox"),
        });
    }
    if let Some(dir) = xdg {
        return Ok(PathBuf::from(dir).join("nsbox"));
    }
    let uid = euid.as_raw();
    let own = PathBuf::from(format!("/run/user/{uid}"));
    if rustix::fs::stat(&own).is_ok_and(|st| {
        st.st_uid == uid && rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir()
    }) {
        return Ok(own.join("nsbox"));
    }
    anyhow::bail!(
        "no directory for container state: XDG_RUNTIME_DIR is not set and /run/user/{uid} \
         is missing or not yours; set XDG_RUNTIME_DIR to a directory of your own, or give --root DIR"
    )
}

static GLOBAL: OnceLock<Global> = OnceLock::new();

/// Records this invocation's global flags (once, when parsed).
pub fn set(global: Global) {
    let _ = GLOBAL.set(global);
}

/// The global flags of this invocation (set once by [`set`]).
pub fn global() -> &'static Global {
    GLOBAL.get().expect("cli::parse ran")
}
