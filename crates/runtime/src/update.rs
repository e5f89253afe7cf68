//! `update`: changes a live container's limits, as runc's `update` does:
//! `--resources FILE` (or `-`, stdin) holds OCI `LinuxResources` JSON, and
//! runc's flags (`--memory 128m`, `--cpu-quota 50000`, ...) override the
//! fields they name. Applied with the same code as `create` (a value the
//! host cannot take is an error naming the field and the file); the
//! handle, which may now have enabled a controller, is saved again.
//!
//! Device rules are set at create only, as runc does: an engine's update
//! JSON may carry the container's device rules (containerd's CRI sends the
//! whole `resources`), and rewriting the device cgroup of a running
//! container from them could take away a device it uses.
//!
//! `memory.checkBeforeUpdate` in the update's JSON (runtime-spec 1.1) is
//! runc's check, on a cgroup v2 memory controller only: a memory limit, or
//! memory+swap limit, at or below the cgroup's `memory.current` is refused
//! before anything is written (v2 would reclaim, then OOM-kill). A v1
//! memory controller needs no check: its kernel refuses (EBUSY) a limit it
//! cannot reclaim down to, and runc and crun check nothing there either.

use std::io::Read as _;
use std::path::Path;

use nsbox_cgroups::resources::{BlockIo, Cpu, Memory, Pids};
use nsbox_cgroups::{Cgroup, Resources};
use oci_spec::runtime::LinuxResources;

use crate::state::StateDir;
use crate::Error;

/// runc's `update` flags; `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct UpdateOptions {
    /// `--resources`: a file, or `-` for stdin.
    pub resources: Option<String>,
    /// `--memory`, `--memory-swap`, `--memory-reservation`: bytes, with an
    /// optional k/m/g/t suffix (runc's units), or -1 for no limit.
    pub memory: Option<String>,
    pub memory_swap: Option<String>,
    pub memory_reservation: Option<String>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub cpu_shares: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
}

/// Applies `opts` to the container `id`; what it leaves alone on purpose
/// comes back as warnings.
pub fn update(root: &Path, id: &str, opts: &UpdateOptions) -> Result<Vec<Error>, Error> {
    let dir = StateDir::open(root, id)?;
    let mut record = dir.read()?;
    if record.live_pid().is_none() {
        return Err(Error::WrongStatus {
            id: id.to_string(),
            status: "stopped",
            wanted: "created or running",
        });
    }
    let mut cg = crate::placement::recorded(&record)?;
    let Asked {
        mut res,
        mut warnings,
        check_before_update,
    } = resources(opts)?;
    if let Some(m) = res.memory.as_ref().filter(|_| check_before_update) {
        refuse_below_usage(&cg, m)?;
    }
    warnings.extend(crate::limits::take_v1_only(&cg, &mut res, "--resources"));
    let result = cg.apply(&res).map_err(|source| Error::Cgroup {
        what: "update resources".into(),
        source,
    });
    // Saved even after a failure: the handle may have enabled a controller
    // before the write the kernel refused, and `delete` must know.
    if record.cgroup.as_ref() != Some(&cg) {
        record.cgroup = Some(cg);
        dir.write(&record)?;
    }
    result.map(|()| warnings)
}

/// What an `update` asks for.
struct Asked {
    /// `--resources` JSON, then the flags on top.
    res: Resources,
    /// What the JSON asks that is left alone.
    warnings: Vec<Error>,
    /// The JSON's `memory.checkBeforeUpdate` (runc reads it from there
    /// only, not from config.json).
    check_before_update: bool,
}

fn resources(opts: &UpdateOptions) -> Result<Asked, Error> {
    let (mut res, warnings, check_before_update) = match &opts.resources {
        Some(path) => {
            let oci = read_resources(path)?;
            let mut res = crate::limits::from_oci(Some(&oci), &[])?;
            res.devices.clear(); // set at create only (see the module's comment)
            let check = oci
                .memory()
                .as_ref()
                .and_then(|m| m.check_before_update())
                .unwrap_or(false);
            (
                res,
                crate::limits::ignored(Some(&oci), "--resources"),
                check,
            )
        }
        None => (Resources::default(), Vec::new(), false),
    };
    let bytes = |flag, v: &Option<String>| v.as_deref().map(|t| parse_bytes(flag, t)).transpose();
    let limit = bytes("--memory", &opts.memory)?;
    let swap = bytes("--memory-swap", &opts.memory_swap)?;
    let reservation = bytes("--memory-reservation", &opts.memory_reservation)?;
    if limit.is_some() || swap.is_some() || reservation.is_some() {
        let m = res.memory.get_or_insert_with(Memory::default);
        m.limit = limit.or(m.limit);
        m.swap = swap.or(m.swap);
        m.reservation = reservation.or(m.reservation);
    }
    if opts.cpu_quota.is_some()
        || opts.cpu_period.is_some()
        || opts.cpu_shares.is_some()
        || opts.cpuset_cpus.is_some()
        || opts.cpuset_mems.is_some()
    {
        let c = res.cpu.get_or_insert_with(Cpu::default);
        c.quota = opts.cpu_quota.or(c.quota);
        c.period = opts.cpu_period.or(c.period);
        c.shares = opts.cpu_shares.or(c.shares);
        c.cpus = opts.cpuset_cpus.clone().or(c.cpus.take());
        c.mems = opts.cpuset_mems.clone().or(c.mems.take());
    }
    if let Some(limit) = opts.pids_limit {
        res.pids = Some(Pids { limit });
    }
    if let Some(w) = opts.blkio_weight {
        res.block_io.get_or_insert_with(BlockIo::default).weight = Some(w);
    }
    Ok(Asked {
        res,
        warnings,
        check_before_update,
    })
}

/// `memory.checkBeforeUpdate`: on a cgroup v2 memory controller, a limit
/// at or below `memory.current` is refused (memory+swap first, as runc).
/// Best effort, as runc's: an unreadable usage (the controller not yet
/// enabled for this cgroup) checks nothing.
fn refuse_below_usage(cg: &Cgroup, m: &Memory) -> Result<(), Error> {
    let v1_memory = match cg {
        Cgroup::V1(_) => true,
        Cgroup::Hybrid { v1, .. } => v1.dir("memory").is_some(),
        Cgroup::V2(_) => false,
    };
    if v1_memory {
        return Ok(());
    }
    let Some(usage) = cg
        .read_file(None, "memory.current")
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok())
    else {
        return Ok(());
    };
    let asked = [
        ("swap", "memory+swap", m.swap),
        ("limit", "memory", m.limit),
    ];
    for (field, what, limit) in asked {
        if let Some(limit) = limit.filter(|&l| l > 0 && l as u64 <= usage) {
            return Err(Error::MemoryBelowUsage {
                field,
                what,
                limit,
                usage,
            });
        }
    }
    Ok(())
}

fn read_resources(path: &str) -> Result<LinuxResources, Error> {
    let mut text = String::new();
    let read = if path == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    read.map_err(|source| Error::ReadResources {
        path: path.to_string(),
        source,
    })?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de).map_err(|e| Error::ResourcesJson {
        path: format!("{}: {}", if path == "-" { "stdin" } else { path }, e.path()),
        source: e.into_inner(),
    })
}

/// runc's (docker units') RAM sizes: `1048576`, `512k`, `64m`, `1g`, `1t`
/// (powers of 1024, an optional trailing `b`, any case); `-1` is no limit.
pub fn parse_bytes(flag: &'static str, text: &str) -> Result<i64, Error> {
    let bad = || Error::UpdateFlag {
        flag,
        msg: format!("invalid size {text:?} (bytes, or a number with k, m, g or t)"),
    };
    let t = text.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, shift) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 10),
        Some('m') => (&t[..t.len() - 1], 20),
        Some('g') => (&t[..t.len() - 1], 30),
        Some('t') => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let n: f64 = num.trim().parse().map_err(|_| bad())?;
    if !n.is_finite() || n < 0.0 {
        return Err(bad());
    }
    let bytes = n * (1u64 << shift) as f64;
    if bytes > i64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_runc_reads_them() {
        assert_eq!(parse_bytes("--memory", "1048576").unwrap(), 1 << 20);
        assert_eq!(parse_bytes("--memory", "64m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("--memory", "64MB").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("--memory", "1.5g").unwrap(), 3 << 29);
        assert_eq!(parse_bytes("--memory", "-1").unwrap(), -1);
        let e = parse_bytes("--memory", "lots").unwrap_err();
        assert!(
            e.to_string().starts_with("--memory: invalid size \"lots\""),
            "{e}"
        );
    }

    #[test]
    fn flags_override_the_json() {
        let t = nsbox_testutil::TempDir::new("rt-update-json");
        let file = t.join("r.json");
        std::fs::write(
            &file,
            r#"{"memory":{"limit":1000,"swap":2000},"pids":{"limit":5}}"#,
        )
        .unwrap();
        let opts = UpdateOptions {
            resources: Some(file.display().to_string()),
            memory: Some("4k".into()),
            cpu_quota: Some(50000),
            ..Default::default()
        };
        let Asked {
            res: r,
            warnings,
            check_before_update,
        } = resources(&opts).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(!check_before_update);
        let m = r.memory.unwrap();
        assert_eq!((m.limit, m.swap), (Some(4096), Some(2000)));
        assert_eq!(r.pids.unwrap().limit, 5);
        assert_eq!(r.cpu.unwrap().quota, Some(50000));
        std::fs::write(&file, r#"{"memory":{"limit":"x"}}"#).unwrap();
        let e = resources(&opts).err().unwrap();
        assert!(e.to_string().contains("memory.limit"), "{e}");
        std::fs::write(&file, r#"{"memory":{"checkBeforeUpdate":true}}"#).unwrap();
        assert!(resources(&opts).unwrap().check_before_update);
    }

    /// runc's rule on a v2 cgroup (a tempdir standing in for it): at or
    /// below `memory.current` refused, memory+swap first; above, or with
    /// no usage to read, passed.
    #[test]
    fn check_before_update_compares_with_memory_current() {
        let t = nsbox_testutil::TempDir::new("rt-update-check");
        let cg = Cgroup::V2(nsbox_cgroups::v2::Manager::at(t.path().to_path_buf()));
        let mem = |limit, swap| Memory {
            limit: Some(limit),
            swap,
            ..Default::default()
        };
        refuse_below_usage(&cg, &mem(1, None)).unwrap(); // no memory.current
        std::fs::write(t.join("memory.current"), "1000\n").unwrap();
        let e = refuse_below_usage(&cg, &mem(1000, None)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--resources: memory.limit: refusing the memory limit 1000: not above the \
             cgroup's current usage 1000 (memory.checkBeforeUpdate); nothing changed"
        );
        let e = refuse_below_usage(&cg, &mem(500, Some(900))).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--resources: memory.swap: refusing the memory+swap limit 900:"),
            "{e}"
        );
        refuse_below_usage(&cg, &mem(1001, Some(2000))).unwrap();
        refuse_below_usage(&cg, &mem(-1, Some(-1))).unwrap(); // no limit
    }

    /// containerd's CRI sends the whole `resources`, device rules and
    /// deprecated kernel memory included: the rules stay as create set
    /// them, kernel memory is a warning, the limits apply.
    #[test]
    fn device_rules_and_kernel_memory_are_left_alone() {
        let t = nsbox_testutil::TempDir::new("rt-update-devices");
        let file = t.join("r.json");
        std::fs::write(
            &file,
            r#"{"devices":[{"allow":false,"access":"rwm"}],
                "memory":{"limit":4096,"kernel":8192,"kernelTCP":0}}"#,
        )
        .unwrap();
        let opts = UpdateOptions {
            resources: Some(file.display().to_string()),
            ..Default::default()
        };
        let Asked {
            res: r, warnings, ..
        } = resources(&opts).unwrap();
        assert!(r.devices.is_empty(), "{:?}", r.devices);
        let m = r.memory.unwrap();
        assert_eq!((m.limit, m.kernel, m.kernel_tcp), (Some(4096), None, None));
        let said: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].starts_with("--resources: linux.resources.memory.kernel: ignored: kernel memory limits are deprecated"),
            "{said:?}"
        );
    }
}
