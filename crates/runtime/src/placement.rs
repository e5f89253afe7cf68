//! Where the container's cgroup is, on the host: the cgroup step of
//! `create` (placed, made and limited before the clone), where an `exec`'d
//! process goes, and the recorded handle for every later verb. What the
//! limits are is `limits`; the cgroup file system the container sees is
//! `init::cgroup_mount`.
//!
//! [`prepare`] runs after the state directory exists and before the clone:
//! it places the cgroup (a relative `linux.cgroupsPath`, or `nsbox-<id>`
//! when none is given, beneath the caller's cgroup per `nsbox-cgroups`'
//! placement; an absolute one as given), creates it in every hierarchy and
//! applies every `linux.resources` field, so nothing of the container runs
//! unlimited. The returned [`Placement`]:
//!
//! - gives the cgroup v2 directory for clone3's `CLONE_INTO_CGROUP`
//!   ([`Placement::clone_into`]: pure v2, and the unified cgroup of a
//!   hybrid host), so init is born inside;
//! - says whether v1 hierarchies remain to be joined
//!   ([`Placement::join_at_sync`]): the parent writes the child's pid into
//!   them at sync 1 (where it also writes id maps), before the child goes
//!   on, so nothing the child forks or allocates escapes them;
//! - undoes itself if `create` fails (kill what is inside, remove only the
//!   directories it made), unless [`Placement::keep`] hands the handle over
//!   to the state.
//!
//! The handle (`nsbox_cgroups::Cgroup`, serializable, with the directories
//! it made) is recorded in state.json; [`recorded`] gives it back to `delete`,
//! `kill --all`, `ps`, `update`, `pause`, `resume` and `events`.
//!
//! This is where the driver is chosen. With `--systemd-cgroup`, or a
//! cgroups path in systemd's `slice:prefix:name` form, the cgroup is a
//! transient systemd unit (`nsbox_cgroups::systemd`): planned here, and
//! started at sync 1 with init as its process (systemd makes no empty
//! scope), its limits set before init goes on. Every later verb uses the
//! same handle, which speaks to systemd where it must (update, delete).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nsbox_cgroups::systemd::Bus;
use nsbox_cgroups::{Cgroup, CgroupPath, Resources};
use oci_spec::runtime::Spec;

use crate::state::Record;
use crate::Error;

/// Where the container's init will be born, cgroup-wise.
#[derive(Debug, Default)]
pub struct Placement {
    cgroup: Option<Cgroup>,
    fd: Option<OwnedFd>,
    /// Still ours to undo on drop (not yet recorded in state.json).
    armed: bool,
    /// A systemd unit still to start at sync 1: its limits and description.
    unit: Option<(Resources, String)>,
}

impl Placement {
    /// The cgroup v2 directory to clone into, if any.
    pub fn clone_into(&self) -> Option<BorrowedFd<'_>> {
        self.fd.as_ref().map(|f| f.as_fd())
    }

    /// True when the child must be added to v1 hierarchies at sync 1
    /// (pure v1 and hybrid hosts), or a systemd unit started with it.
    pub fn join_at_sync(&self) -> bool {
        matches!(
            self.cgroup,
            Some(Cgroup::V1(_) | Cgroup::Hybrid { .. } | Cgroup::Systemd { .. })
        )
    }

    /// Sync 1: puts `pid` into the hierarchies it was not born in, or
    /// starts the systemd unit with it.
    pub fn join(&mut self, pid: u32) -> Result<(), Error> {
        let Some(cg) = &mut self.cgroup else {
            return Ok(());
        };
        if let Some((res, description)) = self.unit.take() {
            let what = format!("start systemd unit {}", cg.unit_name().unwrap_or_default());
            return cg
                .start_unit(pid, &res, &description)
                .map_err(|source| Error::Cgroup { what, source });
        }
        let r = if self.fd.is_some() {
            cg.add_pid_v1(pid)
        } else {
            cg.add_pid(pid)
        };
        r.map_err(|source| Error::Cgroup {
            what: format!("add init {pid} to its cgroup"),
            source,
        })
    }

    /// The handle, for state.json.
    pub fn handle(&self) -> Option<Cgroup> {
        self.cgroup.clone()
    }

    /// state.json holds the handle now: from here on `delete` removes the
    /// cgroup, not this placement's drop.
    pub fn keep(&mut self) {
        self.armed = false;
        self.fd = None;
    }
}

impl Drop for Placement {
    /// A failed `create`: whatever got in is killed, then every directory
    /// the handle made is removed (never one it did not make).
    fn drop(&mut self) {
        if let (true, Some(cg)) = (self.armed, self.cgroup.as_mut()) {
            self.fd = None;
            let _ = cg.kill();
            let _ = cg.remove();
        }
    }
}

/// The config's `linux.cgroupsPath`, as given.
fn raw_path(spec: &Spec) -> Option<String> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_ref())
        .map(|p| p.to_string_lossy().into_owned())
}

/// True when the container's cgroup is a systemd unit: `--systemd-cgroup`
/// was given, or the path has systemd's form.
pub fn uses_systemd(spec: &Spec, systemd_flag: bool) -> bool {
    systemd_flag || raw_path(spec).is_some_and(|p| is_systemd_form(&p))
}

/// The cgroupfs path of `spec`, or the default for container `id`.
pub fn path_of(id: &str, spec: &Spec) -> Result<CgroupPath, Error> {
    let raw = raw_path(spec);
    CgroupPath::parse(raw.as_deref(), &format!("nsbox-{id}")).map_err(|source| Error::Cgroup {
        what: "linux.cgroupsPath".into(),
        source,
    })
}

/// systemd's `slice:prefix:name` form (runc's `--systemd-cgroup`), which
/// cgroupfs would take as one oddly named directory.
fn is_systemd_form(path: &str) -> bool {
    let parts: Vec<&str> = path.split(':').collect();
    parts.len() == 3
        && !path.starts_with('/')
        && (parts[0].is_empty() || parts[0].ends_with(".slice"))
}

/// Creates the container's cgroup and applies `linux.resources`; see the
/// module documentation. Unprivileged, where the cgroup cannot be made and
/// the config asks for no limit (device rules aside: a rootless container
/// can make no device node anyway), the container runs in the caller's
/// cgroup with nothing recorded, as runc's rootless mode does. Fields
/// cgroup v2 has no file for come back as warnings
/// ([`crate::limits::take_v1_only`]).
pub fn prepare(
    id: &str,
    spec: &Spec,
    state: &crate::state::StateDir,
    systemd_flag: bool,
) -> Result<(Placement, Vec<Error>), Error> {
    let linux = spec.linux().as_ref();
    let mut res = crate::limits::from_oci(
        linux.and_then(|l| l.resources().as_ref()),
        linux.and_then(|l| l.devices().as_deref()).unwrap_or(&[]),
    )?;
    if uses_systemd(spec, systemd_flag) {
        return plan_unit(id, raw_path(spec).as_deref(), res, state);
    }
    let path = path_of(id, spec)?;
    let mut cg = Cgroup::for_caller(&path).map_err(|source| Error::Cgroup {
        what: "find the cgroup hierarchies".into(),
        source,
    })?;
    let warnings = crate::limits::take_v1_only(&cg, &mut res, "config.json");
    // Recorded before it is made and again once made: a create killed in
    // between leaves `delete --force` the cgroup to remove (state.json
    // comes only at the end).
    state.write_cgroup(&cg, true)?;
    if let Err(source) = cg.create(&res) {
        let limits = nsbox_cgroups::Resources {
            devices: Vec::new(),
            ..res.clone()
        };
        // root of a user namespace (rootless podman's runtime) is a user
        // like any other to the host's cgroups
        let unprivileged =
            !rustix::process::geteuid().is_root() || nsbox_ns::idmap::in_user_namespace();
        if unprivileged && limits.is_empty() && denied(&source) {
            return Ok((Placement::default(), warnings));
        }
        if unprivileged && denied(&source) {
            // limits asked where this user may not make cgroups: say what
            // would make it work
            return Err(Error::CgroupNotDelegated { source });
        }
        return Err(Error::Cgroup {
            what: "create cgroup".into(),
            source,
        });
    }
    state.write_cgroup(&cg, false)?;
    // Armed from here: an early return drops it, which removes the cgroup.
    let mut placement = Placement {
        cgroup: Some(cg),
        fd: None,
        armed: true,
        unit: None,
    };
    let cg = placement.cgroup.as_mut().expect("just set");
    cg.apply(&res).map_err(|source| Error::Cgroup {
        what: "apply linux.resources".into(),
        source,
    })?;
    placement.fd = cg.clone_fd().map_err(|source| Error::Cgroup {
        what: "open cgroup for CLONE_INTO_CGROUP".into(),
        source,
    })?;
    Ok((placement, warnings))
}

/// The systemd driver's share of `prepare`: plans the unit (the system
/// manager for root, the caller's user manager otherwise) and records it;
/// [`Placement::join`] starts it at sync 1. No D-Bus yet: zbus starts
/// threads, and the clone must come from a single-threaded process.
fn plan_unit(
    id: &str,
    raw: Option<&str>,
    mut res: Resources,
    state: &crate::state::StateDir,
) -> Result<(Placement, Vec<Error>), Error> {
    if !std::path::Path::new("/run/systemd/system").exists() {
        return Err(match raw.filter(|p| is_systemd_form(p)) {
            Some(path) => Error::SystemdCgroupPath {
                path: path.to_string(),
                why: "no systemd runs on this host (/run/systemd/system is missing)",
            },
            None => Error::NoSystemd,
        });
    }
    let bus = if rustix::process::geteuid().is_root() {
        Bus::System
    } else {
        Bus::User
    };
    let cg = Cgroup::systemd(raw, id, bus).map_err(|source| Error::Cgroup {
        what: "linux.cgroupsPath".into(),
        source,
    })?;
    let warnings = crate::limits::take_v1_only(&cg, &mut res, "config.json");
    state.write_cgroup(&cg, true)?;
    let placement = Placement {
        cgroup: Some(cg),
        fd: None,
        armed: true,
        unit: Some((res, format!("nsbox container {id}"))),
    };
    Ok((placement, warnings))
}

fn denied(e: &nsbox_cgroups::Error) -> bool {
    let mut cause: Option<&dyn std::error::Error> = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return matches!(
                io.raw_os_error(),
                Some(libc::EACCES | libc::EPERM | libc::EROFS)
            );
        }
        cause = c.source();
    }
    false
}

/// The container's cgroup as recorded at create, or an error naming the
/// container when it has none (created unprivileged without one).
pub fn recorded(record: &Record) -> Result<Cgroup, Error> {
    record.cgroup.clone().ok_or_else(|| Error::NoCgroup {
        id: record.oci.id().clone(),
    })
}

/// Where an `exec`'d process goes: the v2 (or hybrid unified) directory to
/// clone into, and the `cgroup.procs` files of the hierarchies it is not
/// born in, which the child writes itself (`0`: the writer) before it
/// joins any namespace or forks, so nothing it runs escapes the container's
/// limits. Without `clone_into` (an `execCPUAffinity.initial` set: born
/// inside, the kernel would narrow its CPUs to the cgroup's cpuset at
/// once), it is born in nsbox's cgroup on the initial CPUs and joins every
/// hierarchy that way, as crun. Nothing for a container without a cgroup.
pub fn exec_placement(
    record: &Record,
    clone_into: bool,
) -> Result<(Option<OwnedFd>, Vec<std::path::PathBuf>), Error> {
    let Some(cg) = &record.cgroup else {
        return Ok((None, Vec::new()));
    };
    // Born frozen, the process would hang `exec` until a resume (runc
    // refuses too).
    if cg.is_frozen().unwrap_or(false) {
        return Err(Error::WrongStatus {
            id: record.oci.id().clone(),
            status: "paused",
            wanted: "created or running",
        });
    }
    let fd = match clone_into {
        true => cg.clone_fd().map_err(|source| Error::Cgroup {
            what: "open cgroup for CLONE_INTO_CGROUP".into(),
            source,
        })?,
        false => None,
    };
    let procs = match fd {
        Some(_) => v1_procs(cg),
        None => cg.dirs().iter().map(|d| d.join("cgroup.procs")).collect(),
    };
    Ok((fd, procs))
}

/// The `cgroup.procs` files of the v1 hierarchies of `cg`.
fn v1_procs(cg: &Cgroup) -> Vec<std::path::PathBuf> {
    match cg {
        Cgroup::V1(m) | Cgroup::Hybrid { v1: m, .. } => {
            m.dirs.iter().map(|d| d.path.join("cgroup.procs")).collect()
        }
        Cgroup::V2(_) => Vec::new(),
        Cgroup::Systemd { fs, .. } => v1_procs(fs),
    }
}

/// Kills whatever is left in the cgroup and removes it in every hierarchy
/// (EBUSY retried by the library): `delete`'s last step.
pub fn destroy(cg: &mut Cgroup) -> Result<(), Error> {
    cg.kill().map_err(|source| Error::Cgroup {
        what: "kill the processes left in the cgroup".into(),
        source,
    })?;
    cg.remove().map_err(|source| Error::Cgroup {
        what: "remove cgroup".into(),
        source,
    })
}
