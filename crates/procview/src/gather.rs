//! The inputs of the renderers for one reading process: its cgroup in each
//! hierarchy of this host (`/proc/PID/cgroup` through nsbox-cgroups' `Host`),
//! then that cgroup's limits and counters, v1 or v2 file names as the host
//! has them. Limits are the smallest from the cgroup up to its hierarchy's
//! root (a parent's limit binds a child that sets none).

use std::path::{Path, PathBuf};

use nsbox_cgroups::{fs as cgfs, Hierarchy, Host, ProcCgroups};

use crate::error::{Error, Result};
use crate::render::cpus::parse_list;
use crate::render::diskstats::{self, Io};
use crate::render::meminfo::{Counters, Memory};
use crate::render::stat::CpuTime;

/// A cgroup directory and the mount point above which the walk up stops.
#[derive(Debug, Clone)]
struct Place {
    dir: PathBuf,
    top: PathBuf,
}

impl Place {
    fn find(h: &Hierarchy, cgroups: &ProcCgroups) -> Option<Place> {
        let cg = cgroups.path_in(h).ok()?;
        h.mounts.iter().find_map(|m| {
            let rest = cg.strip_prefix(&m.root).ok()?;
            Some(Place {
                dir: m.point.join(rest),
                top: m.point.clone(),
            })
        })
    }

    /// The cgroup's directory and each parent up to the mount point.
    fn upwards(&self) -> impl Iterator<Item = &Path> {
        self.dir
            .ancestors()
            .take_while(move |d| d.starts_with(&self.top))
    }

    fn is_root(&self) -> bool {
        self.dir == self.top
    }
}

/// What a cgroup says of its CPUs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuLimits {
    /// Its cpuset; `None` where no cpuset controller reaches the cgroup
    /// (the caller uses the host's online CPUs).
    pub cpuset: Option<Vec<u32>>,
    /// The smallest `(quota, period)` up the tree; `None` when unlimited.
    pub quota: Option<(u64, u64)>,
}

/// Where one process's cgroup is, per job.
#[derive(Debug, Clone)]
pub struct Reader {
    pid: u32,
    memory_v1: Option<Place>,
    unified: Option<Place>,
    cpuset_v1: Option<Place>,
    cpu_v1: Option<Place>,
    cpuacct_v1: Option<Place>,
    blkio_v1: Option<Place>,
}

impl Reader {
    /// Reads `/proc/PID/cgroup` (from `proc`, the /proc root: tests pass
    /// another) and places the process in `host`'s hierarchies.
    pub fn for_pid(host: &Host, proc: &Path, pid: u32) -> Result<Reader> {
        let path = proc.join(pid.to_string()).join("cgroup");
        let text = crate::text::read(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        let cgroups =
            ProcCgroups::parse(&text, &path).map_err(|source| Error::ProcCgroup { pid, source })?;
        let v1 = |c: &str| host.v1_for(c).and_then(|h| Place::find(h, &cgroups));
        Ok(Reader {
            pid,
            memory_v1: v1("memory"),
            unified: host.unified.as_ref().and_then(|h| Place::find(h, &cgroups)),
            cpuset_v1: v1("cpuset"),
            cpu_v1: v1("cpu"),
            cpuacct_v1: v1("cpuacct"),
            blkio_v1: v1("blkio"),
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The process's cgroup directories: who it is, for answers kept a
    /// moment (`cache`); two processes of one container have the same.
    pub fn key(&self) -> Vec<PathBuf> {
        [
            &self.memory_v1,
            &self.unified,
            &self.cpuset_v1,
            &self.cpu_v1,
            &self.cpuacct_v1,
            &self.blkio_v1,
        ]
        .into_iter()
        .map(|p| p.as_ref().map(|p| p.dir.clone()).unwrap_or_default())
        .collect()
    }

    /// The unified cgroup when it holds `file` (a v2 controller is enabled
    /// there); on a hybrid host the unified hierarchy usually has none.
    fn unified_with(&self, file: &str) -> Option<&Place> {
        self.unified.as_ref().filter(|p| p.dir.join(file).exists())
    }

    /// `file` of the process's own unified cgroup (not the root's, which
    /// is the host's), when there is one.
    pub fn own_unified_file(&self, file: &str) -> Option<PathBuf> {
        let p = self.unified.as_ref().filter(|p| !p.is_root())?;
        Some(p.dir.join(file)).filter(|f| f.exists())
    }

    /// The cgroup's task list for its load: v1's cpu (or cpuacct) `tasks`,
    /// else the unified `cgroup.threads`; `None` at a hierarchy's root.
    pub fn tasks(&self) -> Option<PathBuf> {
        let v1 = self.cpu_v1.as_ref().or(self.cpuacct_v1.as_ref());
        match v1 {
            Some(p) => (!p.is_root()).then(|| p.dir.join("tasks")),
            None => self
                .unified
                .as_ref()
                .filter(|p| !p.is_root())
                .map(|p| p.dir.join("cgroup.threads")),
        }
    }

    /// The cgroup's IO per device (v1 blkio's throttle counters, which
    /// every scheduler keeps, or v2 io.stat); `None` at a hierarchy's root.
    pub fn disk_io(&self) -> Result<Option<Io>> {
        if let Some(p) = &self.blkio_v1 {
            if p.is_root() {
                return Ok(None);
            }
            let mut io = Io::new();
            let ios = read(&p.dir.join("blkio.throttle.io_serviced_recursive"))?;
            diskstats::parse_v1(&ios, &mut io, false);
            let bytes = read(&p.dir.join("blkio.throttle.io_service_bytes_recursive"))?;
            diskstats::parse_v1(&bytes, &mut io, true);
            return Ok(Some(io));
        }
        match self.unified_with("io.stat").filter(|p| !p.is_root()) {
            Some(p) => Ok(Some(diskstats::parse_v2(&read(&p.dir.join("io.stat"))?))),
            None => Ok(None),
        }
    }

    /// Memory limit and counters; `None` for a cgroup at a hierarchy's root
    /// (the host's own), which keeps the host's file.
    pub fn memory(&self) -> Result<Option<Memory>> {
        if let Some(p) = &self.memory_v1 {
            return if p.is_root() {
                Ok(None)
            } else {
                memory_v1(p).map(Some)
            };
        }
        match self.unified_with("memory.current") {
            Some(p) => memory_v2(p).map(Some),
            None => Ok(None),
        }
    }

    /// The cpuset and the smallest quota.
    pub fn cpus(&self) -> Result<CpuLimits> {
        let cpuset = match (&self.cpuset_v1, self.unified_with("cpuset.cpus.effective")) {
            (Some(p), _) => Some(cpu_list(&p.dir, &["cpuset.effective_cpus", "cpuset.cpus"])?),
            (None, Some(p)) => Some(cpu_list(&p.dir, &["cpuset.cpus.effective"])?),
            (None, None) => None,
        };
        let quota = match (&self.cpu_v1, self.unified_with("cpu.max")) {
            (Some(p), _) => quota_v1(p)?,
            (None, Some(p)) => quota_v2(p)?,
            (None, None) => None,
        };
        Ok(CpuLimits { cpuset, quota })
    }

    /// True when the CPU time is accounted in a hierarchy's root cgroup
    /// (the host's own): its `stat` is the host's.
    pub fn cpu_time_is_hosts(&self) -> bool {
        match (&self.cpuacct_v1, self.unified_with("cpu.stat")) {
            (Some(p), _) => p.is_root(),
            (None, Some(p)) => p.is_root(),
            (None, None) => true,
        }
    }

    /// CPU time used by the cgroup, in USER_HZ ticks.
    pub fn cpu_time(&self, hz: u64) -> Result<CpuTime> {
        if let Some(p) = &self.cpuacct_v1 {
            let stat = read(&p.dir.join("cpuacct.stat"))?;
            return Ok(CpuTime {
                user: cgfs::keyed(&stat, "user").unwrap_or(0),
                system: cgfs::keyed(&stat, "system").unwrap_or(0),
            });
        }
        match self.unified_with("cpu.stat") {
            Some(p) => {
                let stat = read(&p.dir.join("cpu.stat"))?;
                let ticks = |k| cgfs::keyed(&stat, k).unwrap_or(0).saturating_mul(hz) / 1_000_000;
                Ok(CpuTime {
                    user: ticks("user_usec"),
                    system: ticks("system_usec"),
                })
            }
            None => Ok(CpuTime::default()),
        }
    }

    /// The processes of the cgroup (the memory or unified one): where the
    /// container's init is looked for.
    pub fn procs(&self) -> Result<Vec<u32>> {
        let place = self.memory_v1.as_ref().or(self.unified.as_ref());
        match place {
            Some(p) => {
                let path = p.dir.join("cgroup.procs");
                cgfs::read_pids(&path).map_err(|source| Error::Cgroup { path, source })
            }
            None => Ok(vec![self.pid]),
        }
    }
}

fn read(path: &Path) -> Result<String> {
    crate::text::read(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })
}

fn read_u64(path: &Path) -> Result<Option<u64>> {
    crate::text::read_u64(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })
}

/// The smallest value of `file` from the cgroup up (`max` is u64::MAX).
fn smallest(p: &Place, file: &str) -> Result<Option<u64>> {
    let mut best: Option<u64> = None;
    for d in p.upwards() {
        if let Some(v) = read_u64(&d.join(file))? {
            best = Some(best.map_or(v, |b| b.min(v)));
        }
    }
    Ok(best)
}

fn counters(stat: &str, prefix: &str) -> Counters {
    let k = |name: &str| cgfs::keyed(stat, &format!("{prefix}{name}")).unwrap_or(0);
    if prefix.is_empty() {
        Counters {
            anon: k("anon"),
            file: k("file"),
            shmem: k("shmem"),
            mapped: k("file_mapped"),
            active_anon: k("active_anon"),
            inactive_anon: k("inactive_anon"),
            active_file: k("active_file"),
            inactive_file: k("inactive_file"),
            unevictable: k("unevictable"),
            slab_reclaimable: k("slab_reclaimable"),
            slab_unreclaimable: k("slab_unreclaimable"),
        }
    } else {
        Counters {
            anon: k("rss"),
            file: k("cache"),
            shmem: k("shmem"),
            mapped: k("mapped_file"),
            active_anon: k("active_anon"),
            inactive_anon: k("inactive_anon"),
            active_file: k("active_file"),
            inactive_file: k("inactive_file"),
            unevictable: k("unevictable"),
            slab_reclaimable: 0,
            slab_unreclaimable: 0,
        }
    }
}

/// v1: the kernel already gives the smallest limit up the tree in
/// memory.stat's `hierarchical_memory_limit` (and `_memsw_`).
fn memory_v1(p: &Place) -> Result<Memory> {
    let stat = read(&p.dir.join("memory.stat"))?;
    let limit = cgfs::keyed(&stat, "hierarchical_memory_limit").unwrap_or(u64::MAX);
    let usage = read_u64(&p.dir.join("memory.usage_in_bytes"))?.unwrap_or(0);
    let memsw = cgfs::keyed(&stat, "hierarchical_memsw_limit");
    let memsw_usage = read_u64(&p.dir.join("memory.memsw.usage_in_bytes"))?;
    let (swap_limit, swap_usage) = match (memsw, memsw_usage) {
        (Some(sw), Some(swu)) => (
            Some(sw.saturating_sub(limit.min(sw))),
            swu.saturating_sub(usage),
        ),
        _ => (None, 0),
    };
    // memsw == limit means "no swap allowed"; memsw unlimited means the
    // host's swap: both come out right (0, and u64::MAX - limit).
    Ok(Memory {
        limit,
        usage,
        swap_limit,
        swap_usage,
        counters: counters(&stat, "total_"),
    })
}

fn memory_v2(p: &Place) -> Result<Memory> {
    let stat = read(&p.dir.join("memory.stat"))?;
    Ok(Memory {
        limit: smallest(p, "memory.max")?.unwrap_or(u64::MAX),
        usage: read_u64(&p.dir.join("memory.current"))?.unwrap_or(0),
        swap_limit: smallest(p, "memory.swap.max")?,
        swap_usage: read_u64(&p.dir.join("memory.swap.current"))?.unwrap_or(0),
        counters: counters(&stat, ""),
    })
}

/// The first of `files` that exists, as a CPU list.
fn cpu_list(dir: &Path, files: &[&str]) -> Result<Vec<u32>> {
    let path = files
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.exists())
        .unwrap_or_else(|| dir.join(files[0]));
    let text = read(&path)?;
    parse_list(&text).ok_or(Error::CpuList { path, text })
}

/// The smallest quota/period ratio as a pair.
fn tighter(best: Option<(u64, u64)>, q: (u64, u64)) -> Option<(u64, u64)> {
    match best {
        // a/b < c/d  <=>  a*d < c*b
        Some(b) if u128::from(b.0) * u128::from(q.1) <= u128::from(q.0) * u128::from(b.1) => {
            Some(b)
        }
        _ => Some(q),
    }
}

fn quota_v1(p: &Place) -> Result<Option<(u64, u64)>> {
    let mut best = None;
    for d in p.upwards() {
        let quota = read(&d.join("cpu.cfs_quota_us"))?;
        let Ok(quota) = quota.trim().parse::<i64>() else {
            continue;
        };
        let period = read_u64(&d.join("cpu.cfs_period_us"))?.unwrap_or(100_000);
        if let Ok(q) = u64::try_from(quota) {
            best = tighter(best, (q, period));
        }
    }
    Ok(best)
}

fn quota_v2(p: &Place) -> Result<Option<(u64, u64)>> {
    let mut best = None;
    for d in p.upwards() {
        let path = d.join("cpu.max");
        if !path.exists() {
            continue;
        }
        let text = read(&path)?;
        let mut it = text.split_whitespace();
        let (Some(q), Some(period)) = (it.next(), it.next()) else {
            continue;
        };
        if let (Ok(q), Ok(period)) = (q.parse::<u64>(), period.parse::<u64>()) {
            best = tighter(best, (q, period));
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn place(t: &nsbox_testutil::TempDir, rel: &str) -> Place {
        let dir = t.join(rel);
        fs::create_dir_all(&dir).unwrap();
        Place {
            dir,
            top: t.path().to_owned(),
        }
    }

    #[test]
    fn v2_limits_are_the_smallest_up_the_tree() {
        let t = nsbox_testutil::TempDir::new("procview-v2");
        let p = place(&t, "a/b");
        let w = |f: &str, s: &str| fs::write(t.join(f), s).unwrap();
        w("a/memory.max", "67108864\n");
        w("a/b/memory.max", "max\n");
        w("a/b/memory.current", "1048576\n");
        w("a/b/memory.swap.max", "max\n");
        w("a/b/memory.swap.current", "0\n");
        w(
            "a/b/memory.stat",
            "anon 4096\nfile 8192\nshmem 0\nactive_file 4096\n",
        );
        w("a/cpu.max", "50000 100000\n");
        w("a/b/cpu.max", "max 100000\n");
        let m = memory_v2(&p).unwrap();
        assert_eq!(m.limit, 64 << 20);
        assert_eq!(m.usage, 1 << 20);
        assert_eq!(m.swap_limit, Some(u64::MAX));
        assert_eq!(m.counters.file, 8192);
        assert_eq!(m.counters.active_file, 4096);
        assert_eq!(quota_v2(&p).unwrap(), Some((50_000, 100_000)));
    }

    #[test]
    fn v1_limits_from_hierarchical_values_and_quota_walk() {
        let t = nsbox_testutil::TempDir::new("procview-v1");
        let p = place(&t, "a/b");
        let w = |f: &str, s: &str| fs::write(t.join(f), s).unwrap();
        w(
            "a/b/memory.stat",
            "cache 1\ntotal_cache 8192\ntotal_rss 4096\nhierarchical_memory_limit 67108864\nhierarchical_memsw_limit 100663296\n",
        );
        w("a/b/memory.usage_in_bytes", "12288\n");
        w("a/b/memory.memsw.usage_in_bytes", "16384\n");
        for (d, q) in [("", "-1"), ("a/", "150000"), ("a/b/", "-1")] {
            w(&format!("{d}cpu.cfs_quota_us"), q);
            w(&format!("{d}cpu.cfs_period_us"), "100000");
        }
        w("a/b/cpuset.effective_cpus", "0-1,3\n");
        let m = memory_v1(&p).unwrap();
        assert_eq!(m.limit, 64 << 20);
        assert_eq!(m.swap_limit, Some(32 << 20));
        assert_eq!(m.swap_usage, 4096);
        assert_eq!(m.counters.file, 8192);
        assert_eq!(m.counters.anon, 4096);
        assert_eq!(quota_v1(&p).unwrap(), Some((150_000, 100_000)));
        assert_eq!(
            cpu_list(&p.dir, &["cpuset.effective_cpus", "cpuset.cpus"]).unwrap(),
            [0, 1, 3]
        );
    }

    #[test]
    fn tighter_keeps_the_smallest_ratio() {
        let b = tighter(None, (200_000, 100_000));
        let b = tighter(b, (50_000, 50_000));
        assert_eq!(b, Some((50_000, 50_000)));
        assert_eq!(tighter(b, (300_000, 100_000)), Some((50_000, 50_000)));
    }
}
