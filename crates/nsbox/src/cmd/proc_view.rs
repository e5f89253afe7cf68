//! `nsbox proc-view start|stop|status`: the per-container /proc view
//! (nsbox-procview). `start` runs the view's holder as a detached process
//! (`start --foreground` is the holder itself, and what a service manager
//! runs), which mounts the view and runs its server (`serve`, hidden: the
//! holder's child, on the connection it inherits); `start` returns once the
//! server answers. Their state lives in `--root`.

use std::path::{Path, PathBuf};

use nsbox_procview::{control, device, holder, server, Program};

#[derive(clap::Subcommand, Debug)]
pub enum ProcViewCommand {
    /// Mount the view and serve it in the background.
    Start {
        /// Where to mount it [default: /var/lib/nsbox/proc-view; with
        /// --root R, R/proc-view/mnt].
        #[arg(long, value_name = "DIR")]
        mount_point: Option<PathBuf>,
        /// Hold the view in this process (its servers are its children)
        /// until it is stopped.
        #[arg(long)]
        foreground: bool,
    },
    /// Unmount the view and end its processes.
    Stop,
    /// Whether it runs: its server's pid, its holder's, its mount point.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// A server on the connection descriptor FD its holder passed.
    #[command(hide = true)]
    Serve {
        #[arg(long, value_name = "FD")]
        fd: i32,
        #[arg(long, value_name = "DIR")]
        mount_point: PathBuf,
    },
}

impl ProcViewCommand {
    pub fn verb(&self) -> &'static str {
        match self {
            ProcViewCommand::Start { .. } => "proc-view start",
            ProcViewCommand::Stop => "proc-view stop",
            ProcViewCommand::Status { .. } => "proc-view status",
            ProcViewCommand::Serve { .. } => "proc-view serve",
        }
    }
}

pub fn run(c: ProcViewCommand) -> anyhow::Result<u8> {
    let root = &crate::global::root()?;
    match c {
        ProcViewCommand::Start {
            mount_point,
            foreground,
        } => {
            let mount_point = mount_point.unwrap_or_else(|| default_mount_point(root));
            let program = program(root)?;
            if foreground {
                holder::hold(root, &mount_point, &program)?;
            } else {
                control::start(root, &mount_point, &program)?;
            }
        }
        ProcViewCommand::Serve { fd, mount_point } => {
            server::serve(root, device::inherited(fd)?, &mount_point)?
        }
        ProcViewCommand::Stop => {
            control::stop(root, control::WAIT)?;
        }
        ProcViewCommand::Status { json } => status(root, json)?,
    }
    Ok(0)
}

fn status(root: &Path, json: bool) -> anyhow::Result<()> {
    let server = control::status(root)?;
    let holder = control::holder(root)?;
    match (server, holder) {
        (Some(s), h) if json => println!(
            "{}",
            serde_json::json!({"running": true, "pid": s.pid,
                "holder": h.map(|h| h.pid), "mount_point": s.mount_point})
        ),
        (None, Some(h)) if json => println!(
            "{}",
            serde_json::json!({"running": false, "holder": h.pid, "mount_point": h.mount_point})
        ),
        (None, None) if json => println!("{}", serde_json::json!({"running": false})),
        (Some(s), _) => println!(
            "running: pid {}, mounted on {}",
            s.pid,
            s.mount_point.display()
        ),
        (None, Some(h)) => println!(
            "restarting: holder pid {} keeps {} mounted, its server is starting",
            h.pid,
            h.mount_point.display()
        ),
        (None, None) => println!("not running"),
    }
    Ok(())
}

/// Where the view is mounted for state root `root` unless told: the
/// documented place for the default root, inside the root for another
/// (two roots' views must not meet on one mount point).
pub fn default_mount_point(root: &Path) -> PathBuf {
    match crate::global::global().root {
        Some(_) => nsbox_procview::state::dir(root).join("mnt"),
        None => PathBuf::from(nsbox_procview::DEFAULT_MOUNT_POINT),
    }
}

/// This nsbox, with the same `--root`, for the view's own processes.
pub fn program(root: &Path) -> anyhow::Result<Program> {
    use anyhow::Context;
    let exe = std::env::current_exe().context("find nsbox's own executable")?;
    Ok(Program {
        exe,
        args: vec!["--root".into(), root.into(), "proc-view".into()],
    })
}

/// Where `nsbox run`'s view comes from. Root: the one under `root`,
/// started when none runs (`None` when nsbox cannot find its own program;
/// then runs go without). Without root, which cannot mount FUSE: the one
/// root serves on the default mount point, as LXCFS serves every user.
pub fn view(root: &Path) -> Option<nsbox_sandbox::proc_view::View> {
    use nsbox_sandbox::proc_view::{Autostart, View};
    if !rustix::process::geteuid().is_root() {
        return Some(View::System(nsbox_procview::DEFAULT_MOUNT_POINT.into()));
    }
    Some(View::Own(Autostart {
        program: program(root).ok()?,
        mount_point: default_mount_point(root),
    }))
}
