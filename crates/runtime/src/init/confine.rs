//! The last confinement steps of init (and of an exec'd process): the LSM
//! exec label and the seccomp filter.
//!
//! Where the filter goes, as runc: without no_new_privs the kernel accepts a
//! filter only from a process holding CAP_SYS_ADMIN, so it is loaded before
//! the capabilities are dropped ([`Seccomp::before_caps`]); with
//! no_new_privs it is loaded as late as possible, after no_new_privs is set,
//! right before init reports ready and waits on the exec fifo
//! ([`Seccomp::last`]), so the fewest of our own calls run under it.

use std::os::fd::{AsFd, OwnedFd};

use oci_spec::runtime::Process;

use crate::seccomp::Compiled;
use crate::step::{Failure, Step, StepResult};

/// The compiled filter and, for SCMP_ACT_NOTIFY, the socket the listener
/// fd goes back to nsbox on.
#[derive(Clone, Copy)]
pub struct Seccomp<'a> {
    pub compiled: Option<&'a Compiled>,
    pub listener: Option<&'a OwnedFd>,
}

impl Seccomp<'_> {
    /// Loads the filter now when the process will not set no_new_privs.
    pub fn before_caps(&self, p: &Process) -> Result<(), Failure> {
        if p.no_new_privileges().unwrap_or(false) {
            return Ok(());
        }
        self.load()
    }

    /// Loads the filter now when the process set no_new_privs.
    pub fn last(&self, p: &Process) -> Result<(), Failure> {
        if !p.no_new_privileges().unwrap_or(false) {
            return Ok(());
        }
        self.load()
    }

    fn load(&self) -> Result<(), Failure> {
        let Some(c) = self.compiled else {
            return Ok(());
        };
        let listener = nsbox_seccomp::load(&c.program).map_err(|e| Failure {
            step: Step::Seccomp,
            errno: match e {
                nsbox_seccomp::Error::Load(io) => io.raw_os_error().unwrap_or(libc::EINVAL),
                _ => libc::EINVAL,
            },
        })?;
        if let (Some(fd), Some(socket)) = (listener, self.listener) {
            nsbox_ns::fdpass::send_fd(socket.as_fd(), fd.as_fd()).step(|| Step::Seccomp)?;
        }
        Ok(())
    }
}

/// Sets the label the next execve switches to (checked by `lsm::check`):
/// AppArmor through `attr/apparmor/exec` (`attr/exec` on kernels before
/// 5.8), SELinux through `attr/exec`. Runs in init after pivot_root, so
/// /proc is the container's.
pub fn exec_label(p: &Process) -> Result<(), Failure> {
    if let Some(profile) = p.apparmor_profile().as_deref().filter(|s| !s.is_empty()) {
        let modern = "/proc/thread-self/attr/apparmor/exec";
        let file = if std::path::Path::new(modern).exists() {
            modern
        } else {
            "/proc/thread-self/attr/exec"
        };
        std::fs::write(file, format!("exec {profile}")).step(|| Step::LsmLabel {
            file: file.to_string(),
        })?;
    }
    if let Some(label) = p.selinux_label().as_deref().filter(|s| !s.is_empty()) {
        let file = "/proc/thread-self/attr/exec";
        std::fs::write(file, label).step(|| Step::LsmLabel {
            file: file.to_string(),
        })?;
    }
    Ok(())
}

/// `linux.mountLabel` (SELinux, checked by the parent) as the `context=`
/// option of a file system mount, as runc: not for bind mounts (they keep
/// their files' labels), nor proc and sysfs, nor cgroups.
pub fn with_mount_label(m: &oci_spec::runtime::Mount, label: &str) -> oci_spec::runtime::Mount {
    let typ = m.typ().as_deref().unwrap_or("");
    let options = m.options().clone().unwrap_or_default();
    let bind = typ == "bind" || options.iter().any(|o| o == "bind" || o == "rbind");
    if bind || matches!(typ, "proc" | "sysfs" | "cgroup" | "cgroup2") {
        return m.clone();
    }
    let mut m = m.clone();
    let mut options = options;
    options.push(format!("context=\"{label}\""));
    m.set_options(Some(options));
    m
}
