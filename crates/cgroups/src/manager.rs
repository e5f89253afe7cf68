//! [`Cgroup`]: the handle a runtime holds, one enum over the three ways a
//! host can arrange its cgroups. Every operation is one match; the managers
//! in `v1` and `v2` do the work.

use std::collections::BTreeSet;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fs::{read, read_keyed, read_pids, write, write_raw};
use crate::host::{Host, Mode, ProcCgroups};
use crate::path::CgroupPath;
use crate::resources::Resources;
use crate::stats::{self, Stats};
use crate::{hybrid, systemd, v1, v2};

const KILL_DEADLINE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cgroup {
    V1(v1::Manager),
    V2(v2::Manager),
    /// v1 hierarchies for the controllers they hold, plus a cgroup in the
    /// unified hierarchy: for controllers only it has, cgroup.kill,
    /// cgroup.freeze, and CLONE_INTO_CGROUP.
    Hybrid {
        v1: v1::Manager,
        unified: v2::Manager,
    },
    /// A systemd unit (the systemd driver, `systemd`): systemd makes and
    /// removes the cgroup; everything else goes to its directories, `fs`.
    Systemd {
        unit: systemd::Unit,
        fs: Box<Cgroup>,
    },
}

impl Cgroup {
    /// Where the cgroup goes on `host` for a caller in `own`; touches
    /// nothing. Call [`Cgroup::create`] next. A relative `path` goes beneath
    /// the caller's cgroup in every hierarchy, except on a pure v2 host:
    /// there beneath the parent of the caller's cgroup (see
    /// [`CgroupPath::dir_in_v2`]).
    pub fn new(host: &Host, own: &ProcCgroups, path: &CgroupPath) -> Result<Cgroup> {
        Ok(match host.mode() {
            Mode::V1 => Cgroup::V1(v1::Manager::new(host, own, path)?),
            Mode::V2 => Cgroup::V2(v2::Manager::new_pure(host, own, path)?),
            Mode::Hybrid => Cgroup::Hybrid {
                v1: v1::Manager::new(host, own, path)?,
                unified: v2::Manager::new(host, own, path)?,
            },
        })
    }

    /// Detects the host and the caller's own cgroups from /proc, then
    /// [`Cgroup::new`].
    pub fn for_caller(path: &CgroupPath) -> Result<Cgroup> {
        Cgroup::new(&Host::detect()?, &ProcCgroups::own()?, path)
    }

    /// The systemd unit for container `id` from its cgroups path (see
    /// [`systemd::Unit::plan`]), with a handle of the directories it will
    /// have; touches nothing. [`Cgroup::start_unit`] makes it.
    pub fn systemd(path: Option<&str>, id: &str, bus: systemd::Bus) -> Result<Cgroup> {
        let unit = systemd::Unit::plan(path, id, bus)?;
        let fs = Cgroup::for_caller(&CgroupPath::parse(Some(&unit.planned_cgroup()), id)?)?;
        Ok(Cgroup::Systemd {
            unit,
            fs: Box::new(fs),
        })
    }

    /// The systemd unit's name, for a handle of the systemd driver.
    pub fn unit_name(&self) -> Option<&str> {
        match self {
            Cgroup::Systemd { unit, .. } => Some(unit.name()),
            _ => None,
        }
    }

    fn is_v2(&self) -> bool {
        matches!(self, Cgroup::V2(_))
    }

    /// Starts the systemd unit with `pid` inside and the limits of `res`
    /// (systemd makes no empty scope, so this is the unit's creation), then
    /// makes the directories systemd did not (v1 hierarchies it leaves
    /// alone), puts `pid` there too and writes every limit to the files.
    /// On failure the unit is stopped and nothing it made is left. For a
    /// cgroupfs handle: [`Cgroup::add_pid`].
    pub fn start_unit(&mut self, pid: u32, res: &Resources, description: &str) -> Result<()> {
        let Cgroup::Systemd { unit, fs } = self else {
            return self.add_pid(pid);
        };
        let cg = unit.start(pid, res, description, fs.is_v2())?;
        let r = (|| {
            // the planned directories, unless systemd says otherwise (a
            // user manager elsewhere than its usual place)
            let rel = Path::new(cg.trim_start_matches('/'));
            if !cg.is_empty() && !fs.dirs().iter().any(|d| d.ends_with(rel)) {
                **fs = Cgroup::for_caller(&CgroupPath::parse(Some(&cg), unit.name())?)?;
            }
            fs.create(res)?;
            fs.add_pid(pid)?;
            fs.apply(res)
        })();
        if r.is_err() {
            let _ = unit.stop();
            let _ = fs.remove();
        }
        r
    }

    /// Makes the directories (recording which, so that removal takes only
    /// those) and, on v2, enables the controllers `res` needs. On failure
    /// nothing it made or enabled is left behind.
    pub fn create(&mut self, res: &Resources) -> Result<()> {
        match self {
            Cgroup::V1(m) => m.create(),
            Cgroup::V2(m) => m.create(&v2::needed_controllers(res)),
            Cgroup::Hybrid { v1, unified } => hybrid::create(v1, unified, res),
            // made with its first process: Cgroup::start_unit
            Cgroup::Systemd { .. } => Ok(()),
        }
    }

    /// Takes out of `res` the v1-only fields (kernel memory, swappiness,
    /// realtime CPU, leaf weights, net_cls/net_prio ...) that this cgroup
    /// cannot hold because their controller is served by cgroup v2, and
    /// names them (see [`v2::v1_only`]); the caller decides whether that
    /// is a warning or an error. On a v1 host, and for controllers a
    /// hybrid host mounts as v1, nothing is taken.
    pub fn take_v1_only(&self, res: &mut Resources) -> Vec<&'static str> {
        match self {
            Cgroup::V1(_) => Vec::new(),
            Cgroup::Systemd { fs, .. } => fs.take_v1_only(res),
            Cgroup::V2(_) => v2::v1_only::take(res, |_| true),
            Cgroup::Hybrid { v1, .. } => v2::v1_only::take(res, |c| {
                // net_cls has no v2 twin: without its v1 mount it is missing,
                // not "v1-only" (apply says so)
                c != "net_cls" && v1.dir(c).is_none()
            }),
        }
    }

    /// Writes every limit in `res`. A value the host cannot apply is an
    /// error naming the field and file; nothing is skipped silently. On v2 a
    /// controller the cgroup lacks is first enabled in its ancestors (the
    /// same rules as `create`; the handle records it, so save it again).
    pub fn apply(&mut self, res: &Resources) -> Result<()> {
        match self {
            Cgroup::V1(m) => m.apply(res),
            Cgroup::V2(m) => m.apply(res),
            Cgroup::Hybrid { v1, unified } => hybrid::apply(v1, unified, res),
            Cgroup::Systemd { unit, fs } => {
                unit.set(res, fs.is_v2())?;
                fs.apply(res)
            }
        }
    }

    /// For a handle recorded before [`Cgroup::create`] by a creator that
    /// was killed: the leaf directories that exist become this handle's
    /// own, so that `remove` takes them (parents it may have made stay).
    pub fn adopt_leaves(&mut self) {
        match self {
            Cgroup::V1(m) => m.dirs.iter_mut().for_each(|d| d.adopt_leaf()),
            Cgroup::V2(m) => m.dir.adopt_leaf(),
            Cgroup::Hybrid { v1, unified } => {
                v1.dirs.iter_mut().for_each(|d| d.adopt_leaf());
                unified.dir.adopt_leaf();
            }
            // started if its cgroup exists, so that `remove` stops it
            Cgroup::Systemd { unit, fs } => unit.adopt(fs.dirs().iter().any(|d| d.is_dir())),
        }
    }

    /// Moves process `pid` into the cgroup in every hierarchy.
    pub fn add_pid(&self, pid: u32) -> Result<()> {
        for dir in self.dirs() {
            let path = dir.join("cgroup.procs");
            write_raw(&path, &pid.to_string()).map_err(|source| Error::AddProcess {
                pid,
                path,
                source,
            })?;
        }
        Ok(())
    }

    /// Moves process `pid` into the v1 hierarchies only: for a process born
    /// in the unified cgroup through [`Cgroup::clone_fd`] on a hybrid host.
    /// Nothing to do on a pure v2 host.
    pub fn add_pid_v1(&self, pid: u32) -> Result<()> {
        let m = match self {
            Cgroup::V2(_) => return Ok(()),
            Cgroup::Systemd { fs, .. } => return fs.add_pid_v1(pid),
            Cgroup::V1(m) | Cgroup::Hybrid { v1: m, .. } => m,
        };
        for d in &m.dirs {
            let path = d.path.join("cgroup.procs");
            write_raw(&path, &pid.to_string()).map_err(|source| Error::AddProcess {
                pid,
                path,
                source,
            })?;
        }
        Ok(())
    }

    /// An `O_PATH` descriptor of the v2 cgroup for clone3's
    /// CLONE_INTO_CGROUP; `None` on a pure v1 host. On a hybrid host the
    /// process still has to be added to the v1 hierarchies.
    pub fn clone_fd(&self) -> Result<Option<OwnedFd>> {
        match self {
            Cgroup::V1(_) => Ok(None),
            Cgroup::Systemd { fs, .. } => fs.clone_fd(),
            Cgroup::V2(m) | Cgroup::Hybrid { unified: m, .. } => m.open_fd().map(Some),
        }
    }

    /// Every cgroup directory, one per hierarchy.
    pub fn dirs(&self) -> Vec<&Path> {
        fn v1(m: &v1::Manager) -> Vec<&Path> {
            m.dirs.iter().map(|d| d.path.as_path()).collect()
        }
        match self {
            Cgroup::V1(m) => v1(m),
            Cgroup::V2(m) => vec![m.path()],
            Cgroup::Hybrid { v1: m, unified } => {
                let mut d = v1(m);
                d.push(unified.path());
                d
            }
            Cgroup::Systemd { fs, .. } => fs.dirs(),
        }
    }

    /// The processes in the cgroup, in any hierarchy, sorted.
    pub fn procs(&self) -> Result<Vec<u32>> {
        let mut all = BTreeSet::new();
        for dir in self.dirs() {
            let path = dir.join("cgroup.procs");
            if !dir.exists() {
                continue;
            }
            // A cgroup removed meanwhile holds nothing: systemd collects a
            // scope the moment its last process exits, and a read racing
            // that rmdir fails with ENOENT (at open) or ENODEV (after).
            match read_pids(&path) {
                Ok(pids) => all.extend(pids),
                Err(Error::Read { source, .. })
                    if matches!(source.raw_os_error(), Some(libc::ENOENT | libc::ENODEV)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(all.into_iter().collect())
    }

    /// Freezes every process and waits until the kernel says frozen: v1's
    /// freezer where mounted, else cgroup.freeze.
    pub fn freeze(&self) -> Result<()> {
        match self.freezer()? {
            Freezer::V1(d) => v1::freezer::freeze(d),
            Freezer::V2(d) => v2::freezer::freeze(d),
        }
    }

    pub fn thaw(&self) -> Result<()> {
        match self.freezer()? {
            Freezer::V1(d) => v1::freezer::thaw(d),
            Freezer::V2(d) => v2::freezer::thaw(d),
        }
    }

    pub fn is_frozen(&self) -> Result<bool> {
        match self.freezer()? {
            Freezer::V1(d) => Ok(v1::freezer::state(d)? == "FROZEN"),
            Freezer::V2(d) => v2::freezer::is_frozen(d),
        }
    }

    fn freezer(&self) -> Result<Freezer<'_>> {
        match self {
            Cgroup::Systemd { fs, .. } => fs.freezer(),
            Cgroup::V1(m) => m
                .dir("freezer")
                .map(Freezer::V1)
                .ok_or(Error::NoController {
                    field: "freeze".to_owned(),
                    controller: "freezer".to_owned(),
                }),
            Cgroup::V2(m) => Ok(Freezer::V2(m.path())),
            Cgroup::Hybrid { v1, unified } => Ok(v1
                .dir("freezer")
                .map_or(Freezer::V2(unified.path()), Freezer::V1)),
        }
    }

    /// Kills every process in the cgroup and waits until none is left:
    /// cgroup.kill where the kernel has it (5.14+), else SIGKILL to each
    /// process listed, frozen meanwhile so none can fork away. Whatever is
    /// still there on a later round (a process only in a v1 hierarchy) gets
    /// the signal loop too.
    pub fn kill(&self) -> Result<()> {
        let start = Instant::now();
        if let Cgroup::Systemd { fs, .. } = self {
            return fs.kill();
        }
        let v2_dir = match self {
            Cgroup::V1(_) | Cgroup::Systemd { .. } => None,
            Cgroup::V2(m) | Cgroup::Hybrid { unified: m, .. } => Some(m.path()),
        };
        let cgroup_kill = v2_dir.map(|d| d.join("cgroup.kill")).filter(|p| p.exists());
        let mut delay = Duration::from_millis(1);
        for round in 0.. {
            let pids = self.procs()?;
            if pids.is_empty() {
                return Ok(());
            }
            if start.elapsed() > KILL_DEADLINE {
                return Err(Error::KillTimeout {
                    path: self.dirs()[0].to_owned(),
                    pids,
                    millis: start.elapsed().as_millis(),
                });
            }
            match &cgroup_kill {
                Some(p) if round < 3 => write(p, "1")?,
                _ => self.signal_all(Signal::KILL)?,
            }
            sleep(delay);
            delay = (delay * 2).min(Duration::from_millis(50));
        }
        unreachable!("the kill loop returns")
    }

    /// Sends `sig` to every process, with the cgroup frozen meanwhile when it
    /// can be (no process forks away between listing and signalling). A
    /// cgroup frozen before stays frozen, except for SIGKILL: a frozen task
    /// only dies once thawed.
    pub fn signal_all(&self, sig: Signal) -> Result<()> {
        let was_frozen = self.is_frozen().unwrap_or(false);
        let froze = !was_frozen && self.freeze().is_ok();
        let mut result = Ok(());
        for pid in self.procs()? {
            let Some(p) = Pid::from_raw(pid as i32) else {
                continue;
            };
            match kill_process(p, sig) {
                Ok(()) | Err(rustix::io::Errno::SRCH) => {}
                Err(e) => {
                    result = Err(Error::Kill {
                        pid,
                        path: self.dirs()[0].to_owned(),
                        source: e.into(),
                    });
                    break;
                }
            }
        }
        if froze || (was_frozen && sig == Signal::KILL) {
            self.thaw()?;
        }
        result
    }

    /// How many times the OOM killer killed a process in this cgroup.
    pub fn oom_kills(&self) -> Result<u64> {
        match self.memory_dir()? {
            MemDir::V1(d) => read_keyed(&d.join("memory.oom_control"), "oom_kill"),
            MemDir::V2(d) => read_keyed(&d.join("memory.events"), "oom_kill"),
        }
    }

    /// A descriptor that wakes on OOM in this cgroup (see [`OomWatch`]).
    pub fn oom_watch(&self) -> Result<crate::OomWatch> {
        match self.memory_dir()? {
            MemDir::V1(d) => crate::OomWatch::v1(d),
            MemDir::V2(d) => crate::OomWatch::v2(d),
        }
    }

    fn memory_dir(&self) -> Result<MemDir<'_>> {
        match self {
            Cgroup::Systemd { fs, .. } => fs.memory_dir(),
            Cgroup::V1(m) => m.dir("memory").map(MemDir::V1).ok_or(Error::NoController {
                field: "memory".to_owned(),
                controller: "memory".to_owned(),
            }),
            Cgroup::V2(m) => Ok(MemDir::V2(m.path())),
            Cgroup::Hybrid { v1, unified } => Ok(v1
                .dir("memory")
                .map_or(MemDir::V2(unified.path()), MemDir::V1)),
        }
    }

    /// cpu, memory and pids statistics, each from the hierarchy holding it.
    /// A controller the cgroup does not have reads as zeros.
    pub fn stats(&self) -> Result<Stats> {
        if let Cgroup::Systemd { fs, .. } = self {
            return fs.stats();
        }
        let mut s = Stats::default();
        let (v1m, v2m) = match self {
            Cgroup::Systemd { .. } => (None, None),
            Cgroup::V1(m) => (Some(m), None),
            Cgroup::V2(m) => (None, Some(m)),
            Cgroup::Hybrid { v1, unified } => (Some(v1), Some(unified)),
        };
        let v1dir = |c: &str| v1m.and_then(|m| m.dir(c));
        let v2has = |file: &str| v2m.map(|m| m.path()).filter(|d| d.join(file).exists());
        if v1dir("cpuacct").is_some() {
            s.cpu = stats::cpu_v1(v1dir("cpuacct"), v1dir("cpu"))?;
        } else if let Some(d) = v2has("cpu.stat") {
            s.cpu = stats::cpu_v2(d)?;
        }
        if let Some(d) = v1dir("memory") {
            s.memory = stats::memory_v1(d)?;
        } else if let Some(d) = v2has("memory.current") {
            s.memory = stats::memory_v2(d)?;
        }
        if let Some(d) = v1dir("pids").or_else(|| v2has("pids.current")) {
            s.pids = stats::pids(d)?;
        }
        Ok(s)
    }

    /// Removes every directory `create` made, deepest first, in every
    /// hierarchy; the processes must be gone (see [`Cgroup::kill`]). Safe to
    /// call again after a failure.
    pub fn remove(&mut self) -> Result<()> {
        match self {
            Cgroup::V1(m) => m.remove(),
            Cgroup::V2(m) => m.remove(),
            Cgroup::Hybrid { v1, unified } => {
                let a = v1.remove();
                let b = unified.remove();
                a.and(b)
            }
            Cgroup::Systemd { unit, fs } => {
                unit.stop()?;
                fs.remove()
            }
        }
    }

    /// Reads one file of the cgroup in the v1 hierarchy holding
    /// `controller`, or in the unified one for `None` (and on pure v2): for
    /// callers that want a raw value.
    pub fn read_file(&self, controller: Option<&str>, file: &str) -> Result<String> {
        let dir = match (self, controller) {
            (Cgroup::Systemd { fs, .. }, _) => return fs.read_file(controller, file),
            (Cgroup::V2(m), _) | (Cgroup::Hybrid { unified: m, .. }, None) => m.path(),
            (Cgroup::V1(_), None) => {
                return Err(Error::NoUnified {
                    operation: "reading a unified cgroup file",
                })
            }
            (Cgroup::V1(m) | Cgroup::Hybrid { v1: m, .. }, Some(c)) => {
                m.dir(c).ok_or_else(|| Error::NoController {
                    field: file.to_owned(),
                    controller: c.to_owned(),
                })?
            }
        };
        read(&dir.join(file))
    }
}

enum Freezer<'a> {
    V1(&'a Path),
    V2(&'a Path),
}

enum MemDir<'a> {
    V1(&'a Path),
    V2(&'a Path),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A fake hybrid host in a tempdir: memory and pids as v1 hierarchies,
    /// a unified one offering hugetlb; our own cgroup is `own` everywhere.
    fn fake_host(t: &Path) -> (Host, ProcCgroups) {
        let mi = format!(
            "35 31 0:32 / {t}/memory rw - cgroup cgroup rw,memory\n\
             39 31 0:36 / {t}/pids rw - cgroup cgroup rw,pids\n\
             41 31 0:38 / {t}/unified rw - cgroup2 cgroup2 rw\n",
            t = t.display()
        );
        for h in ["memory", "pids", "unified"] {
            fs::create_dir_all(t.join(h).join("own")).unwrap();
        }
        fs::write(t.join("unified/own/cgroup.controllers"), "hugetlb\n").unwrap();
        fs::write(t.join("unified/own/cgroup.subtree_control"), "hugetlb\n").unwrap();
        let host = Host::parse(&mi, Path::new("mi")).unwrap();
        let own =
            ProcCgroups::parse("2:memory:/own\n1:pids:/own\n0::/own\n", Path::new("cg")).unwrap();
        (host, own)
    }

    #[test]
    fn hybrid_routes_each_controller_to_its_hierarchy() {
        let t = nsbox_testutil::TempDir::new("cg-mgr-hybrid");
        let (host, own) = fake_host(t.path());
        assert_eq!(host.mode(), Mode::Hybrid);
        let path = CgroupPath::parse(None, "box").unwrap();
        let mut cg = Cgroup::new(&host, &own, &path).unwrap();
        cg.create(&Resources::default()).unwrap();
        let dirs: Vec<_> = cg.dirs().iter().map(|d| d.to_path_buf()).collect();
        assert_eq!(
            dirs,
            [
                t.join("memory/own/box"),
                t.join("pids/own/box"),
                t.join("unified/own/box")
            ]
        );
        // what the kernel would show in the new directories
        fs::write(t.join("pids/own/box/pids.max"), "max\n").unwrap();
        fs::write(t.join("unified/own/box/cgroup.controllers"), "hugetlb\n").unwrap();
        fs::write(t.join("unified/own/box/hugetlb.2MB.max"), "max\n").unwrap();
        let res = Resources {
            pids: Some(crate::resources::Pids { limit: 9 }),
            hugepage_limits: vec![crate::resources::HugepageLimit {
                page_size: "2MB".into(),
                limit: 4 << 20,
            }],
            ..Default::default()
        };
        cg.apply(&res).unwrap();
        assert_eq!(
            fs::read_to_string(t.join("pids/own/box/pids.max")).unwrap(),
            "9"
        );
        assert_eq!(
            fs::read_to_string(t.join("unified/own/box/hugetlb.2MB.max")).unwrap(),
            "4194304"
        );
        // no cpu hierarchy anywhere: the field is named
        let res = Resources {
            cpu: Some(crate::resources::Cpu {
                shares: Some(100),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = cg.apply(&res).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "cpu: controller cpu is not enabled for this cgroup (not in {}/unified/own/box/cgroup.controllers)",
                t.path().display()
            )
        );
        // the handle survives a trip through JSON (the runtime's state)
        let json = serde_json::to_string(&cg).unwrap();
        let mut back: Cgroup = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cg);
        for d in &dirs {
            for f in fs::read_dir(d).unwrap() {
                fs::remove_file(f.unwrap().path()).unwrap();
            }
        }
        back.remove().unwrap();
        for d in &dirs {
            assert!(!d.exists());
            assert!(d.parent().unwrap().exists());
        }
    }

    #[test]
    fn failed_create_leaves_nothing_behind() {
        let t = nsbox_testutil::TempDir::new("cg-mgr-fail");
        let (host, own) = fake_host(t.path());
        // the pids hierarchy cannot take a directory there
        fs::write(t.join("pids/own/box"), "").unwrap();
        let path = CgroupPath::parse(Some("box/inner"), "x").unwrap();
        let mut cg = Cgroup::new(&host, &own, &path).unwrap();
        let e = cg.create(&Resources::default()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("create cgroup directory /tmp/nsbox-test-cg-mgr-fail"),
            "{e}"
        );
        assert!(!t.join("memory/own/box").exists());
        assert!(!t.join("unified/own/box").exists());
    }

    #[test]
    fn pure_v1_refuses_unified_keys() {
        let t = nsbox_testutil::TempDir::new("cg-mgr-v1");
        let (mut host, own) = fake_host(t.path());
        host.unified = None;
        let mut cg = Cgroup::new(&host, &own, &CgroupPath::parse(None, "b").unwrap()).unwrap();
        assert!(matches!(cg, Cgroup::V1(_)));
        cg.create(&Resources::default()).unwrap();
        let mut res = Resources::default();
        res.unified.insert("memory.high".into(), "1".into());
        let e = cg.apply(&res).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unified[memory.high]: not supported by cgroup v1 (this host has no unified hierarchy)"
        );
        assert!(cg.clone_fd().unwrap().is_none());
        cg.remove().unwrap();
    }
}
