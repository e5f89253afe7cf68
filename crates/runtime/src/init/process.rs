//! The process's own attributes, last before exec: rlimits, user and
//! groups, capabilities, no_new_privs, cwd, the program to exec, and exec.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use caps::{CapSet, CapsHashSet};
use oci_spec::runtime::{LinuxCapabilities, PosixRlimitType, Process};
use rustix::process::{Resource, Rlimit};
use rustix::thread::{Gid, Uid};

use crate::step::{Failure, Step, StepResult};

/// The PATH used to find the program when `process.env` has none (runc's).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn resource(t: PosixRlimitType) -> Resource {
    use PosixRlimitType as T;
    match t {
        T::RlimitCpu => Resource::Cpu,
        T::RlimitFsize => Resource::Fsize,
        T::RlimitData => Resource::Data,
        T::RlimitStack => Resource::Stack,
        T::RlimitCore => Resource::Core,
        T::RlimitRss => Resource::Rss,
        T::RlimitNproc => Resource::Nproc,
        T::RlimitNofile => Resource::Nofile,
        T::RlimitMemlock => Resource::Memlock,
        T::RlimitAs => Resource::As,
        T::RlimitLocks => Resource::Locks,
        T::RlimitSigpending => Resource::Sigpending,
        T::RlimitMsgqueue => Resource::Msgqueue,
        T::RlimitNice => Resource::Nice,
        T::RlimitRtprio => Resource::Rtprio,
        T::RlimitRttime => Resource::Rttime,
    }
}

/// `process.rlimits`, each set as given (raising a hard limit needs
/// CAP_SYS_RESOURCE; the kernel's EPERM then names the limit).
pub fn rlimits(process: &Process) -> Result<(), Failure> {
    for r in process.rlimits().iter().flatten() {
        let unlimited = |v: u64| (v != u64::MAX).then_some(v);
        rustix::process::setrlimit(
            resource(r.typ()),
            Rlimit {
                current: unlimited(r.soft()),
                maximum: unlimited(r.hard()),
            },
        )
        .step(|| Step::Rlimit {
            name: format!("{:?}", r.typ())
                .to_uppercase()
                .replace("RLIMIT", "RLIMIT_"),
        })?;
    }
    Ok(())
}

/// Converts OCI capability names to the caps crate's, dropping those this
/// kernel does not know (as runc does).
fn capset(set: &Option<oci_spec::runtime::Capabilities>, known: &CapsHashSet) -> CapsHashSet {
    set.iter()
        .flatten()
        .filter_map(|c| format!("CAP_{c}").parse::<caps::Capability>().ok())
        .filter(|c| known.contains(c))
        .collect()
}

fn last_errno() -> io::Error {
    io::Error::last_os_error()
}

/// User, groups and capabilities, in the order the kernel allows:
/// bounding set first (needs CAP_SETPCAP), keep permitted caps across the
/// uid change, change ids, then set inheritable, effective, permitted and
/// ambient to exactly what the config says.
pub fn user_and_caps(process: &Process) -> Result<(), Failure> {
    // One read of cap_last_cap instead of a prctl per capability; a
    // container without /proc falls back to probing.
    let known = caps::runtime::procfs_all_supported(None)
        .unwrap_or_else(|_| caps::runtime::thread_all_supported());
    let wanted: Option<&LinuxCapabilities> = process.capabilities().as_ref();
    if let Some(c) = wanted {
        let bounding = capset(c.bounding(), &known);
        for cap in known.iter().filter(|c| !bounding.contains(c)) {
            caps::drop(None, CapSet::Bounding, *cap)
                .map_err(|_| last_errno())
                .step(|| Step::Capabilities {
                    set: "bounding".into(),
                })?;
        }
    }
    let user = process.user();
    let (uid, gid) = (user.uid(), user.gid());
    rustix::thread::set_keep_capabilities(true)
        .step(|| Step::Capabilities { set: "keep".into() })?;
    let groups: Vec<Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| Gid::from_raw(*g))
        .collect();
    match rustix::thread::set_thread_groups(&groups) {
        Ok(()) => {}
        // A user namespace with setgroups denied: only an empty list could
        // have been asked for meaningfully, and that is what we have.
        Err(rustix::io::Errno::PERM) if groups.is_empty() => {}
        Err(e) => return Err(e).step(|| Step::Groups),
    }
    let g = Gid::from_raw(gid);
    rustix::thread::set_thread_res_gid(g, g, g).step(|| Step::Setgid { gid })?;
    let u = Uid::from_raw(uid);
    rustix::thread::set_thread_res_uid(u, u, u).step(|| Step::Setuid { uid })?;
    rustix::thread::set_keep_capabilities(false)
        .step(|| Step::Capabilities { set: "keep".into() })?;
    let Some(c) = wanted else {
        // No capabilities section: no capabilities (as runc).
        for set in [CapSet::Inheritable, CapSet::Effective, CapSet::Permitted] {
            caps::clear(None, set)
                .map_err(|_| last_errno())
                .step(|| Step::Capabilities {
                    set: format!("{set:?}").to_lowercase(),
                })?;
        }
        return Ok(());
    };
    let sets = [
        (CapSet::Inheritable, capset(c.inheritable(), &known)),
        (CapSet::Effective, capset(c.effective(), &known)),
        (CapSet::Permitted, capset(c.permitted(), &known)),
    ];
    for (set, value) in &sets {
        caps::set(None, *set, value)
            .map_err(|_| last_errno())
            .step(|| Step::Capabilities {
                set: format!("{set:?}").to_lowercase(),
            })?;
    }
    // Like runc: an ambient capability that is not also inheritable and
    // permitted cannot be raised; the kernel refuses it and the rest proceed.
    for cap in capset(c.ambient(), &known) {
        let _ = caps::raise(None, CapSet::Ambient, cap);
    }
    Ok(())
}

/// `env` with `HOME` set, as runc does, when the config leaves it out:
/// the user's home from the container's /etc/passwd, else `/`.
pub fn with_home(env: &[String], uid: u32) -> Vec<String> {
    let mut env = env.to_vec();
    if env_get(&env, "HOME").is_none() {
        let home = std::fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|t| {
                t.lines().find_map(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    (f.len() > 5 && f[2].parse() == Ok(uid)).then(|| f[5].to_string())
                })
            })
            .unwrap_or_else(|| "/".to_string());
        env.push(format!("HOME={home}"));
    }
    env
}

/// The value of `name` in `NAME=VALUE` entries.
fn env_get<'a>(env: &'a [String], name: &str) -> Option<&'a str> {
    env.iter()
        .rev()
        .find_map(|e| e.strip_prefix(name)?.strip_prefix('='))
}

/// Finds `args[0]` the way execvp would (PATH from `process.env`), checked
/// executable for the container's user, so that a wrong program fails
/// `create` with `exec "/bin/nope": No such file or directory` instead of
/// failing invisibly after `start`.
pub fn find_program(arg0: &str, env: &[String]) -> Result<PathBuf, Failure> {
    let step = || Step::Exec {
        path: arg0.to_string(),
    };
    let candidates: Vec<PathBuf> = if arg0.contains('/') {
        vec![PathBuf::from(arg0)]
    } else {
        env_get(env, "PATH")
            .unwrap_or(DEFAULT_PATH)
            .split(':')
            .map(|d| Path::new(if d.is_empty() { "." } else { d }).join(arg0))
            .collect()
    };
    let mut err = rustix::io::Errno::NOENT;
    for c in candidates {
        match executable(&c) {
            Ok(()) => return Ok(c),
            // Like execvp: remember a permission problem, keep looking.
            Err(e) if e == rustix::io::Errno::ACCESS => err = e,
            Err(_) => {}
        }
    }
    Err(err).step(step)
}

fn executable(p: &Path) -> rustix::io::Result<()> {
    let st = rustix::fs::stat(p)?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
        return Err(rustix::io::Errno::ACCESS);
    }
    rustix::fs::access(p, rustix::fs::Access::EXEC_OK)
}

/// Replaces init with the container's program. Only returns on failure.
pub fn exec(program: &Path, args: &[String], env: &[String]) -> io::Error {
    let to_c = |s: &[u8]| CString::new(s).unwrap_or_default();
    let path = to_c(program.as_os_str().as_bytes());
    let argv: Vec<CString> = args.iter().map(|a| to_c(a.as_bytes())).collect();
    let envp: Vec<CString> = env.iter().map(|e| to_c(e.as_bytes())).collect();
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    // SAFETY: every pointer is a NUL-terminated string owned by `argv`,
    // `envp` or `path`, alive for the call; both arrays end with NULL.
    unsafe { libc::execve(path.as_ptr(), argv_p.as_ptr(), envp_p.as_ptr()) };
    io::Error::last_os_error()
}

/// The exit status of an execve that failed after start (nobody listens
/// for a step error any more), as sh gives it: 127 when the program is
/// gone, 126 when it is there but cannot be run (ENOEXEC, EACCES, ...).
pub fn exec_failed_status(err: &io::Error) -> i32 {
    if err.raw_os_error() == Some(libc::ENOENT) {
        127
    } else {
        126
    }
}

/// Signals: Rust's runtime ignores SIGPIPE, and ignored dispositions
/// survive exec; the container's program must start with defaults.
pub fn reset_signals() {
    // SAFETY: setting a default disposition installs no handler code;
    // SIGPIPE is a valid signal number.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    // SAFETY: sigset_t is plain data (a bit array) for which all zeroes is
    // a valid value; sigemptyset sets it properly next.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a live, writable sigset_t.
    unsafe { libc::sigemptyset(&mut set) };
    // SAFETY: an empty, initialised set that sigprocmask only reads; a null
    // old-set pointer is allowed.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut()) };
}

/// Marks every descriptor from `first` up close-on-exec, so the program
/// inherits only stdio and the `--preserve-fds` ones.
pub fn cloexec_from(first: u32) {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC closes nothing; it only
    // sets a flag on descriptors, so no owner loses a live descriptor.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn names(set: &CapsHashSet) -> HashSet<String> {
        set.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn finds_programs_on_path() {
        let env = vec!["PATH=/nonexistent:/bin".to_string()];
        assert_eq!(find_program("sh", &env).unwrap(), PathBuf::from("/bin/sh"));
        let err = find_program("/bin/nope", &env).unwrap_err();
        assert_eq!(err.errno, libc::ENOENT);
        assert_eq!(err.step.to_string(), "exec \"/bin/nope\"");
        assert_eq!(env_get(&env, "PATH"), Some("/nonexistent:/bin"));
        let given = vec!["HOME=/x".to_string()];
        assert_eq!(with_home(&given, 0), given);
        // Not in /etc/passwd: "/".
        assert!(with_home(&[], 4_000_000_000).contains(&"HOME=/".to_string()));
    }

    #[test]
    fn oci_names_map_to_caps() {
        let known = caps::all();
        let mut set = oci_spec::runtime::Capabilities::new();
        set.insert(oci_spec::runtime::Capability::NetBindService);
        let out = capset(&Some(set), &known);
        assert_eq!(
            names(&out),
            HashSet::from(["CAP_NET_BIND_SERVICE".to_string()])
        );
    }
}
