//! AppArmor and SELinux labels: `process.apparmorProfile`,
//! `process.selinuxLabel`, `linux.mountLabel`.
//!
//! The parent checks ([`check`]) before anything is created: a label for an
//! LSM the host does not run is one error, as runc gives (a mount label is
//! ignored with a warning instead: [`mount_label`]). Init sets the exec
//! label (`init::confine::exec_label`) while still privileged, before
//! no_new_privs: the kernel switches to it at execve. A mount label goes into the
//! `context=` option of the mounts that take one (see `init::mounts`).

use oci_spec::runtime::{Process, Spec};

use crate::Error;

/// Whether AppArmor is enabled: the module says so and its securityfs
/// directory is there (runc's test).
pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|v| v.trim_start().starts_with('Y'))
        && std::path::Path::new("/sys/kernel/security/apparmor").exists()
}

/// Whether SELinux is enabled: selinuxfs is mounted.
pub fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

/// Refuses process labels the host cannot apply. A mount label without
/// SELinux is not refused (see [`mount_label`]).
pub fn check(spec: &Spec) -> Result<(), Error> {
    if let Some(p) = spec.process() {
        check_process(p)?;
    }
    Ok(())
}

/// The `linux.mountLabel` to put in mounts' `context=` option: none when
/// SELinux is off, since the option would make every such mount fail while
/// labelling protects nothing there (crun does the same; runc refuses the
/// config). `create` warns that the label is ignored.
pub fn mount_label(spec: &Spec) -> Option<&str> {
    let label = spec.linux().as_ref()?.mount_label().as_deref()?;
    (!label.is_empty() && selinux_enabled()).then_some(label)
}

/// The process part of [`check`] (also for `exec`'s process).
pub fn check_process(p: &Process) -> Result<(), Error> {
    let (aa, se) = ("process.apparmorProfile", "process.selinuxLabel");
    if let Some(profile) = p.apparmor_profile().clone().filter(|s| !s.is_empty()) {
        if !apparmor_enabled() {
            return Err(Error::LsmUnavailable {
                field: aa,
                what: "profile",
                value: profile,
                lsm: "AppArmor",
            });
        }
    }
    if let Some(label) = p.selinux_label().clone().filter(|s| !s.is_empty()) {
        if !selinux_enabled() {
            return Err(Error::LsmUnavailable {
                field: se,
                what: "label",
                value: label,
                lsm: "SELinux",
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_lsm_is_one_error() {
        let mut p = Process::default();
        p.set_apparmor_profile(Some("x".into()));
        if apparmor_enabled() {
            // The host can apply it: nothing to refuse.
            check_process(&p).unwrap();
            return;
        }
        let err = check_process(&p).unwrap_err().to_string();
        assert_eq!(
            err,
            r#"config.json: process.apparmorProfile: AppArmor profile "x" requested but AppArmor is not enabled on this host"#
        );
    }
}
