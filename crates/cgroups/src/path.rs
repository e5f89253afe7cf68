//! Where a container's cgroup goes. A relative cgroups path (and the default
//! when none is given: the container's name) is placed beneath the cgroup of
//! the calling process in every hierarchy, as runc does; an absolute one is
//! taken as given beneath each hierarchy's mount.

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
