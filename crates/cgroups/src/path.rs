//! Where a container's cgroup goes. A relative cgroups path (and the default
//! when none is given: the container's name) is placed beneath the cgroup of
//! the calling process in every v1 hierarchy (and in the unified one of a
//! hybrid host), as runc does; on a pure v2 host beneath the *parent* of the
//! caller's cgroup, also as runc does (see [`CgroupPath::dir_in_v2`]). An
//! absolute one is taken as given beneath each hierarchy's mount.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::host::{Hierarchy, ProcCgroups};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CgroupPath {
    /// Beneath the caller's own cgroup.
    Relative(PathBuf),
    /// Beneath the hierarchy's mount point.
    Absolute(PathBuf),
}

impl CgroupPath {
    /// `path` is the config's cgroups path, `default_name` what to use when
    /// it is absent or empty (the container id). Rejects `..`, and paths
    /// that would name the root or an existing ancestor.
    pub fn parse(path: Option<&str>, default_name: &str) -> Result<CgroupPath> {
        let raw = match path {
            Some(p) if !p.is_empty() => p,
            _ => default_name,
        };
        let invalid = |reason| Error::InvalidPath {
            path: raw.to_owned(),
            reason,
        };
        let mut clean = PathBuf::new();
        for c in Path::new(raw).components() {
            match c {
                Component::RootDir | Component::CurDir => {}
                Component::Normal(n) => clean.push(n),
                Component::ParentDir => return Err(invalid("\"..\" is not allowed")),
                Component::Prefix(_) => return Err(invalid("not a Linux path")),
            }
        }
        if clean.as_os_str().is_empty() {
            return Err(invalid("names no cgroup below the root"));
        }
        Ok(if raw.starts_with('/') {
            CgroupPath::Absolute(clean)
        } else {
            CgroupPath::Relative(clean)
        })
    }

    /// The directory of this cgroup in hierarchy `h`, given the caller's
    /// cgroups `own`.
    pub fn dir_in(&self, h: &Hierarchy, own: &ProcCgroups) -> Result<PathBuf> {
        match self {
            CgroupPath::Absolute(p) => Ok(h.dir_of_absolute(p)),
            CgroupPath::Relative(p) => Ok(h.dir_of(own.path_in(h)?)?.join(p)),
        }
    }

    /// The directory of this cgroup in the unified hierarchy `h` of a pure
    /// v2 host. A relative path goes beneath the parent of the caller's
    /// cgroup: the caller's own cgroup holds the caller, and cgroup v2's
    /// no-internal-processes rule forbids a cgroup with processes to hand
    /// controllers to its children, so a cgroup beneath it could never get a
    /// limit. The parent (a systemd slice, say) holds none. A caller in the
    /// root cgroup (exempt from the rule) gets the root; a caller whose
    /// cgroup is the root of every mount (the parent is not visible) gets
    /// its own cgroup.
    pub fn dir_in_v2(&self, h: &Hierarchy, own: &ProcCgroups) -> Result<PathBuf> {
        match self {
            CgroupPath::Absolute(p) => Ok(h.dir_of_absolute(p)),
            CgroupPath::Relative(p) => {
                let mine = own.path_in(h)?;
                let base = match mine.parent().map(|up| h.dir_of(up)) {
                    Some(Ok(dir)) => dir,
                    None | Some(Err(_)) => h.dir_of(mine)?,
                };
                Ok(base.join(p))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Host;

    const MI: &str = "\
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const CG: &str = "8:pids:/\n4:memory:/process_api/bb0a\n0::/\n";

    #[test]
    fn relative_goes_beneath_own_cgroup() {
        let host = Host::parse(MI, Path::new("mi")).unwrap();
        let own = ProcCgroups::parse(CG, Path::new("cg")).unwrap();
        let p = CgroupPath::parse(Some("nsbox/web"), "id").unwrap();
        assert_eq!(p, CgroupPath::Relative("nsbox/web".into()));
        let mem = host.v1_for("memory").unwrap();
        assert_eq!(
            p.dir_in(mem, &own).unwrap(),
            Path::new("/sys/fs/cgroup/memory/process_api/bb0a/nsbox/web")
        );
        let pids = host.v1_for("pids").unwrap();
        assert_eq!(
            p.dir_in(pids, &own).unwrap(),
            Path::new("/sys/fs/cgroup/pids/nsbox/web")
        );
        let u = host.unified.as_ref().unwrap();
        assert_eq!(
            p.dir_in(u, &own).unwrap(),
            Path::new("/sys/fs/cgroup/unified/nsbox/web")
        );
    }

    #[test]
    fn default_is_relative_container_name() {
        assert_eq!(
            CgroupPath::parse(None, "web").unwrap(),
            CgroupPath::Relative("web".into())
        );
        assert_eq!(
            CgroupPath::parse(Some(""), "web").unwrap(),
            CgroupPath::Relative("web".into())
        );
    }

    #[test]
    fn absolute_taken_as_given() {
        let host = Host::parse(MI, Path::new("mi")).unwrap();
        let own = ProcCgroups::parse(CG, Path::new("cg")).unwrap();
        let p = CgroupPath::parse(Some("/machine//c1/"), "id").unwrap();
        assert_eq!(p, CgroupPath::Absolute("machine/c1".into()));
        assert_eq!(
            p.dir_in(host.v1_for("memory").unwrap(), &own).unwrap(),
            Path::new("/sys/fs/cgroup/memory/machine/c1")
        );
    }

    #[test]
    fn relative_on_pure_v2_is_a_sibling_of_own_cgroup() {
        let mi = "27 24 0:25 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let host = Host::parse(mi, Path::new("mi")).unwrap();
        let u = host.unified.as_ref().unwrap();
        let p = CgroupPath::parse(None, "web").unwrap();
        let own = |text| ProcCgroups::parse(text, Path::new("cg")).unwrap();
        let leaf = own("0::/system.slice/nsbox.service\n");
        assert_eq!(
            p.dir_in_v2(u, &leaf).unwrap(),
            Path::new("/sys/fs/cgroup/system.slice/web")
        );
        // the root cgroup may hand controllers down: beneath it
        assert_eq!(
            p.dir_in_v2(u, &own("0::/\n")).unwrap(),
            Path::new("/sys/fs/cgroup/web")
        );
        assert_eq!(
            p.dir_in_v2(u, &own("0::/init.scope\n")).unwrap(),
            Path::new("/sys/fs/cgroup/web")
        );
        // absolute paths are taken as given
        let abs = CgroupPath::parse(Some("/machine/web"), "x").unwrap();
        assert_eq!(
            abs.dir_in_v2(u, &leaf).unwrap(),
            Path::new("/sys/fs/cgroup/machine/web")
        );
        // a mount showing only our own cgroup: its parent is out of reach
        let mi = "27 24 0:25 /ctr /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let host = Host::parse(mi, Path::new("mi")).unwrap();
        let u = host.unified.as_ref().unwrap();
        assert_eq!(
            p.dir_in_v2(u, &own("0::/ctr\n")).unwrap(),
            Path::new("/sys/fs/cgroup/web")
        );
    }

    #[test]
    fn rejects_escapes_and_root() {
        let e = CgroupPath::parse(Some("a/../../etc"), "id").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cgroups path \"a/../../etc\": \"..\" is not allowed"
        );
        assert!(CgroupPath::parse(Some("/"), "id").is_err());
        assert!(CgroupPath::parse(Some("./"), "id").is_err());
    }
}
