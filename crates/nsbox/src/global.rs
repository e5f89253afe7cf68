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
    /// $XDG_RUNTIME_DIR/nsbox when not root].
    #[arg(long, value_name = "DIR", default_value_os_t = default_root(), hide_default_value = true)]
    pub root: PathBuf,
    /// Append log lines (errors; more with --debug) to FILE.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Format of --log lines: text, or json (one object per line: level, msg, time).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log debug lines too.
    #[arg(long)]
    pub debug: bool,
    /// Accepted for runc compatibility: cgroups are managed through cgroupfs;
    /// a systemd-style cgroupsPath (slice:prefix:name) is refused clearly.
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

/// runc's choice: root keeps state in /run; an unprivileged user (who
/// cannot write there) in their own runtime directory.
fn default_root() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !rustix::process::geteuid().is_root() && !dir.is_empty() => {
            PathBuf::from(dir).join("nsbox")
        }
        _ => PathBuf::from("/run/nsbox"),
    }
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
