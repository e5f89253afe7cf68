//! The files of the view and how one is built for one reader: gather the
//! reader's cgroup inputs, render; on any error the host's own file (LXCFS's
//! rule: a reader never gets less than /proc would give it).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nsbox_cgroups::Host;

use crate::cache::Cache;
use crate::error::{chain, Error, Result};
use crate::gather::{CpuLimits, Reader};
use crate::load::{self, Loads};
use crate::render::{cpus, diskstats, loadavg, meminfo, stat, swaps, uptime};

/// A file of the view, at its path beneath the mount point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum File {
    Meminfo,
    Cpuinfo,
    Stat,
    Uptime,
    CpuOnline,
    Swaps,
    Loadavg,
    Diskstats,
    PressureCpu,
    PressureMemory,
    PressureIo,
}

impl File {
    pub const ALL: [File; 11] = [
        File::Meminfo,
        File::Cpuinfo,
        File::Stat,
        File::Uptime,
        File::CpuOnline,
        File::Swaps,
        File::Loadavg,
        File::Diskstats,
        File::PressureCpu,
        File::PressureMemory,
        File::PressureIo,
    ];

    /// Where it sits beneath the mount point (LXCFS's layout) and, from
    /// `/`, the file it stands for.
    pub fn path(self) -> &'static str {
        match self {
            File::Meminfo => "proc/meminfo",
            File::Cpuinfo => "proc/cpuinfo",
            File::Stat => "proc/stat",
            File::Uptime => "proc/uptime",
            File::CpuOnline => "sys/devices/system/cpu/online",
            File::Swaps => "proc/swaps",
            File::Loadavg => "proc/loadavg",
            File::Diskstats => "proc/diskstats",
            File::PressureCpu => "proc/pressure/cpu",
            File::PressureMemory => "proc/pressure/memory",
            File::PressureIo => "proc/pressure/io",
        }
    }

    /// The cgroup v2 file with the cgroup's own numbers, for the PSI files.
    fn cgroup_file(self) -> Option<&'static str> {
        match self {
            File::PressureCpu => Some("cpu.pressure"),
            File::PressureMemory => Some("memory.pressure"),
            File::PressureIo => Some("io.pressure"),
            _ => None,
        }
    }
}

/// How long a cgroup's CPU limits (a walk up its tree) and the host's
/// cpuinfo are kept: a limit changed now shows within a second.
const LIMITS_VALID: Duration = Duration::from_secs(1);
/// How long a container's start (a look at each of its processes) is
/// kept; it changes only when its first process is replaced.
const START_VALID: Duration = Duration::from_secs(5);

/// A container's processes (its cgroups) in one PID namespace.
type StartKey = (Vec<PathBuf>, (u64, u64));

/// Where the host's files are read: `/` normally; tests give a fake tree.
#[derive(Clone)]
pub struct Source {
    host: Host,
    root: PathBuf,
    hz: u64,
    loads: Arc<Loads>,
    limits: Arc<Cache<Vec<PathBuf>, CpuLimits>>,
    starts: Arc<Cache<StartKey, u64>>,
    cpuinfo: Arc<Cache<(), String>>,
}

impl Source {
    /// The calling process's view of the host.
    pub fn detect() -> Result<Source> {
        Ok(Source {
            host: Host::detect().map_err(Error::Host)?,
            root: PathBuf::from("/"),
            hz: rustix::param::clock_ticks_per_second(),
            loads: Arc::default(),
            limits: Arc::new(Cache::new(LIMITS_VALID)),
            starts: Arc::new(Cache::new(START_VALID)),
            cpuinfo: Arc::new(Cache::new(LIMITS_VALID)),
        })
    }

    /// The load averages, for the thread that samples them (`Loads::run`).
    pub fn loads(&self) -> Arc<Loads> {
        Arc::clone(&self.loads)
    }

    /// `file` for the process `pid`; the host's file if anything fails.
    pub fn content(&self, file: File, pid: u32) -> Vec<u8> {
        match self.render(file, pid) {
            Ok(text) => text.into_bytes(),
            Err(err) => {
                eprintln!(
                    "nsbox proc-view: {} for pid {pid}: {}",
                    file.path(),
                    chain(&err)
                );
                self.host_file(file).unwrap_or_default().into_bytes()
            }
        }
    }

    fn host_file(&self, file: File) -> Result<String> {
        let read = || {
            let path = self.root.join(file.path());
            crate::text::read(&path).map_err(|source| Error::Read { path, source })
        };
        match file {
            // the costliest host file (a block per CPU), and nearly fixed
            File::Cpuinfo => self.cpuinfo.get(&(), read),
            _ => read(),
        }
    }

    /// `file` for the process `pid`, or the error that stopped it.
    pub fn render(&self, file: File, pid: u32) -> Result<String> {
        let host = self.host_file(file)?;
        let reader = Reader::for_pid(&self.host, &self.root.join("proc"), pid)?;
        Ok(match file {
            File::Meminfo => match reader.memory()? {
                Some(m) => meminfo::render(&host, &m),
                None => host,
            },
            File::Cpuinfo => cpus::cpuinfo(&host, self.cpus(&reader)?.visible()),
            File::CpuOnline => cpus::online(self.cpus(&reader)?.count()),
            File::Stat => {
                let n = self.cpus(&reader)?.count();
                // The host's own cgroup with every CPU: the host's file.
                if reader.cpu_time_is_hosts() && n == self.host_cpus()?.len() {
                    return Ok(host);
                }
                let up = self.uptime_ticks(&reader)?.0;
                stat::render(&host, n, reader.cpu_time(self.hz)?, up)
            }
            File::Loadavg => match reader.tasks() {
                Some(tasks) => {
                    let avg = self.loads.get(&tasks);
                    let (active, total) = load::count(&tasks);
                    loadavg::render(&avg, active, total)
                }
                None => host,
            },
            File::Diskstats => match reader.disk_io()? {
                Some(io) => diskstats::render(&host, &io),
                None => host,
            },
            File::Swaps => match reader.memory()? {
                Some(m) => swaps::render(&host, &self.host_file(File::Meminfo)?, &m),
                None => host,
            },
            File::PressureCpu | File::PressureMemory | File::PressureIo => {
                let name = file.cgroup_file().unwrap_or_default();
                match reader.own_unified_file(name) {
                    Some(path) => {
                        crate::text::read(&path).map_err(|source| Error::Read { path, source })?
                    }
                    None => host,
                }
            }
            File::Uptime => match self.uptime_ticks(&reader)? {
                (_, true) => host,
                (up, false) => {
                    let n = self.cpus(&reader)?.count() as u64;
                    let used = reader.cpu_time(self.hz)?;
                    let idle = up.saturating_mul(n).saturating_sub(used.user + used.system);
                    uptime::render(up, idle, self.hz)
                }
            },
        })
    }

    fn cpus(&self, reader: &Reader) -> Result<cpus::Cpus> {
        let limits = self.limits.get(&reader.key(), || reader.cpus())?;
        let quota = limits.quota;
        let cpuset = match limits.cpuset {
            Some(set) => set,
            None => self.host_cpus()?,
        };
        Ok(cpus::Cpus { cpuset, quota })
    }

    /// The host's online CPUs.
    fn host_cpus(&self) -> Result<Vec<u32>> {
        let path = self.root.join(File::CpuOnline.path());
        let text = crate::text::read(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        cpus::parse_list(&text).ok_or(Error::CpuList { path, text })
    }

    /// Ticks since the reader's container began, and whether that is the
    /// host's own uptime (a reader in our own PID namespace is the host's).
    fn uptime_ticks(&self, reader: &Reader) -> Result<(u64, bool)> {
        let path = self.root.join(File::Uptime.path());
        let text = crate::text::read(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        let host_up = parse_seconds(&text, self.hz).ok_or(Error::Uptime { path, text })?;
        let proc = self.root.join("proc");
        let ns = |pid: &str| pid_ns(&proc, pid);
        let theirs = ns(&reader.pid().to_string())?;
        if theirs == ns("self")? {
            return Ok((host_up, true));
        }
        let start = self
            .starts
            .get(&(reader.key(), theirs), || self.start(reader, theirs))?;
        Ok((host_up.saturating_sub(start), false))
    }
}

impl Source {
    /// When the reader's container began: its oldest process in the
    /// reader's PID namespace `ns` (the reader itself at worst), in ticks
    /// since boot.
    fn start(&self, reader: &Reader, ns: (u64, u64)) -> Result<u64> {
        let proc = self.root.join("proc");
        let mut start = None;
        for pid in reader.procs()? {
            if pid_ns(&proc, &pid.to_string()).ok() != Some(ns) {
                continue;
            }
            if let Ok(Some(s)) = nsbox_ns::procstat::Stat::read(pid) {
                start = Some(start.map_or(s.start_time, |b: u64| b.min(s.start_time)));
            }
        }
        match start {
            Some(s) => Ok(s),
            None => Ok(nsbox_ns::procstat::Stat::read(reader.pid())
                .map_err(|source| Error::ProcStat {
                    pid: reader.pid(),
                    source,
                })?
                .map_or(0, |s| s.start_time)),
        }
    }
}

/// The PID namespace of `/proc/PID` as (device, inode).
fn pid_ns(proc: &Path, pid: &str) -> Result<(u64, u64)> {
    let path = proc.join(pid).join("ns/pid");
    let m = std::fs::metadata(&path).map_err(|source| Error::Read { path, source })?;
    Ok((m.dev(), m.ino()))
}

/// The first number of `/proc/uptime` (`12345.67 ...`) in ticks.
fn parse_seconds(text: &str, hz: u64) -> Option<u64> {
    let first = text.split_whitespace().next()?;
    let (secs, frac) = first.split_once('.').unwrap_or((first, "0"));
    let secs: u64 = secs.parse().ok()?;
    let centis: u64 = format!("{frac:0<2}")[..2].parse().ok()?;
    Some(secs * hz + centis * hz / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_seconds_to_ticks() {
        assert_eq!(parse_seconds("12.34 56.78\n", 100), Some(1234));
        assert_eq!(parse_seconds("7.5 1\n", 100), Some(750));
        assert_eq!(parse_seconds("3 1\n", 1000), Some(3000));
        assert_eq!(parse_seconds("x", 100), None);
    }

    #[test]
    fn paths_are_lxcfs_layout() {
        let paths: Vec<_> = File::ALL.iter().map(|f| f.path()).collect();
        assert!(paths.contains(&"proc/meminfo"));
        assert!(paths.contains(&"sys/devices/system/cpu/online"));
    }
}
