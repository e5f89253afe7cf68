//! `--net pasta`: a network namespace of the container's own with outside
//! access and published ports, made by pasta (Debian's `passt`), podman's
//! user-mode network: no link, address or rule in the caller's network,
//! so it works without root. pasta copies the caller's addresses and
//! routes onto a tap device in the container's namespace and carries its
//! traffic through ordinary sockets of the caller's network.
//!
//! - as root, the namespace is made here and kept on the bundle's `netns`
//!   file, which the container joins and pasta is given (`--netns`);
//! - without root, the runtime makes it in the container's user namespace,
//!   and pasta is started between create and start with the init's pid (it
//!   joins that user namespace as the namespace's owner may).
//!
//! pasta runs in the background for as long as the container; its pid is
//! in the bundle's `pasta.pid` (pasta writes it before it detaches), so
//! [`detach`] stops it at the end of a run, on `rm`, and after a `kill -9`
//! of nsbox (`rm -f` then). pasta does not exit by itself when the
//! container ends: it holds the namespace.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nsbox_net::firewall::{PortMap, Proto};
use rustix::process::{Pid, PidfdFlags, Signal};

use crate::Error;

/// The bundle's mark that its container uses pasta, holding its published
/// ports (written first, so a run killed at any later point leaves
/// [`detach`] what it needs).
const MARK: &str = "pasta.net";
/// pasta's pid, written by pasta itself.
const PID_FILE: &str = "pasta.pid";
/// pasta's messages while it starts (read when it fails).
const LOG: &str = "pasta.log";

/// `--net pasta`, with `-p`'s ports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PastaNet {
    pub ports: Vec<PortMap>,
}

/// Where pasta finds the container's network namespace.
#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    /// A namespace file (as root): pasta joins only the network namespace.
    File(&'a Path),
    /// The container's init (without root): pasta joins its user namespace
    /// and its network namespace.
    Pid(u32),
}

/// A container's pasta network, prepared before create.
#[derive(Debug)]
pub struct Pasta {
    bundle: PathBuf,
    net: PastaNet,
    /// As root: the namespace file the container joins (pasta is running).
    netns: Option<PathBuf>,
}

impl Pasta {
    /// Marks the bundle; as root (`rootless` false) also makes the
    /// namespace on the bundle's `netns` file and starts pasta on it.
    /// Nothing is left on failure.
    pub fn prepare(bundle: &Path, net: &PastaNet, rootless: bool) -> Result<Pasta, Error> {
        let program = program()?;
        let mark = bundle.join(MARK);
        let ports = serde_json::to_vec(&net.ports).expect("serializes");
        fs::write(&mark, ports).map_err(|source| Error::WriteConfig { path: mark, source })?;
        let mut pasta = Pasta {
            bundle: bundle.to_path_buf(),
            net: net.clone(),
            netns: None,
        };
        if !rootless {
            let netns = bundle.join("netns");
            let made = nsbox_net::netns::create_at(&netns)
                .map_err(crate::error::failed("make the network namespace"))
                .and_then(|()| start(&program, bundle, net, Target::File(&netns)));
            if let Err(e) = made {
                let _ = detach(bundle);
                return Err(e);
            }
            pasta.netns = Some(netns);
        }
        Ok(pasta)
    }

    /// The namespace file the container joins, when it is not the runtime
    /// that makes the namespace.
    pub fn netns(&self) -> Option<&Path> {
        self.netns.as_deref()
    }

    /// Between create and start: without root, pasta on the init's
    /// namespaces (as root it already runs).
    pub fn created(&self, pid: u32) -> Result<(), Error> {
        if self.netns.is_some() {
            return Ok(());
        }
        start(&program()?, &self.bundle, &self.net, Target::Pid(pid))
    }
}

/// pasta, from `PATH` (or the usual directories when it is unset).
fn program() -> Result<PathBuf, Error> {
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join("pasta"))
        .find(|p| p.is_file())
        .ok_or(Error::PastaMissing)
}

/// pasta's arguments: set up the namespace's addresses and routes, quiet,
/// its pid in the bundle, only the published ports forwarded in (pasta's
/// default, `auto`, would publish whatever the container listens on) and
/// none from the namespace to the caller's loopback ports (the gateway's
/// address still reaches them, as podman's `host.containers.internal`).
fn args(bundle: &Path, net: &PastaNet, target: Target, root: bool) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--config-net".into(), "--quiet".into()];
    args.push("--pid".into());
    args.push(bundle.join(PID_FILE).into());
    for (flag, proto) in [("-t", Proto::Tcp), ("-u", Proto::Udp)] {
        let specs: Vec<String> = net
            .ports
            .iter()
            .filter(|p| p.proto == proto)
            .map(|p| match p.host_ip {
                Some(ip) => format!("{ip}/{}:{}", p.host_port, p.container_port),
                None => format!("{}:{}", p.host_port, p.container_port),
            })
            .collect();
        if specs.is_empty() {
            args.extend([flag.into(), "none".into()]);
        }
        for spec in specs {
            args.extend([flag.into(), spec.into()]);
        }
    }
    args.extend(["-T".into(), "none".into(), "-U".into(), "none".into()]);
    if root {
        // pasta drops to nobody by default, who may not enter the namespace
        args.extend(["--runas".into(), "0".into()]);
    }
    match target {
        Target::File(path) => args.extend(["--netns".into(), path.into()]),
        Target::Pid(pid) => args.push(pid.to_string().into()),
    }
    args
}

/// Runs pasta until it has set the namespace up and gone to the
/// background; its failure is one line: what it said.
fn start(program: &Path, bundle: &Path, net: &PastaNet, target: Target) -> Result<(), Error> {
    let log_path = bundle.join(LOG);
    let spawn_err = |source| Error::PastaSpawn {
        program: program.to_path_buf(),
        source,
    };
    let log = fs::File::create(&log_path).map_err(spawn_err)?;
    let root = rustix::process::geteuid().is_root();
    let status = Command::new(program)
        .args(args(bundle, net, target, root))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .status()
        .map_err(spawn_err)?;
    if status.success() {
        let _ = fs::remove_file(&log_path);
        return Ok(());
    }
    let said = fs::read_to_string(&log_path).unwrap_or_default();
    let _ = fs::remove_file(&log_path);
    let mut said = reason(&said);
    // pasta says only "Failed to open tun socket": say why when it is the
    // device's mode (0600 where no udev rule made it 0666)
    let tun = rustix::fs::access(
        TUN,
        rustix::fs::Access::READ_OK | rustix::fs::Access::WRITE_OK,
    );
    if said.contains("tun") && tun.is_err() {
        said.push_str(&format!(
            "; {TUN} is not open to this user (Debian's udev rule makes it mode 0666)"
        ));
    }
    Err(Error::PastaFailed { status, said })
}

/// The device pasta opens in the container's namespace, as the caller.
const TUN: &str = "/dev/net/tun";

/// pasta's reason for failing: its last line that is not a note about
/// the system logger or a missing IPv6 route.
fn reason(said: &str) -> String {
    said.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.contains("syslog") && !l.starts_with("No external routable"))
        .unwrap_or("no message")
        .to_owned()
}

/// The published ports of the container of `bundle`, when it is on pasta
/// (for `nsbox ps`).
pub fn describe(bundle: &Path) -> Option<Vec<String>> {
    let ports: Vec<PortMap> = serde_json::from_slice(&fs::read(bundle.join(MARK)).ok()?).ok()?;
    Some(ports.iter().map(|p| p.to_string()).collect())
}

/// Stops the container's pasta and removes its namespace file, by what the
/// bundle records (no mark: nothing to do). pasta is known by its pid
/// file's path in its command line, so a reused pid is never signalled.
pub fn detach(bundle: &Path) -> Result<(), Error> {
    let mark = bundle.join(MARK);
    if !mark.exists() {
        return Ok(());
    }
    let pid_file = bundle.join(PID_FILE);
    if let Ok(text) = fs::read_to_string(&pid_file) {
        if let Some(pid) = text.trim().parse().ok().and_then(Pid::from_raw) {
            stop(pid, &pid_file)?;
        }
    }
    let netns = bundle.join("netns");
    if netns.exists() {
        nsbox_net::netns::release(&netns)
            .map_err(crate::error::failed("release the network namespace"))?;
    }
    for file in [pid_file, bundle.join(LOG), mark] {
        match fs::remove_file(&file) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(Error::PastaCleanup {
                    path: file,
                    source: e,
                })
            }
            _ => {}
        }
    }
    Ok(())
}

/// SIGKILL to pasta `pid` (through a pidfd, so the check and the signal
/// reach one process), then waits until it is gone.
fn stop(pid: Pid, pid_file: &Path) -> Result<(), Error> {
    let Ok(fd) = rustix::process::pidfd_open(pid, PidfdFlags::empty()) else {
        return Ok(()); // gone already
    };
    let cmdline = fs::read(format!("/proc/{}/cmdline", pid.as_raw_nonzero())).unwrap_or_default();
    let ours = cmdline
        .split(|b| *b == 0)
        .any(|arg| arg == pid_file.as_os_str().as_encoded_bytes());
    if !ours {
        return Ok(());
    }
    let _ = rustix::process::pidfd_send_signal(&fd, Signal::KILL);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut fds = [rustix::event::PollFd::new(
        &fd,
        rustix::event::PollFlags::IN,
    )];
    let wait = rustix::event::Timespec {
        tv_sec: 5,
        tv_nsec: 0,
    };
    while Instant::now() < deadline {
        match rustix::event::poll(&mut fds, Some(&wait)) {
            Ok(n) if n > 0 => return Ok(()),
            Err(rustix::io::Errno::INTR) => continue,
            _ => break,
        }
    }
    Err(Error::PastaStop {
        pid: pid.as_raw_nonzero().get() as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(args: Vec<OsString>) -> Vec<String> {
        args.into_iter().map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn ports_map_to_pasta_forwards() {
        let net = PastaNet {
            ports: vec![
                "8080:80".parse().unwrap(),
                "127.0.0.1:5353:53/udp".parse().unwrap(),
            ],
        };
        let a = words(args(Path::new("/b"), &net, Target::Pid(42), false));
        let a = a.join(" ");
        assert_eq!(
            a,
            "--config-net --quiet --pid /b/pasta.pid -t 8080:80 -u 127.0.0.1/5353:53 -T none -U none 42"
        );
    }

    #[test]
    fn no_ports_forward_none_and_root_keeps_root() {
        let a = words(args(
            Path::new("/b"),
            &PastaNet::default(),
            Target::File(Path::new("/b/netns")),
            true,
        ));
        let a = a.join(" ");
        assert!(a.contains("-t none -u none -T none -U none"), "{a}");
        assert!(a.ends_with("--runas 0 --netns /b/netns"), "{a}");
    }

    #[test]
    fn reason_is_pastas_last_real_line() {
        let said = "Failed to send 46 bytes to syslog\nNo external routable interface for IPv6\n\
                    Failed to bind any port for '-t 80', exiting\nFailed to send 9 bytes to syslog\n";
        assert_eq!(reason(said), "Failed to bind any port for '-t 80', exiting");
        assert_eq!(reason(""), "no message");
    }
}
