//! `nsbox unshare`: util-linux `unshare(1)`'s flags, plus `--init`. Maps the
//! flags onto [`UnshareOptions`] and runs [`nsbox_ns::unshare::unshare`].

use std::ffi::OsString;
use std::path::PathBuf;

use nsbox_ns::unshare::{exit_code_for, group_id, user_id, UnshareOptions};
use nsbox_ns::{supervise, IdMaps, IdRange, NsKind, PersistTarget, Propagation, SetGroups};

#[derive(clap::Args, Debug)]
#[command(
    about = "Run a program with some namespaces unshared from the parent",
    after_help = "A namespace given a FILE (--net=/run/netns/x) outlives the program: the \
                  file is created if missing and /proc/PID/ns/KIND bind-mounted onto it.\n\
                  Without a program, runs $SHELL (or /bin/sh) as a login shell."
)]
pub struct Args {
    // Boxed: the verb enum stays small.
    #[command(flatten)]
    flags: Box<Flags>,
}

#[derive(clap::Args, Debug)]
struct Flags {
    /// Unshare the mount namespace [keep it on FILE]
    #[arg(short = 'm', long = "mount", value_name = "FILE", num_args = 0..=1, require_equals = true, action = clap::ArgAction::Append)]
    mount: Option<Vec<PathBuf>>,
    /// Unshare the UTS namespace (hostname, domain name) [keep it on FILE]
    #[arg(short = 'u', long = "uts", value_name = "FILE", num_args = 0..=1, require_equals = true, action = clap::ArgAction::Append)]
    uts: Option<Vec<PathBuf>>,
    /// Unshare the System V IPC namespace [keep it on FILE]
    #[arg(short = 'i', long = "ipc", value_name = "FILE", num_args = 0..=1, require_equals = true, action = clap::ArgAction::Append)]
    ipc: Option<Vec<PathBuf>>,
    /// Unshare the network namespace [keep it on FILE]
    #[arg(short = 'n', long = "net", value_name = "FILE", num_args = 0..=1, require_equals = true, action = clap::ArgAction::Append)]
    net: Option<Vec<PathBuf>>,
    /// Unshare the PID namespace (see --fork, --mount-proc, --init) [keep it on FILE]
    #[arg(short = 'p', long = "pid", value_name = "FILE", num_args = 0..=1, require_equals = true, action = clap::ArgAction::Append)]
    pid: Option<Vec<PathBuf>>,
    /// Unshare the user namespace [keep it on FILE]
    #[arg(short = 'U', long = "user", value_name = "FILE", num_args = 0..=1, require_equals = true, action = clap::ArgAction::Append)]
    user: Option<Vec<PathBuf>>,
    /// Unshare the cgroup namespace [keep it on FILE]
    #[arg(short = 'C', long = "cgroup", value_name = "FILE", num_args = 0..=1, require_equals = true, action = clap::ArgAction::Append)]
    cgroup: Option<Vec<PathBuf>>,
    /// Unshare the time namespace [keep it on FILE]
    #[arg(short = 'T', long = "time", value_name = "FILE", num_args = 0..=1, require_equals = true, action = clap::ArgAction::Append)]
    time: Option<Vec<PathBuf>>,

    /// Fork before running the program (needed for it to be in a new PID namespace)
    #[arg(short = 'f', long)]
    fork: bool,
    /// Run a small init as PID 1 that runs the program, reaps orphans and
    /// passes signals on (needs --pid; implies --fork)
    #[arg(long)]
    init: bool,
    /// Signal the forked child gets when nsbox dies (default SIGKILL; implies --fork)
    #[arg(long = "kill-child", value_name = "SIGNAL", num_args = 0..=1, require_equals = true,
          value_parser = parse_signal)]
    kill_child: Option<Option<i32>>,
    /// Mount a new proc on DIR (default /proc) first (implies --mount)
    #[arg(long = "mount-proc", value_name = "DIR", num_args = 0..=1, require_equals = true)]
    mount_proc: Option<Option<PathBuf>>,
    /// Propagation of / in the new mount namespace
    #[arg(long, value_name = "private|shared|slave|unchanged", default_value = "private",
          value_parser = parse_propagation)]
    propagation: Propagation,

    /// Map the current user and group to root (implies --user)
    #[arg(short = 'r', long = "map-root-user")]
    map_root_user: bool,
    /// Map the current user and group to themselves (implies --user)
    #[arg(short = 'c', long = "map-current-user")]
    map_current_user: bool,
    /// Map the current user to UID (implies --user)
    #[arg(long = "map-user", value_name = "UID|NAME", value_parser = parse_user)]
    map_user: Option<u32>,
    /// Map the current group to GID (implies --user)
    #[arg(long = "map-group", value_name = "GID|NAME", value_parser = parse_group)]
    map_group: Option<u32>,
    /// Map COUNT uids from OUTSIDE to INSIDE (repeatable; util-linux 2.38's
    /// OUTSIDE,INSIDE,COUNT also accepted; implies --user)
    #[arg(long = "map-users", value_name = "INSIDE:OUTSIDE:COUNT", value_parser = parse_range)]
    map_users: Vec<IdRange>,
    /// Map COUNT gids from OUTSIDE to INSIDE (repeatable; implies --user)
    #[arg(long = "map-groups", value_name = "INSIDE:OUTSIDE:COUNT", value_parser = parse_range)]
    map_groups: Vec<IdRange>,
    /// Allow or deny setgroups(2) in the new user namespace
    #[arg(long, value_name = "allow|deny", value_parser = parse_setgroups)]
    setgroups: Option<SetGroups>,
    /// Keep the capabilities gained in the user namespace across exec
    #[arg(long = "keep-caps")]
    keep_caps: bool,

    /// Run the program with its root directory set to DIR
    #[arg(short = 'R', long = "root", value_name = "DIR")]
    root: Option<PathBuf>,
    /// Run the program in working directory DIR
    #[arg(short = 'w', long = "wd", value_name = "DIR")]
    wd: Option<PathBuf>,
    /// Set the uid in the entered namespaces
    #[arg(short = 'S', long = "setuid", value_name = "UID")]
    setuid: Option<u32>,
    /// Set the gid in the entered namespaces (drops supplementary groups)
    #[arg(short = 'G', long = "setgid", value_name = "GID")]
    setgid: Option<u32>,
    /// CLOCK_MONOTONIC offset in seconds in the new time namespace (implies --time)
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    monotonic: Option<i64>,
    /// CLOCK_BOOTTIME offset in seconds in the new time namespace (implies --time)
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    boottime: Option<i64>,

    /// The program and its arguments
    #[arg(value_name = "PROGRAM", trailing_var_arg = true)]
    command: Vec<OsString>,
}

fn parse_range(s: &str) -> Result<IdRange, String> {
    s.parse::<IdRange>().map_err(|e| e.to_string())
}

fn parse_setgroups(s: &str) -> Result<SetGroups, String> {
    s.parse::<SetGroups>().map_err(|e| e.to_string())
}

fn parse_propagation(s: &str) -> Result<Propagation, String> {
    s.parse::<Propagation>().map_err(|e| e.to_string())
}

fn parse_user(s: &str) -> Result<u32, String> {
    user_id(s).map_err(|e| e.to_string())
}

fn parse_group(s: &str) -> Result<u32, String> {
    group_id(s).map_err(|e| e.to_string())
}

fn parse_signal(s: &str) -> Result<i32, String> {
    nsbox_ns::signal::parse(s).ok_or_else(|| format!("unknown signal {s:?}"))
}

impl Flags {
    fn into_options(self) -> UnshareOptions {
        let mut opts = UnshareOptions::default();
        // `-n --net=FILE` is one namespace; the last FILE given wins.
        let mut add = |kind: NsKind, flag: Option<Vec<PathBuf>>| {
            if let Some(files) = flag {
                opts.namespaces.push(kind);
                if let Some(path) = files.into_iter().last() {
                    opts.persist.push(PersistTarget { kind, path });
                }
            }
        };
        add(NsKind::User, self.user);
        add(NsKind::Cgroup, self.cgroup);
        add(NsKind::Ipc, self.ipc);
        add(NsKind::Uts, self.uts);
        add(NsKind::Net, self.net);
        add(NsKind::Pid, self.pid);
        add(NsKind::Mnt, self.mount);
        add(NsKind::Time, self.time);

        let euid = rustix::process::geteuid().as_raw();
        let egid = rustix::process::getegid().as_raw();
        let mut maps = IdMaps::default();
        let (map_user, map_group) = if self.map_root_user {
            (Some(0), Some(0))
        } else if self.map_current_user {
            (Some(euid), Some(egid))
        } else {
            (self.map_user, self.map_group)
        };
        if let Some(inside) = map_user {
            maps.uid.push(IdRange::single(inside, euid));
        }
        if let Some(inside) = map_group {
            maps.gid.push(IdRange::single(inside, egid));
        }
        maps.uid.extend(self.map_users);
        maps.gid.extend(self.map_groups);
        // util-linux denies setgroups whenever it maps the caller's group.
        maps.setgroups = self.setgroups.or(map_group.map(|_| SetGroups::Deny));
        let wants_user = !maps.uid.is_empty() || !maps.gid.is_empty();
        opts.maps = maps;

        let mut imply = |kind: NsKind, yes: bool| {
            if yes && !opts.namespaces.contains(&kind) {
                opts.namespaces.push(kind);
            }
        };
        imply(NsKind::User, wants_user);
        imply(NsKind::Mnt, self.mount_proc.is_some());
        imply(
            NsKind::Time,
            self.monotonic.is_some() || self.boottime.is_some(),
        );

        opts.mount_proc = self
            .mount_proc
            .map(|dir| dir.unwrap_or_else(|| PathBuf::from("/proc")));
        opts.fork = self.fork;
        opts.init = self.init;
        opts.kill_child = self.kill_child.map(|s| s.unwrap_or(libc::SIGKILL));
        opts.propagation = self.propagation;
        opts.monotonic = self.monotonic;
        opts.boottime = self.boottime;
        opts.root = self.root;
        opts.wd = self.wd;
        opts.setuid = self.setuid;
        opts.setgid = self.setgid;
        opts.keep_caps = self.keep_caps;
        opts.command = self.command;
        opts
    }
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let args = *args.flags;
    if args.init && args.pid.is_none() {
        crate::report::usage("--init needs a new PID namespace: add --pid (-p)");
        return Ok(2);
    }
    let opts = args.into_options();
    // SAFETY: nsbox is single-threaded: main runs each verb on its only
    // thread and nothing in the binary starts another.
    match unsafe { nsbox_ns::unshare::unshare(&opts) } {
        Ok(status) => Ok(supervise::exit_code_like(status)),
        Err(err) => {
            let code = exit_code_for(&err);
            let err = anyhow::Error::new(err);
            if code == 1 {
                return Err(err);
            }
            // A program that could not be run: the shell's 127 / 126.
            crate::report::error("unshare", &err);
            Ok(code)
        }
    }
}
