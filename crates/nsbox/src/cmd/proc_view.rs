//! `nsbox proc-view start|stop|status`: the per-container /proc view server
//! (nsbox-procview). `start` runs the server as a detached child of its own
//! (`start --foreground` is that child, and what a service manager runs),
//! waits for its mount, and returns; its state lives in `--root`.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use nsbox_procview::server;

#[derive(clap::Subcommand, Debug)]
pub enum ProcViewCommand {
    /// Mount the view and serve it in the background.
    Start {
        /// Where to mount it.
        #[arg(long, value_name = "DIR", default_value = nsbox_procview::DEFAULT_MOUNT_POINT)]
        mount_point: PathBuf,
        /// Serve in this process until the mount is removed.
        #[arg(long)]
        foreground: bool,
    },
    /// Unmount the view and end its server.
    Stop,
    /// Whether it runs: its pid and mount point.
    Status {
        #[arg(long)]
        json: bool,
    },
}

impl ProcViewCommand {
    pub fn verb(&self) -> &'static str {
        match self {
            ProcViewCommand::Start { .. } => "proc-view start",
            ProcViewCommand::Stop => "proc-view stop",
            ProcViewCommand::Status { .. } => "proc-view status",
        }
    }
}

/// How long `start` waits for the server's mount, and `stop` for its end.
const WAIT: Duration = Duration::from_secs(10);

pub fn run(c: ProcViewCommand) -> anyhow::Result<u8> {
    let root = &crate::global::root()?;
    match c {
        ProcViewCommand::Start {
            mount_point,
            foreground: true,
        } => server::serve(root, &mount_point)?,
        ProcViewCommand::Start { mount_point, .. } => start(root, &mount_point)?,
        ProcViewCommand::Stop => {
            server::stop(root, WAIT)?;
        }
        ProcViewCommand::Status { json } => match server::status(root)? {
            Some(s) if json => println!(
                "{}",
                serde_json::json!({"running": true, "pid": s.pid, "mount_point": s.mount_point})
            ),
            None if json => println!("{}", serde_json::json!({"running": false})),
            Some(s) => println!(
                "running: pid {}, mounted on {}",
                s.pid,
                s.mount_point.display()
            ),
            None => println!("not running"),
        },
    }
    Ok(0)
}

/// Starts `nsbox proc-view start --foreground` in a process group of its own
/// (a terminal's ^C does not reach it), its errors in ROOT/proc-view.log.
fn start(root: &std::path::Path, mount_point: &std::path::Path) -> anyhow::Result<()> {
    if let Some(s) = server::status(root)? {
        bail!(nsbox_procview::Error::Running {
            pid: s.pid,
            mount_point: s.mount_point,
        });
    }
    std::fs::create_dir_all(root).with_context(|| format!("create {}", root.display()))?;
    let log_path = root.join("proc-view.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("create {}", log_path.display()))?;
    let mount_point = std::path::absolute(mount_point)
        .with_context(|| format!("resolve {}", mount_point.display()))?;
    let exe = std::env::current_exe().context("find nsbox's own executable")?;
    let mut child = Command::new(exe)
        .arg("--root")
        .arg(root)
        .args(["proc-view", "start", "--foreground", "--mount-point"])
        .arg(&mount_point)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("start the proc view server")?;
    if server::wait_ready(root, child.id(), WAIT)? {
        return Ok(());
    }
    let _ = child.kill();
    let _ = child.wait();
    let why = std::fs::read_to_string(&log_path).unwrap_or_default();
    let why = why.trim().strip_prefix("nsbox: ").unwrap_or(why.trim());
    bail!("the server did not come up: {why}")
}
