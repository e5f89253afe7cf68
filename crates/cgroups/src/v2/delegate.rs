//! Handing v2 controllers down to a cgroup: a controller is usable in a
//! cgroup only if every ancestor up to one that has it lists it in
//! `cgroup.subtree_control`. This file enables what a cgroup needs along
//! that chain, all or nothing, and takes back what it alone turned on.
//!
//! Rules (docs/ARCHITECTURE.md, crates/cgroups):
//! - cgroup v2's no-internal-processes rule: a cgroup other than the root
//!   that holds processes cannot hand controllers to its children (domain
//!   controllers are refused by the kernel; threaded ones such as pids are
//!   accepted but then no process can enter a new child). Every cgroup on
//!   the chain is checked before anything is written, and one holding
//!   processes is an [`Error::Delegation`] naming it.
//! - All or nothing: if a write fails, what this call enabled is disabled
//!   again, deepest first.
//! - Taking back ([`release`]): only what the handle itself enabled, and
//!   only in a cgroup with no child cgroup left (one that could rely on it).

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fs::{read, read_pids, write_raw};

/// A controller this library turned on in `dir`'s `cgroup.subtree_control`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enabled {
    pub dir: PathBuf,
    pub controller: String,
}

/// The words of a `cgroup.controllers` or `cgroup.subtree_control` file.
fn words(path: &Path) -> Result<Vec<String>> {
    Ok(read(path)?.split_whitespace().map(str::to_owned).collect())
}

/// The root cgroup has no `cgroup.type` (the kernel shows it only on
/// non-root cgroups) and is exempt from the no-internal-processes rule. A
/// cgroup namespace's root is not the real root and is not exempt.
fn is_root(dir: &Path) -> bool {
    !dir.join("cgroup.type").exists()
}

/// What must be written for cgroup `leaf` (existing) to have
/// `controllers`, top-down: for each controller missing from its
/// `cgroup.controllers`, every ancestor from the nearest one offering it
/// down to `leaf`'s parent that does not yet enable it. A controller no
/// ancestor up to the root offers is left out (the caller reports it,
/// naming the field, when it applies the limit).
pub fn plan(leaf: &Path, controllers: &[String]) -> Result<Vec<Enabled>> {
    let has_now = words(&leaf.join("cgroup.controllers"))?;
    let mut out = Vec::new();
    for c in controllers {
        if has_now.contains(c) || out.iter().any(|e: &Enabled| e.controller == *c) {
            continue;
        }
        let mut chain = Vec::new();
        let mut offered = false;
        let mut p = leaf.parent();
        while let Some(d) = p {
            // not a cgroup (past the top of a fake tree): nowhere to go
            if !d.join("cgroup.controllers").exists() {
                break;
            }
            chain.push(d);
            if words(&d.join("cgroup.controllers"))?.contains(c) {
                offered = true;
                break;
            }
            if is_root(d) {
                break;
            }
            p = d.parent();
        }
        if !offered {
            continue;
        }
        for d in chain.into_iter().rev() {
            if !words(&d.join("cgroup.subtree_control"))?.contains(c) {
                out.push(Enabled {
                    dir: d.to_owned(),
                    controller: c.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// Refuses a plan that would write to a non-root cgroup holding processes.
pub fn check(plan: &[Enabled]) -> Result<()> {
    for e in plan {
        if is_root(&e.dir) {
            continue;
        }
        let procs = read_pids(&e.dir.join("cgroup.procs"))?.len();
        if procs > 0 {
            return Err(Error::Delegation {
                controller: e.controller.clone(),
                path: e.dir.clone(),
                procs,
            });
        }
    }
    Ok(())
}

/// Enables `controllers` for cgroup `leaf`: [`plan`], [`check`], then the
/// writes in order. Returns what it enabled, top-down; on failure nothing
/// it wrote stays.
pub fn enable(leaf: &Path, controllers: &[String]) -> Result<Vec<Enabled>> {
    if controllers.is_empty() {
        return Ok(Vec::new());
    }
    let plan = plan(leaf, controllers)?;
    check(&plan)?;
    for (i, e) in plan.iter().enumerate() {
        let path = e.dir.join("cgroup.subtree_control");
        if let Err(source) = write_raw(&path, &format!("+{}", e.controller)) {
            undo(&plan[..i]);
            return Err(Error::EnableController {
                controller: e.controller.clone(),
                path,
                source,
            });
        }
    }
    Ok(plan)
}

/// Disables what [`enable`] returned, deepest first (a controller cannot be
/// taken from a parent while a child still enables it). Best effort: for
/// undoing after another error, which is the one reported.
pub fn undo(done: &[Enabled]) {
    for e in done.iter().rev() {
        let _ = write_raw(
            &e.dir.join("cgroup.subtree_control"),
            &format!("-{}", e.controller),
        );
    }
}

/// Takes back controllers a handle enabled in cgroups it did not create,
/// once its own cgroups are gone: each entry (deepest first) is disabled
/// only if its cgroup has no child cgroup left, since any child, made by
/// anyone, may rely on it; otherwise it stays enabled for good, as runc and
/// crun always leave it. Entries are taken off `list` as they are settled,
/// so a failed call can be repeated.
pub fn release(list: &mut Vec<Enabled>) -> Result<()> {
    while let Some(e) = list.last() {
        if has_child_cgroup(&e.dir)? {
            list.pop();
            continue;
        }
        let path = e.dir.join("cgroup.subtree_control");
        match write_raw(&path, &format!("-{}", e.controller)) {
            Ok(()) => {}
            // ENOENT: the cgroup is gone. EBUSY: a child appeared meanwhile
            // and enables it further down; it is theirs now.
            Err(err) if matches!(err.raw_os_error(), Some(libc::ENOENT | libc::EBUSY)) => {}
            Err(source) => {
                return Err(Error::Write {
                    path,
                    data: format!("-{}", e.controller),
                    source,
                })
            }
        }
        list.pop();
    }
    Ok(())
}

fn has_child_cgroup(dir: &Path) -> Result<bool> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(source) => {
            return Err(Error::Read {
                path: dir.to_owned(),
                source,
            })
        }
    };
    for e in entries {
        let e = e.map_err(|source| Error::Read {
            path: dir.to_owned(),
            source,
        })?;
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A fake v2 tree in a tempdir: `root` (the root cgroup, offering cpu,
    /// memory, pids and enabling memory), `root/slice` (enables nothing,
    /// holds `procs`), `root/slice/box` (the leaf).
    fn tree(t: &Path, procs: &str) -> PathBuf {
        let slice = t.join("slice");
        let leaf = slice.join("box");
        fs::create_dir_all(&leaf).unwrap();
        fs::write(t.join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        fs::write(t.join("cgroup.subtree_control"), "memory\n").unwrap();
        fs::write(slice.join("cgroup.type"), "domain\n").unwrap();
        fs::write(slice.join("cgroup.controllers"), "memory\n").unwrap();
        fs::write(slice.join("cgroup.subtree_control"), "").unwrap();
        fs::write(slice.join("cgroup.procs"), procs).unwrap();
        fs::write(leaf.join("cgroup.type"), "domain\n").unwrap();
        fs::write(leaf.join("cgroup.controllers"), "").unwrap();
        fs::write(leaf.join("cgroup.procs"), "").unwrap();
        leaf
    }

    fn en(dir: &Path, c: &str) -> Enabled {
        Enabled {
            dir: dir.to_owned(),
            controller: c.to_owned(),
        }
    }

    #[test]
    fn plan_walks_up_to_the_nearest_ancestor_offering_it() {
        let t = nsbox_testutil::TempDir::new("cg-deleg-plan");
        let leaf = tree(t.path(), "");
        let want = ["pids", "memory", "hugetlb"].map(String::from);
        // memory: offered by the slice, enabled there only; pids: from the
        // root down; hugetlb: nowhere, left out
        assert_eq!(
            plan(&leaf, &want).unwrap(),
            [
                en(t.path(), "pids"),
                en(&t.join("slice"), "pids"),
                en(&t.join("slice"), "memory"),
            ]
        );
        // what the leaf has already needs nothing
        fs::write(leaf.join("cgroup.controllers"), "memory pids\n").unwrap();
        assert!(plan(&leaf, &want).unwrap().is_empty());
    }

    #[test]
    fn a_cgroup_holding_processes_is_refused_before_any_write() {
        let t = nsbox_testutil::TempDir::new("cg-deleg-procs");
        let leaf = tree(t.path(), "4242\n");
        let e = enable(&leaf, &["pids".into(), "memory".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "cannot enable controller pids in {}/slice: it holds 1 process(es), and cgroup v2 \
                 hands controllers to child cgroups only from the root cgroup or from one without \
                 processes; give an absolute cgroups path beneath a cgroup that holds none",
                t.path().display()
            )
        );
        // nothing written, not even in the root
        assert_eq!(
            fs::read_to_string(t.join("cgroup.subtree_control")).unwrap(),
            "memory\n"
        );
        assert_eq!(
            fs::read_to_string(t.join("slice/cgroup.subtree_control")).unwrap(),
            ""
        );
    }

    #[test]
    fn a_failed_write_undoes_the_ones_before() {
        let t = nsbox_testutil::TempDir::new("cg-deleg-undo");
        let leaf = tree(t.path(), "");
        // the slice's file reads fine but refuses writes (EIO), as a
        // kernel refusing "+pids" would
        let slice_ctl = t.join("slice/cgroup.subtree_control");
        fs::remove_file(&slice_ctl).unwrap();
        std::os::unix::fs::symlink("/proc/version", &slice_ctl).unwrap();
        let e = enable(&leaf, &["pids".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("enable controller pids in {}", slice_ctl.display())
        );
        // the root's "+pids" was written, then taken back
        assert_eq!(
            fs::read_to_string(t.join("cgroup.subtree_control")).unwrap(),
            "-pids"
        );
    }

    #[test]
    fn release_leaves_what_a_child_may_rely_on() {
        let t = nsbox_testutil::TempDir::new("cg-deleg-release");
        let leaf = tree(t.path(), "");
        let mut list = vec![en(t.path(), "pids"), en(&t.join("slice"), "pids")];
        // the leaf is still there: the slice keeps pids, and so does the
        // root (it has the slice)
        release(&mut list).unwrap();
        assert!(list.is_empty());
        assert_eq!(
            fs::read_to_string(t.join("slice/cgroup.subtree_control")).unwrap(),
            ""
        );
        // without the leaf the slice's pids is taken back, the root's not
        fs::remove_dir_all(&leaf).unwrap();
        let mut list = vec![en(t.path(), "pids"), en(&t.join("slice"), "pids")];
        release(&mut list).unwrap();
        assert!(list.is_empty());
        assert_eq!(
            fs::read_to_string(t.join("slice/cgroup.subtree_control")).unwrap(),
            "-pids"
        );
        assert_eq!(
            fs::read_to_string(t.join("cgroup.subtree_control")).unwrap(),
            "memory\n"
        );
    }
}
