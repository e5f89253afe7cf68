//! `nsbox enter`: run a program in the namespaces of a process or of
//! namespace files (util-linux `nsenter`'s flags). Maps the flags onto
//! [`nsbox_ns::enter::EnterOptions`] and calls [`nsbox_ns::enter::run`].

use std::ffi::OsString;
use std::path::PathBuf;

use nsbox_ns::enter::{Credential, DirSource, EnterOptions, NsSource};
use nsbox_ns::{Error, NsKind};

use crate::target::Target;

#[derive(clap::Args, Debug)]
#[command(
    about = "Run a program in the namespaces of a process or of namespace files (nsenter)",
    long_about = "Run a program in the namespaces of a process or of namespace files, as \
util-linux nsenter does. Namespaces are joined user first, mount last; a PID namespace \
makes nsbox fork so that the program is inside it (unless -F). With -t and no namespace \
option, every namespace of the target that differs from ours is entered (as -a). \
The program defaults to $SHELL, or /bin/sh when $SHELL does not exist after -r.",
    override_usage = "nsbox enter [-t PID|NAME] [-a] [-m -u -i -n -p -U -C -T[=FILE]] [OPTIONS] [PROGRAM [ARG]...]"
)]
pub struct Args {
    /// Target process to take namespaces (and -r/-w directories) from: a
    /// pid, or the name of a running container (`run -d --name`)
    #[arg(short = 't', long = "target", value_name = "PID|NAME", value_parser = Target::parse)]
    target: Option<Target>,

    /// Enter every namespace of the target that differs from ours
    #[arg(short = 'a', long = "all")]
    all: bool,

    /// The namespace flags (boxed: eight paths would make `Args` the
    /// largest verb by far).
    #[command(flatten)]
    ns: Box<NsFlags>,

    /// Set the uid in the entered namespaces ("follow": the target's)
    #[arg(short = 'S', long = "setuid", value_name = "UID", value_parser = parse_cred)]
    setuid: Option<Credential>,

    /// Set the gid in the entered namespaces ("follow": the target's)
    #[arg(short = 'G', long = "setgid", value_name = "GID", value_parser = parse_cred)]
    setgid: Option<Credential>,

    /// Keep uids, gids and groups as they are, even when entering a user namespace
    #[arg(long = "preserve-credentials", conflicts_with_all = ["setuid", "setgid"])]
    preserve_credentials: bool,

    /// Set the root directory (default: the target's), resolved before entering
    #[arg(short = 'r', long = "root", value_name = "DIR", num_args = 0..=1, require_equals = true)]
    root: Option<Option<PathBuf>>,

    /// Set the working directory (default: the target's), resolved before entering
    #[arg(short = 'w', long = "wd", value_name = "DIR", num_args = 0..=1, require_equals = true,
          conflicts_with = "wdns")]
    wd: Option<Option<PathBuf>>,

    /// Set the working directory to DIR as seen inside the entered namespaces and root
    #[arg(short = 'W', long = "wdns", value_name = "DIR")]
    wdns: Option<PathBuf>,

    /// Take the environment of the target process instead of ours
    #[arg(short = 'e', long = "env")]
    env: bool,

    /// Do not fork before running the program, even after entering a PID namespace
    #[arg(short = 'F', long = "no-fork")]
    no_fork: bool,

    /// The program and its arguments (default: $SHELL, or /bin/sh)
    #[arg(value_name = "PROGRAM", trailing_var_arg = true)]
    command: Vec<OsString>,
}

#[derive(clap::Args, Debug)]
struct NsFlags {
    /// Enter the mount namespace (the target's, or the one FILE refers to)
    #[arg(short = 'm', long = "mount", value_name = "FILE", num_args = 0..=1, require_equals = true)]
    mount: Option<Option<PathBuf>>,

    /// Enter the UTS namespace (hostname, domain name)
    #[arg(short = 'u', long = "uts", value_name = "FILE", num_args = 0..=1, require_equals = true)]
    uts: Option<Option<PathBuf>>,

    /// Enter the System V IPC namespace
    #[arg(short = 'i', long = "ipc", value_name = "FILE", num_args = 0..=1, require_equals = true)]
    ipc: Option<Option<PathBuf>>,

    /// Enter the network namespace (e.g. --net=/run/netns/NAME)
    #[arg(short = 'n', long = "net", value_name = "FILE", num_args = 0..=1, require_equals = true)]
    net: Option<Option<PathBuf>>,

    /// Enter the PID namespace (the program is forked into it unless -F)
    #[arg(short = 'p', long = "pid", value_name = "FILE", num_args = 0..=1, require_equals = true)]
    pid: Option<Option<PathBuf>>,

    /// Enter the user namespace (then uid and gid become 0 unless -S/-G or --preserve-credentials)
    #[arg(short = 'U', long = "user", value_name = "FILE", num_args = 0..=1, require_equals = true)]
    user: Option<Option<PathBuf>>,

    /// Enter the cgroup namespace
    #[arg(short = 'C', long = "cgroup", value_name = "FILE", num_args = 0..=1, require_equals = true)]
    cgroup: Option<Option<PathBuf>>,

    /// Enter the time namespace
    #[arg(short = 'T', long = "time", value_name = "FILE", num_args = 0..=1, require_equals = true)]
    time: Option<Option<PathBuf>>,
}

fn parse_cred(text: &str) -> Result<Credential, String> {
    if text == "follow" {
        return Ok(Credential::Follow);
    }
    text.parse::<u32>()
        .map(Credential::Id)
        .map_err(|_| format!("{text:?} is neither a number nor \"follow\""))
}

impl Args {
    fn namespaces(&self) -> Vec<(NsKind, NsSource)> {
        let ns = &self.ns;
        let flags = [
            (NsKind::User, &ns.user),
            (NsKind::Cgroup, &ns.cgroup),
            (NsKind::Ipc, &ns.ipc),
            (NsKind::Uts, &ns.uts),
            (NsKind::Net, &ns.net),
            (NsKind::Pid, &ns.pid),
            (NsKind::Mnt, &ns.mount),
            (NsKind::Time, &ns.time),
        ];
        flags
            .into_iter()
            .filter_map(|(kind, flag)| {
                flag.as_ref().map(|file| match file {
                    Some(path) => (kind, NsSource::File(path.clone())),
                    None => (kind, NsSource::Target),
                })
            })
            .collect()
    }

    /// Checks what clap cannot express; `Err` is a usage message. `target`
    /// is `-t` resolved to a pid.
    fn to_options(&self, target: Option<u32>) -> Result<EnterOptions, String> {
        let namespaces = self.namespaces();
        if self.target.is_none() {
            if let Some((kind, _)) = namespaces
                .iter()
                .find(|(_, s)| matches!(s, NsSource::Target))
            {
                return Err(format!(
                    "--{} needs a FILE or a target process (-t PID)",
                    kind.long_name()
                ));
            }
            for (flag, given) in [
                ("--all", self.all),
                ("--env", self.env),
                ("--root", matches!(self.root, Some(None))),
                ("--wd", matches!(self.wd, Some(None))),
                ("--setuid follow", self.setuid == Some(Credential::Follow)),
                ("--setgid follow", self.setgid == Some(Credential::Follow)),
            ] {
                if given {
                    return Err(format!("{flag} needs a target process (-t PID)"));
                }
            }
            if namespaces.is_empty() {
                return Err(
                    "nothing to enter: give -t PID, or a namespace option with =FILE".into(),
                );
            }
        }
        let dir = |d: &Option<Option<PathBuf>>| {
            d.as_ref().map(|p| match p {
                Some(path) => DirSource::Path(path.clone()),
                None => DirSource::Target,
            })
        };
        Ok(EnterOptions {
            target,
            // -t alone means every namespace of the target.
            all: self.all || namespaces.is_empty(),
            namespaces,
            root: dir(&self.root),
            wd: dir(&self.wd),
            wd_in_ns: self.wdns.clone(),
            uid: self.setuid,
            gid: self.setgid,
            preserve_credentials: self.preserve_credentials,
            target_env: self.env,
            no_fork: self.no_fork,
            command: self.command.clone(),
        })
    }
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let target = args.target.as_ref().map(Target::pid).transpose()?;
    let opts = match args.to_options(target) {
        Ok(opts) => opts,
        Err(usage) => {
            crate::report::usage(&format!("enter: {usage}"));
            return Ok(2);
        }
    };
    // SAFETY: nsbox is single-threaded: main runs each verb on its only
    // thread and nothing in the binary starts another.
    match unsafe { nsbox_ns::enter::run(&opts) } {
        Ok(code) => Ok(code),
        // The program could not be run: say so once and exit as a shell
        // would (127 not found, 126 found but not executable).
        Err(err @ Error::Exec { .. }) => {
            let code = if err.errno() == Some(libc::ENOENT) {
                127
            } else {
                126
            };
            crate::report::error("enter", &anyhow::Error::new(err));
            Ok(code)
        }
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn options(args: &[&str]) -> Result<EnterOptions, String> {
        let cli =
            Cli::try_parse_from([&["nsbox", "enter"], args].concat()).map_err(|e| e.to_string())?;
        match cli.command {
            Command::Enter(args) => {
                let pid = args.target.as_ref().map(|t| match t {
                    Target::Pid(pid) => *pid,
                    Target::Name(n) => panic!("a name ({n}) in a parse test"),
                });
                args.to_options(pid)
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn flags_combine_and_take_files_after_equals() {
        let o = options(&[
            "-t",
            "7",
            "-mu",
            "--net=/run/netns/blue",
            "-p=/f",
            "ip",
            "-br",
            "a",
        ])
        .unwrap();
        assert_eq!(o.target, Some(7));
        assert!(!o.all);
        assert_eq!(
            o.namespaces,
            [
                (NsKind::Uts, NsSource::Target),
                (NsKind::Net, NsSource::File("/run/netns/blue".into())),
                (NsKind::Pid, NsSource::File("/f".into())),
                (NsKind::Mnt, NsSource::Target),
            ]
        );
        assert_eq!(o.command, ["ip", "-br", "a"]);
    }

    #[test]
    fn target_alone_means_all() {
        let o = options(&["-t", "7"]).unwrap();
        assert!(o.all && o.namespaces.is_empty() && o.command.is_empty());
    }

    #[test]
    fn directories_and_ids() {
        let o = options(&["-t", "7", "-U", "-r", "-w=/srv", "-S", "follow", "-G", "5"]).unwrap();
        assert_eq!(o.root, Some(DirSource::Target));
        assert_eq!(o.wd, Some(DirSource::Path("/srv".into())));
        assert_eq!(o.uid, Some(Credential::Follow));
        assert_eq!(o.gid, Some(Credential::Id(5)));
        assert!(options(&["-t", "7", "-w", "-W", "/x"]).is_err());
        assert!(options(&["-t", "7", "-S", "1", "--preserve-credentials"]).is_err());
    }

    #[test]
    fn target_needed_without_files() {
        let err = options(&["--uts=/f", "-w"]).unwrap_err();
        assert_eq!(err, "--wd needs a target process (-t PID)");
        let err = options(&["-S", "follow", "--uts=/f"]).unwrap_err();
        assert_eq!(err, "--setuid follow needs a target process (-t PID)");
        assert!(options(&["--uts=/f", "-r=/", "-w=/"]).is_ok());
    }
}
