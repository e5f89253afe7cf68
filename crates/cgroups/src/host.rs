//! What cgroup hierarchies this host has and where they are mounted, read
//! from `/proc/self/mountinfo`; and which cgroup a process is in, read from
//! `/proc/PID/cgroup`. Parsing takes the file text so that tests feed fake
//! hosts; `Host::detect_at` takes the /proc root for the same reason.

use std::path::{Path, PathBuf};

use nsbox_ns::mountinfo::{Entry, ParseError};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fs;

/// How the host arranges its cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Only v1 hierarchies (controllers mounted one or a few per hierarchy).
    V1,
    /// Only the unified v2 hierarchy (usually at /sys/fs/cgroup).
    V2,
    /// v1 controller hierarchies plus a cgroup2 mount that holds no (or few)
    /// controllers, usually /sys/fs/cgroup/unified.
    Hybrid,
}

/// One place a hierarchy is mounted: `point` shows the hierarchy's `root`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    pub point: PathBuf,
    pub root: PathBuf,
}

/// One hierarchy: for v1 its controllers (`cpu`, `cpuacct`, or a named
/// hierarchy's `name=systemd`), for v2 none; all the places it is mounted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hierarchy {
    pub controllers: Vec<String>,
    pub mounts: Vec<Mount>,
    /// major:minor of the superblock: tells hierarchies (and bind mounts of
    /// the same one) apart.
    pub dev: String,
}

impl Hierarchy {
    /// `cpu,cpuacct`, `name=systemd`, or `unified`.
    pub fn name(&self) -> String {
        if self.controllers.is_empty() {
            "unified".to_owned()
        } else {
            self.controllers.join(",")
        }
    }

    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }

    /// True for a hierarchy with only a name and no resource controller.
    pub fn is_named_only(&self) -> bool {
        self.controllers.iter().all(|c| c.starts_with("name="))
    }

    /// The directory of cgroup `cgroup` (a path within the hierarchy, as in
    /// /proc/PID/cgroup): through the first mount whose root contains it.
    pub fn dir_of(&self, cgroup: &Path) -> Result<PathBuf> {
        for m in &self.mounts {
            if let Ok(rest) = cgroup.strip_prefix(&m.root) {
                return Ok(m.point.join(rest));
            }
        }
        let m = &self.mounts[0];
        Err(Error::OutsideMount {
            cgroup: cgroup.to_owned(),
            hierarchy: self.name(),
            mount: m.point.clone(),
            root: m.root.clone(),
        })
    }

    /// The directory for an absolute cgroups path, taken as given beneath the
    /// first mount point.
    pub fn dir_of_absolute(&self, path: &Path) -> PathBuf {
        let rel = path.strip_prefix("/").unwrap_or(path);
        self.mounts[0].point.join(rel)
    }
}

/// The cgroup hierarchies mounted on this host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    pub v1: Vec<Hierarchy>,
    pub unified: Option<Hierarchy>,
}

/// Super options of cgroup mounts that are not controllers.
const NOT_CONTROLLERS: &[&str] = &[
    "rw",
    "ro",
    "xattr",
    "noprefix",
    "clone_children",
    "cpuset_v2_mode",
    "favordynmods",
    "none",
    "all",
];

impl Host {
    /// Reads the calling process's view from /proc.
    pub fn detect() -> Result<Host> {
        Host::detect_at(Path::new("/proc"))
    }

    /// Reads `<proc>/self/mountinfo`.
    pub fn detect_at(proc: &Path) -> Result<Host> {
        let path = proc.join("self/mountinfo");
        let text = fs::read(&path)?;
        Host::parse(&text, &path)
    }

    /// Parses mountinfo text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Host> {
        let mut host = Host {
            v1: Vec::new(),
            unified: None,
        };
        for (i, line) in text.lines().enumerate() {
            let bad = |reason| Error::Parse {
                path: path.to_owned(),
                line: i + 1,
                reason,
            };
            let entry = match Entry::parse(line.as_bytes()) {
                Ok(entry) => entry,
                // A line too short to hold a mount is only an error when it
                // names a cgroup file system.
                Err(ParseError::NoFsType | ParseError::TooFewFields)
                    if !matches!(
                        Entry::fs_type_of(line.as_bytes()),
                        Some(b"cgroup" | b"cgroup2")
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(bad(e.reason())),
            };
            let fstype = entry.fs_type;
            if fstype != b"cgroup" && fstype != b"cgroup2" {
                continue;
            }
            let super_opts = String::from_utf8_lossy(entry.super_options);
            let mount = Mount {
                root: entry.root(),
                point: entry.mount_point(),
            };
            let dev = String::from_utf8_lossy(entry.major_minor).into_owned();
            if fstype == b"cgroup2" {
                match &mut host.unified {
                    Some(h) if h.dev == dev => h.mounts.push(mount),
                    Some(_) => {} // a second cgroup2 superblock cannot exist; ignore
                    None => {
                        host.unified = Some(Hierarchy {
                            controllers: Vec::new(),
                            mounts: vec![mount],
                            dev,
                        })
                    }
                }
                continue;
            }
            if let Some(h) = host.v1.iter_mut().find(|h| h.dev == dev) {
                h.mounts.push(mount);
                continue;
            }
            let controllers: Vec<String> = super_opts
                .split(',')
                .filter(|o| !NOT_CONTROLLERS.contains(o) && !o.starts_with("release_agent="))
                .map(str::to_owned)
                .collect();
            if controllers.is_empty() {
                return Err(bad("cgroup mount without controllers or name"));
            }
            host.v1.push(Hierarchy {
                controllers,
                mounts: vec![mount],
                dev,
            });
        }
        if host.v1.is_empty() && host.unified.is_none() {
            return Err(Error::NoCgroupFs {
                path: path.to_owned(),
            });
        }
        Ok(host)
    }

    pub fn mode(&self) -> Mode {
        let v1_controllers = self.v1.iter().any(|h| !h.is_named_only());
        match (v1_controllers, self.unified.is_some()) {
            (true, true) => Mode::Hybrid,
            (true, false) => Mode::V1,
            (false, _) => Mode::V2,
        }
    }

    /// The v1 hierarchy holding `controller`.
    pub fn v1_for(&self, controller: &str) -> Option<&Hierarchy> {
        self.v1.iter().find(|h| h.has(controller))
    }
}

/// The cgroup of a process in every hierarchy, from /proc/PID/cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcCgroups {
    /// (controllers, path) per v1 hierarchy.
    pub v1: Vec<(Vec<String>, PathBuf)>,
    /// The path in the unified hierarchy (`0::/path`).
    pub unified: Option<PathBuf>,
    /// The file it was read from, for errors.
    pub source: PathBuf,
}

impl ProcCgroups {
    /// The calling process's cgroups.
    pub fn own() -> Result<ProcCgroups> {
        ProcCgroups::read(&Path::new("/proc").join("self/cgroup"))
    }

    pub fn read(path: &Path) -> Result<ProcCgroups> {
        let text = fs::read(path)?;
        ProcCgroups::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<ProcCgroups> {
        let mut out = ProcCgroups {
            v1: Vec::new(),
            unified: None,
            source: path.to_owned(),
        };
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
            let bad = |reason| Error::Parse {
                path: path.to_owned(),
                line: i + 1,
                reason,
            };
            let mut it = line.splitn(3, ':');
            let id = it.next().ok_or_else(|| bad("no hierarchy id"))?;
            let ctl = it.next().ok_or_else(|| bad("no controller list"))?;
            let cg = it.next().ok_or_else(|| bad("no cgroup path"))?;
            // A process whose cgroup was removed shows " (deleted)".
            let cg = PathBuf::from(cg.strip_suffix(" (deleted)").unwrap_or(cg));
            if id == "0" && ctl.is_empty() {
                out.unified = Some(cg);
            } else {
                let mut c: Vec<String> = ctl.split(',').map(str::to_owned).collect();
                c.sort();
                out.v1.push((c, cg));
            }
        }
        Ok(out)
    }

    /// The process's cgroup in hierarchy `h` (v1 by controller set, v2 by the
    /// `0::` line).
    pub fn path_in(&self, h: &Hierarchy) -> Result<&Path> {
        let found = if h.controllers.is_empty() {
            self.unified.as_deref()
        } else {
            let mut want = h.controllers.clone();
            want.sort();
            self.v1
                .iter()
                .find(|(c, _)| *c == want)
                .map(|(_, p)| p.as_path())
        };
        found.ok_or_else(|| Error::OwnCgroupUnknown {
            path: self.source.clone(),
            hierarchy: h.name(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine (Debian 12 test host): v1 controllers one per hierarchy,
    /// a named systemd hierarchy, cgroup2 at /sys/fs/cgroup/unified.
    pub const HYBRID_MOUNTINFO: &str = "\
22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    pub const HYBRID_CGROUP: &str = "\
9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/bb0a7ae6d0bdc8b9d79d0f39931600a9
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
";

    /// A pure v2 host (Debian 12 / Fedora default), running in a user scope.
    const V2_MOUNTINFO: &str = "\
24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
27 24 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";
    const V2_CGROUP: &str = "0::/user.slice/user-1000.slice/session-3.scope\n";

    /// A v1 host (CentOS 7 style) with comounted controllers, named systemd
    /// hierarchy, escaped characters, and a container-style mount root.
    const V1_MOUNTINFO: &str = "\
25 18 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:6 - tmpfs tmpfs ro,mode=755
26 25 0:21 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:7 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct
30 25 0:25 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,net_prio,net_cls
31 25 0:26 /docker/abc /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory
32 25 0:27 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,pids
33 25 0:27 / /mnt/pids\\040copy rw,relatime shared:13 - cgroup cgroup rw,pids
34 25 0:28 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpuset,clone_children
";
    const V1_CGROUP: &str = "\
11:cpuset:/
10:pids:/user.slice
9:memory:/docker/abc/inner
4:net_cls,net_prio:/
3:cpu,cpuacct:/user.slice
1:name=systemd:/user.slice/session-1.scope
";

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn hybrid_host() {
        let h = Host::parse(HYBRID_MOUNTINFO, &p("mi")).unwrap();
        assert_eq!(h.mode(), Mode::Hybrid);
        assert_eq!(h.v1.len(), 9);
        assert!(h.v1_for("cpuacct").unwrap().has("cpuacct"));
        assert!(h.v1_for("hugetlb").is_none());
        assert!(h.v1_for("name=systemd").unwrap().is_named_only());
        let u = h.unified.as_ref().unwrap();
        assert_eq!(u.mounts[0].point, p("/sys/fs/cgroup/unified"));
        let own = ProcCgroups::parse(HYBRID_CGROUP, &p("cg")).unwrap();
        let mem = h.v1_for("memory").unwrap();
        let own_mem = own.path_in(mem).unwrap();
        assert_eq!(
            mem.dir_of(own_mem).unwrap(),
            p("/sys/fs/cgroup/memory/process_api/bb0a7ae6d0bdc8b9d79d0f39931600a9")
        );
        assert_eq!(own.path_in(u).unwrap(), p("/"));
        assert_eq!(
            u.dir_of(own.path_in(u).unwrap()).unwrap(),
            p("/sys/fs/cgroup/unified/")
        );
    }

    #[test]
    fn v2_host() {
        let h = Host::parse(V2_MOUNTINFO, &p("mi")).unwrap();
        assert_eq!(h.mode(), Mode::V2);
        assert!(h.v1.is_empty());
        let own = ProcCgroups::parse(V2_CGROUP, &p("cg")).unwrap();
        let u = h.unified.as_ref().unwrap();
        assert_eq!(
            u.dir_of(own.path_in(u).unwrap()).unwrap(),
            p("/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope")
        );
        assert_eq!(
            u.dir_of_absolute(Path::new("/machine/c1")),
            p("/sys/fs/cgroup/machine/c1")
        );
    }

    #[test]
    fn v1_host() {
        let h = Host::parse(V1_MOUNTINFO, &p("mi")).unwrap();
        assert_eq!(h.mode(), Mode::V1);
        assert_eq!(h.v1.len(), 6, "{h:#?}");
        let cpu = h.v1_for("cpu").unwrap();
        assert_eq!(cpu.controllers, ["cpu", "cpuacct"]);
        let sd = h.v1_for("name=systemd").unwrap();
        assert_eq!(sd.controllers, ["name=systemd"]);
        let pids = h.v1_for("pids").unwrap();
        assert_eq!(pids.mounts.len(), 2);
        assert_eq!(pids.mounts[1].point, p("/mnt/pids copy"));
        assert_eq!(h.v1_for("cpuset").unwrap().controllers, ["cpuset"]);

        let own = ProcCgroups::parse(V1_CGROUP, &p("cg")).unwrap();
        // comount listed in another order in /proc/self/cgroup still matches
        assert_eq!(own.path_in(h.v1_for("net_cls").unwrap()).unwrap(), p("/"));
        assert_eq!(
            cpu.dir_of(own.path_in(cpu).unwrap()).unwrap(),
            p("/sys/fs/cgroup/cpu,cpuacct/user.slice")
        );
        // the memory mount shows /docker/abc: our /docker/abc/inner is "inner" there
        let mem = h.v1_for("memory").unwrap();
        assert_eq!(
            mem.dir_of(own.path_in(mem).unwrap()).unwrap(),
            p("/sys/fs/cgroup/memory/inner")
        );
        let e = mem.dir_of(Path::new("/elsewhere")).unwrap_err();
        assert!(e.to_string().contains("outside the memory mount"), "{e}");
        assert!(h.unified.is_none());
    }

    #[test]
    fn no_cgroups_and_garbage() {
        let e = Host::parse("22 1 0:21 / /proc rw - proc proc rw\n", &p("mi")).unwrap_err();
        assert!(matches!(e, Error::NoCgroupFs { .. }), "{e}");
        let e = Host::parse("garbage\n", &p("mi")).unwrap_err();
        assert_eq!(e.to_string(), "mi:1: no \" - \"");
        let e = ProcCgroups::parse("12\n", &p("cg")).unwrap_err();
        assert_eq!(e.to_string(), "cg:1: no controller list");
    }

    #[test]
    fn missing_hierarchy_in_proc_cgroup() {
        let h = Host::parse(HYBRID_MOUNTINFO, &p("mi")).unwrap();
        let own = ProcCgroups::parse("4:memory:/\n", &p("cg")).unwrap();
        let e = own.path_in(h.v1_for("pids").unwrap()).unwrap_err();
        assert_eq!(e.to_string(), "cg has no entry for the pids hierarchy");
    }
}
