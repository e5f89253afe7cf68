//! nsbox's own extensions to OCI, asked for by annotations in config.json
//! as any engine's extension would be. The sandbox layer (`nsbox run --
//! CMD`) sets them with these constants; nothing else in the runtime knows
//! of it.
//!
//! - [`HOST_ROOT_ANNOTATION`]: init binds the host's root, read-only, as the
//!   container's root ([`bind_host_root`]);
//! - [`INIT_ANNOTATION`]: init stays PID 1 and runs the program as its
//!   child ([`pid1_if_asked`]);
//! - [`CWD_FALLBACK_ANNOTATION`]: `process.cwd` is used when it can be
//!   entered, else `/` ([`chdir`]).
//!
//! The first two could show a container the host's files, so only bundles
//! nsbox generated itself may carry them ([`check_reserved`]).

use std::io;
use std::path::Path;

use oci_spec::runtime::Spec;
use rustix::mount::MountFlags;

use crate::step::{Failure, Step, StepResult};
use crate::Error;

/// Asks init to bind the host's root, read-only and recursively, onto
/// `root.path` before building the container's tree. Value: `ro`.
pub const HOST_ROOT_ANNOTATION: &str = "io.github.nsbox.rootfs.host";

/// Asks init to stay PID 1 (reaping, passing signals on) and run the
/// program as its child (`nsbox run --init`). Value: `true`.
pub const INIT_ANNOTATION: &str = "io.github.nsbox.init";

/// Says `process.cwd` is only a wish (the caller's directory, which may not
/// exist or be enterable inside): init never creates it, and starts the
/// program in `/` when it cannot enter it, as `docker run` does. Value:
/// `true`.
pub const CWD_FALLBACK_ANNOTATION: &str = "io.github.nsbox.cwd.fallback";

/// Where nsbox's generated bundles live, under the state root: the only
/// bundles allowed the reserved annotations.
pub const BUNDLES: &str = ".bundles";

/// Whether `spec` carries annotation `key` with value `value`.
fn asked(spec: &Spec, key: &str, value: &str) -> bool {
    spec.annotations()
        .as_ref()
        .and_then(|a| a.get(key))
        .is_some_and(|v| v == value)
}

/// In create: [`HOST_ROOT_ANNOTATION`] and [`INIT_ANNOTATION`] change what
/// init does with the host's root and PID 1: only a bundle nsbox generated
/// itself may carry them (one in `ROOT/.bundles/`), never a config an
/// engine passes on from an image or a pod, where they could show a
/// container the host's files.
pub(crate) fn check_reserved(spec: &Spec, bundle_dir: &Path, root: &Path) -> Result<(), Error> {
    let Some(annotations) = spec.annotations() else {
        return Ok(());
    };
    let ours = std::path::absolute(root)
        .map(|r| bundle_dir.parent() == Some(r.join(BUNDLES).as_path()))
        .unwrap_or(false);
    for key in [HOST_ROOT_ANNOTATION, INIT_ANNOTATION] {
        if annotations.contains_key(key) && !ours {
            return Err(Error::ConfigField {
                file: "config.json",
                field: format!("annotations.{key:?}"),
                msg: "reserved for the bundles `nsbox run -- CMD` makes".into(),
            });
        }
    }
    Ok(())
}

/// In init, for [`HOST_ROOT_ANNOTATION`]: the host's root, with every mount
/// beneath it, bound onto the (empty) rootfs directory and made read-only
/// recursively by `set_recursive` (init's `mount_setattr`). Runs in the
/// container's mount namespace after `/` was made private, so the host
/// never sees it.
pub(crate) fn bind_host_root(
    spec: &Spec,
    rootfs: &Path,
    set_recursive: fn(&Path, MountFlags) -> io::Result<()>,
) -> Result<(), Failure> {
    if !asked(spec, HOST_ROOT_ANNOTATION, "ro") {
        return Ok(());
    }
    let step = || Step::Mount {
        typ: "bind".into(),
        source: "/".into(),
        dest: rootfs.display().to_string(),
    };
    rustix::mount::mount_bind_recursive("/", rootfs).step(step)?;
    set_recursive(rootfs, MountFlags::RDONLY | MountFlags::NODEV).step(|| Step::Remount {
        dest: rootfs.display().to_string(),
        options: "ro,nodev (recursive)".into(),
    })
}

/// In init, for [`CWD_FALLBACK_ANNOTATION`]: whether `process.cwd` must
/// not be created when missing.
pub(crate) fn cwd_is_a_wish(spec: &Spec) -> bool {
    asked(spec, CWD_FALLBACK_ANNOTATION, "true")
}

/// In init, the last chdir: to `cwd`, or, when that fails and
/// [`CWD_FALLBACK_ANNOTATION`] allows it, to `/`.
pub(crate) fn chdir(spec: &Spec, cwd: &Path) -> rustix::io::Result<()> {
    match rustix::process::chdir(cwd) {
        Err(_) if cwd_is_a_wish(spec) => rustix::process::chdir("/"),
        done => done,
    }
}

/// In init, last before execve, for [`INIT_ANNOTATION`]: forks; the child
/// returns `None` (and execs the program), this process stays PID 1: it
/// reaps every child and passes forwarded signals to the program (a
/// blocked signal counts as handled, so the kernel delivers them to a
/// PID 1), and returns `Some(code)`, the program's status, to exit with.
/// Without the annotation, returns `None` at once.
///
/// # Safety
///
/// The calling process must be single-threaded: the forked child, which
/// goes on to exec, holds a copy of only the calling thread, and a lock
/// another thread held at the fork would stay locked in it.
pub(crate) unsafe fn pid1_if_asked(spec: &Spec) -> Option<i32> {
    if !asked(spec, INIT_ANNOTATION, "true") {
        return None;
    }
    let Ok(signals) = nsbox_ns::supervise::Signals::block() else {
        return None; // the program runs as PID 1 itself
    };
    // SAFETY: the caller guarantees this process has one thread; the child
    // only restores its signal mask and returns to exec.
    match unsafe { libc::fork() } {
        0 => {
            signals.restore();
            None
        }
        pid if pid > 0 => {
            let program = rustix::process::Pid::from_raw(pid).expect("fork returned a pid > 0");
            let code = match nsbox_ns::pid1::init_loop(program, &signals) {
                Ok(status) => status.code(),
                Err(_) => 1,
            };
            Some(i32::from(code))
        }
        _ => {
            signals.restore(); // no fork: the program runs as PID 1 itself
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(annotations: &[(&str, &str)]) -> Spec {
        let mut spec = Spec::default();
        spec.set_annotations(Some(
            annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ));
        spec
    }

    #[test]
    fn reserved_only_in_generated_bundles() {
        let root = Path::new("/run/nsbox");
        for key in [HOST_ROOT_ANNOTATION, INIT_ANNOTATION] {
            let spec = with(&[(key, "x")]);
            assert!(check_reserved(&spec, &root.join(".bundles/id"), root).is_ok());
            let err = check_reserved(&spec, Path::new("/srv/b"), root).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
        let free = with(&[(CWD_FALLBACK_ANNOTATION, "true"), ("org.x", "y")]);
        assert!(check_reserved(&free, Path::new("/srv/b"), root).is_ok());
    }

    #[test]
    fn values_ask_only_when_exact() {
        assert!(cwd_is_a_wish(&with(&[(CWD_FALLBACK_ANNOTATION, "true")])));
        assert!(!cwd_is_a_wish(&with(&[(CWD_FALLBACK_ANNOTATION, "no")])));
        assert!(!cwd_is_a_wish(&Spec::default()));
        assert!(asked(
            &with(&[(HOST_ROOT_ANNOTATION, "ro")]),
            HOST_ROOT_ANNOTATION,
            "ro"
        ));
    }
}
