//! nsbox-cgroups on the real kernel, as root: cgroups are made beneath the
//! test process's own in every hierarchy (never moving the test process),
//! only processes the test spawned go into them, limits are checked by their
//! effect, and a guard kills and removes everything even when a test fails.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nsbox_cgroups::resources::{self, Memory, Network, Pids};
use nsbox_cgroups::{Cgroup, CgroupPath, Host, Mode, ProcCgroups, Resources};

/// A test's cgroup and children: on drop (pass or fail) thaws, kills,
/// reaps and removes.
struct Guard {
    cg: Cgroup,
    children: Vec<Child>,
}

impl Guard {
    /// A cgroup `nsbox-test-<tag>-<pid>` beneath our own (on pure v2
    /// beside it), created.
    fn new(tag: &str, res: &Resources) -> Guard {
        let path = CgroupPath::parse(
            Some(&format!("nsbox-test-{tag}-{}", std::process::id())),
            "unused",
        )
        .unwrap();
        Guard::at(&path, res)
    }

    /// The cgroup at `path`, created.
    fn at(path: &CgroupPath, res: &Resources) -> Guard {
        nsbox_testutil::require_root();
        let mut cg = Cgroup::for_caller(path).unwrap();
        cg.create(res).unwrap();
        Guard {
            cg,
            children: Vec::new(),
        }
    }

    /// Runs `sh -c script` inside the cgroup: the shell waits on stdin until
    /// it has been added, so nothing it does runs outside.
    fn spawn(&mut self, script: &str) -> usize {
        let mut c = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("read go; {script}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        self.cg.add_pid(c.id()).unwrap();
        c.stdin.take().unwrap().write_all(b"go\n").unwrap();
        self.children.push(c);
        self.children.len() - 1
    }

    /// Waits (bounded) for child `i`; returns status, stdout, stderr.
    fn wait(&mut self, i: usize, limit: Duration) -> (ExitStatus, String, String) {
        let c = &mut self.children[i];
        let start = Instant::now();
        let status = loop {
            if let Some(s) = c.try_wait().unwrap() {
                break s;
            }
            assert!(start.elapsed() < limit, "child {} still running", c.id());
            sleep(Duration::from_millis(10));
        };
        let mut out = String::new();
        let mut err = String::new();
        c.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        c.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        (status, out, err)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.cg.thaw();
        let _ = self.cg.kill();
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Err(e) = self.cg.remove() {
            eprintln!("cleanup: {e}");
        }
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out: {what}"
        );
        sleep(Duration::from_millis(10));
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// `cg`'s cgroup in every v1 hierarchy mounted here contains `name`. Only
/// the mounted ones: /proc/PID/cgroup also lists hierarchies mounted (or
/// left with cgroups) elsewhere, which no one here can place a process in.
fn assert_in_every_v1_hierarchy(cg: &ProcCgroups, name: &str) {
    for h in &Host::detect().unwrap().v1 {
        let p = cg.path_in(h).unwrap();
        assert!(
            p.to_string_lossy().contains(name),
            "{}: {}",
            h.name(),
            p.display()
        );
    }
}

#[test]
fn host_is_detected_as_it_is() {
    let host = Host::detect().unwrap();
    let own = ProcCgroups::own().unwrap();
    // every hierarchy resolves our own cgroup to an existing directory
    for h in host.v1.iter().chain(host.unified.iter()) {
        let dir = h.dir_of(own.path_in(h).unwrap()).unwrap();
        assert!(dir.join("cgroup.procs").exists(), "{}", dir.display());
    }
    if host.v1.iter().any(|h| !h.is_named_only()) {
        assert_ne!(host.mode(), Mode::V2);
    }
}

#[test]
fn created_beneath_own_cgroup_in_every_hierarchy_and_removed() {
    let host = Host::detect().unwrap();
    let own = ProcCgroups::own().unwrap();
    let mut g = Guard::new("place", &Resources::default());
    let dirs: Vec<PathBuf> = g.cg.dirs().iter().map(|d| d.to_path_buf()).collect();
    let n = host.v1.len() + usize::from(host.unified.is_some());
    assert_eq!(dirs.len(), n);
    for h in host.v1.iter().chain(host.unified.iter()) {
        let mine = own.path_in(h).unwrap();
        // pure v2: beneath the parent of our cgroup (ours holds us, and so
        // could not hand controllers down), or the root if we are in it
        let base = match host.mode() {
            Mode::V2 => mine.parent().unwrap_or(mine),
            Mode::V1 | Mode::Hybrid => mine,
        };
        let base = h.dir_of(base).unwrap();
        assert!(
            dirs.iter().any(|d| d.parent() == Some(base.as_path())),
            "no cgroup beneath {}",
            base.display()
        );
    }
    let i = g.spawn("exec sleep 30");
    let pid = g.children[i].id();
    assert_eq!(g.cg.procs().unwrap(), vec![pid]);
    // the process shows up in every hierarchy's cgroup, ours is untouched
    let theirs = ProcCgroups::read(Path::new(&format!("/proc/{pid}/cgroup"))).unwrap();
    assert_in_every_v1_hierarchy(&theirs, "nsbox-test-place");
    assert_eq!(ProcCgroups::own().unwrap(), own);

    // removal refuses while busy, succeeds after kill, removes only ours
    g.cg.kill().unwrap();
    assert!(g.cg.procs().unwrap().is_empty());
    g.cg.remove().unwrap();
    for d in &dirs {
        assert!(!d.exists(), "{} left behind", d.display());
        assert!(d.parent().unwrap().exists());
    }
}

#[test]
fn pids_limit_stops_forks() {
    let res = Resources {
        pids: Some(Pids { limit: 5 }),
        ..Default::default()
    };
    let mut g = Guard::new("pids", &res);
    g.cg.apply(&res).unwrap();
    // the sleeps must not hold our pipes open
    let i =
        g.spawn("for n in 1 2 3 4 5 6 7 8; do sleep 30 >/dev/null 2>&1 & done; echo spawned all");
    let (status, out, err) = g.wait(i, Duration::from_secs(10));
    assert!(!status.success(), "shell forked past the limit: {out}");
    assert!(!out.contains("spawned all"));
    assert!(err.contains("fork"), "stderr: {err}");
    // the shell plus at most 4 sleeps ever existed; 4 remain
    assert_eq!(g.cg.procs().unwrap().len(), 4, "{err}");
    let s = g.cg.stats().unwrap();
    assert_eq!(s.pids.limit, 5);
    assert_eq!(s.pids.current, 4);
}

#[test]
fn memory_limit_oom_kills() {
    let res = Resources {
        memory: Some(Memory {
            limit: Some(64 << 20),
            swap: Some(64 << 20),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut g = Guard::new("oom", &res);
    g.cg.apply(&res).unwrap();
    assert_eq!(g.cg.oom_kills().unwrap(), 0);
    // dd fills a 100 MB buffer from /dev/zero in a few big reads (a shell
    // variable filled through `tr` took over 30 s under qemu's TCG on a
    // loaded machine); exec: the shell we wait for is the one killed
    let i = g.spawn("exec dd if=/dev/zero of=/dev/null bs=100M count=1; echo survived");
    let (status, out, _) = g.wait(i, Duration::from_secs(30));
    assert!(!out.contains("survived"));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    assert!(g.cg.oom_kills().unwrap() >= 1);
    let s = g.cg.stats().unwrap();
    assert_eq!(s.memory.usage.limit, 64 << 20);
    assert!(s.memory.usage.max >= 60 << 20, "{:?}", s.memory.usage);
}

#[test]
fn memory_limit_below_usage_names_field_and_file() {
    // created with a memory limit: on v2 a controller is enabled for the
    // cgroup only at creation, for the resources given then
    let res = Resources {
        memory: Some(Memory {
            limit: Some(512 << 20),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut g = Guard::new("busy", &res);
    g.cg.apply(&res).unwrap();
    // a shell holding ~8 MB of anonymous memory; there is no swap to push it
    // to. `sleep` is not its last command: shells (busybox ash) exec that one
    // in place of themselves, freeing the memory
    let i = g
        .spawn(r#"x=$(head -c 8000000 /dev/zero | tr "\0" x); echo ready; sleep 30; echo "${#x}""#);
    let stdout = g.children[i].stdout.as_mut().unwrap();
    let mut buf = [0u8; 6];
    stdout.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ready\n");
    let tight = Resources {
        memory: Some(Memory {
            limit: Some(1 << 20),
            swap: Some(1 << 20),
            ..Default::default()
        }),
        ..Default::default()
    };
    match g.cg.apply(&tight) {
        // the kernel could not reclaim below usage
        Err(e) => {
            let msg = chain(&e);
            assert!(
                msg.starts_with("memory.limit: write \"1048576\" to /sys/fs/cgroup/memory/"),
                "{msg}"
            );
            assert!(msg.contains("nsbox-test-busy"), "{msg}");
            assert!(
                msg.ends_with("memory.limit_in_bytes: Device or resource busy (os error 16)"),
                "{msg}"
            );
        }
        // or it OOM-killed the shell to make room (v2 does this)
        Ok(()) => assert!(g.cg.oom_kills().unwrap() >= 1),
    }
}

#[test]
fn freeze_stops_progress_and_thaw_resumes() {
    // Declared first, dropped last: the counting shell (killed with `g`)
    // must be gone before its directory is removed.
    let t = nsbox_testutil::TempDir::new("cg-freeze");
    let mut g = Guard::new("freeze", &Resources::default());
    let f = t.join("count");
    g.spawn(&format!(
        "i=0; while :; do i=$((i+1)); echo $i > {}.tmp; mv {0}.tmp {0}; done",
        f.display()
    ));
    let read = || {
        std::fs::read_to_string(&f)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
    };
    wait_until("counter starts", || read().is_some_and(|n| n > 10));
    g.cg.freeze().unwrap();
    assert!(g.cg.is_frozen().unwrap());
    let a = read().unwrap();
    let cpu_a = g.cg.stats().unwrap().cpu.usage.total;
    sleep(Duration::from_millis(300));
    assert_eq!(read().unwrap(), a, "counter moved while frozen");
    assert_eq!(g.cg.stats().unwrap().cpu.usage.total, cpu_a);
    g.cg.thaw().unwrap();
    assert!(!g.cg.is_frozen().unwrap());
    wait_until("counter resumes", || read().unwrap_or(0) > a + 10);
    assert!(g.cg.stats().unwrap().cpu.usage.total > cpu_a);
}

/// The unified cgroup freezes by itself (cgroup.freeze, waiting on
/// cgroup.events): on a hybrid host beside the v1 freezer, on pure v2 as
/// the only one.
#[test]
fn unified_cgroup_freeze_and_thaw() {
    let mut g = Guard::new("v2freeze", &Resources::default());
    let dir = match &g.cg {
        Cgroup::Hybrid { unified, .. } | Cgroup::V2(unified) => unified.path().to_owned(),
        Cgroup::Systemd { .. } => unreachable!("Guard makes a cgroupfs cgroup"),
        Cgroup::V1(_) => {
            assert!(Host::detect().unwrap().unified.is_none());
            return nsbox_testutil::skip_here(
                "pure v1: no unified hierarchy",
                &["hybrid", "v2", "v2-leaf"],
            );
        }
    };
    g.spawn("exec sleep 30");
    nsbox_cgroups::v2::freezer::freeze(&dir).unwrap();
    assert!(nsbox_cgroups::v2::freezer::is_frozen(&dir).unwrap());
    let pid = g.children[0].id();
    let stat = nsbox_ns::procstat::Stat::read(pid).unwrap().unwrap();
    let state = char::from(stat.state);
    assert!(matches!(state, 'S' | 'D' | 't' | 'T'), "state {state}");
    nsbox_cgroups::v2::freezer::thaw(&dir).unwrap();
    assert!(!nsbox_cgroups::v2::freezer::is_frozen(&dir).unwrap());
}

#[test]
fn kill_empties_the_cgroup() {
    let mut g = Guard::new("kill", &Resources::default());
    for _ in 0..3 {
        g.spawn("sleep 30 & sleep 30 & exec sleep 30");
    }
    wait_until("9 processes", || g.cg.procs().unwrap().len() == 9);
    g.cg.kill().unwrap();
    assert!(g.cg.procs().unwrap().is_empty());
    for i in 0..3 {
        use std::os::unix::process::ExitStatusExt;
        let (s, _, _) = g.wait(i, Duration::from_secs(5));
        assert_eq!(s.signal(), Some(libc::SIGKILL));
    }
}

/// The signal loop used where cgroup.kill is missing (pure v1, old v2),
/// driven through the v1 hierarchies alone (on a hybrid host, without its
/// unified cgroup): frozen processes still die.
#[test]
fn kill_by_signals_through_v1_freezer() {
    let mut g = Guard::new("v1kill", &Resources::default());
    let v1only = match &g.cg {
        Cgroup::Hybrid { v1, .. } | Cgroup::V1(v1) => Cgroup::V1(v1.clone()),
        Cgroup::Systemd { .. } => unreachable!("Guard makes a cgroupfs cgroup"),
        Cgroup::V2(_) => {
            return nsbox_testutil::skip_here("pure v2: no v1 freezer", &["hybrid", "v1"]);
        }
    };
    for _ in 0..2 {
        g.spawn("sleep 30 & exec sleep 30");
    }
    wait_until("4 processes", || v1only.procs().unwrap().len() == 4);
    v1only.freeze().unwrap();
    v1only.kill().unwrap();
    assert!(v1only.procs().unwrap().is_empty());
    assert!(!v1only.is_frozen().unwrap());
}

#[test]
fn clone_fd_is_the_unified_directory() {
    use std::os::fd::AsFd;
    let g = Guard::new("fd", &Resources::default());
    let Some(fd) = g.cg.clone_fd().unwrap() else {
        // pure v1: no cgroup for clone3 to be born into
        assert!(matches!(g.cg, Cgroup::V1(_)), "no clone fd for {:?}", g.cg);
        assert!(Host::detect().unwrap().unified.is_none());
        return;
    };
    let st = rustix::fs::fstat(fd.as_fd()).unwrap();
    let want = rustix::fs::stat(*g.cg.dirs().last().unwrap()).unwrap();
    assert_eq!((st.st_dev, st.st_ino), (want.st_dev, want.st_ino));
}

#[test]
fn what_this_host_cannot_apply_is_an_error() {
    let host = Host::detect().unwrap();
    let mut g = Guard::new("refuse", &Resources::default());
    // net_cls is not mounted here (and does not exist in v2)
    let r = Resources {
        network: Some(Network {
            class_id: Some(0x10001),
            priorities: vec![],
        }),
        ..Default::default()
    };
    if host.v1_for("net_cls").is_some() {
        // where it is mounted (v1 hosts) it applies
        g.cg.apply(&r).unwrap();
        assert_eq!(
            g.cg.read_file(Some("net_cls"), "net_cls.classid")
                .unwrap()
                .trim(),
            "65537"
        );
    } else {
        let e = g.cg.apply(&r).unwrap_err();
        let want = if host.mode() == Mode::V2 {
            "network: not supported by cgroup v2 (net_cls/net_prio exist only in v1)"
        } else {
            "network.classID: controller net_cls is not available on this host"
        };
        assert_eq!(chain(&e), want);
    }
    // hugetlb: applied where a hierarchy offers it (v1's own, or the
    // unified one: pure v2, or a hybrid host that left it to cgroup2, as
    // this build machine does); a hybrid host whose cgroup2 root offers
    // none (systemd's layout binds every controller to v1) gets the
    // field named: apply looks up the chain and finds none to enable
    let unified_root_offers = |c: &str| {
        host.unified.as_ref().is_some_and(|u| {
            std::fs::read_to_string(u.mounts[0].point.join("cgroup.controllers"))
                .unwrap()
                .split_whitespace()
                .any(|w| w == c)
        })
    };
    let r = Resources {
        hugepage_limits: vec![resources::HugepageLimit {
            page_size: "2MB".into(),
            limit: 2 << 20,
        }],
        ..Default::default()
    };
    if host.v1_for("hugetlb").is_some() {
        g.cg.apply(&r).unwrap();
        let got =
            g.cg.read_file(Some("hugetlb"), "hugetlb.2MB.limit_in_bytes");
        assert_eq!(got.unwrap().trim(), "2097152");
    } else if unified_root_offers("hugetlb") {
        g.cg.apply(&r).unwrap();
        let got = g.cg.read_file(None, "hugetlb.2MB.max");
        assert_eq!(got.unwrap().trim(), "2097152");
    } else {
        assert_eq!(host.mode(), Mode::Hybrid);
        let msg = chain(&g.cg.apply(&r).unwrap_err());
        assert!(
            msg.starts_with("hugepageLimits: controller hugetlb is not enabled for this cgroup (not in /sys/fs/cgroup/unified/"),
            "{msg}"
        );
    }
}

/// Linux >= 6.1 takes any write to v1 memory.kmem.limit_in_bytes and
/// ignores it: the library reads back and says so, naming field and file;
/// kernelTCP, still applied, reads back as written.
#[test]
fn kernel_memory_limit_the_kernel_ignores_is_an_error() {
    let host = Host::detect().unwrap();
    let mut g = Guard::new("kmem", &Resources::default());
    let kmem = |kernel, kernel_tcp| Resources {
        memory: Some(Memory {
            kernel,
            kernel_tcp,
            ..Default::default()
        }),
        ..Default::default()
    };
    if host.v1_for("memory").is_none() {
        // pure v2 has neither knob: both refused by name
        for (r, field) in [
            (kmem(Some(64 << 20), None), "memory.kernel"),
            (kmem(None, Some(1 << 20)), "memory.kernelTCP"),
        ] {
            let msg = chain(&g.cg.apply(&r).unwrap_err());
            assert_eq!(msg, format!("{field}: not supported by cgroup v2"));
        }
        return;
    }
    g.cg.apply(&kmem(None, Some(1 << 20))).unwrap();
    let release = rustix::system::uname()
        .release()
        .to_string_lossy()
        .into_owned();
    let mut v = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (v.next().unwrap_or(0), v.next().unwrap_or(0));
    match g.cg.apply(&kmem(Some(64 << 20), None)) {
        Ok(()) => assert!((major, minor) < (6, 1), "kmem limit applied on {release}"),
        Err(e) => {
            let msg = chain(&e);
            assert!(
                msg.starts_with("memory.kernel: wrote \"67108864\" to /sys/fs/cgroup/memory/"),
                "{msg}"
            );
            assert!(
                msg.contains("/memory.kmem.limit_in_bytes but the kernel ignored it"),
                "{msg}"
            );
        }
    }
}

#[test]
fn limits_read_back() {
    let mut res = Resources {
        memory: Some(Memory {
            limit: Some(128 << 20),
            reservation: Some(64 << 20),
            ..Default::default()
        }),
        cpu: Some(resources::Cpu {
            shares: Some(512),
            quota: Some(50_000),
            period: Some(100_000),
            cpus: Some("0".into()),
            ..Default::default()
        }),
        pids: Some(Pids { limit: 42 }),
        block_io: Some(resources::BlockIo {
            weight: Some(500),
            ..Default::default()
        }),
        devices: vec![
            resources::DeviceRule {
                allow: false,
                ..Default::default()
            },
            resources::DeviceRule {
                allow: true,
                kind: Some('c'),
                major: Some(1),
                minor: Some(3),
                access: Some("rwm".into()),
            },
        ],
        ..Default::default()
    };
    let host = Host::detect().unwrap();
    // swappiness exists only in v1 (v2 refuses it, as it should)
    let v1_memory = host.v1_for("memory").is_some();
    if v1_memory {
        res.memory.as_mut().unwrap().swappiness = Some(10);
    }
    if host.unified.is_some() {
        res.unified
            .insert("cgroup.max.descendants".into(), "7".into());
    }
    let mut g = Guard::new("readback", &res);
    g.cg.apply(&res).unwrap();
    g.spawn("exec sleep 30");
    let rd = |c: Option<&str>, f: &str| g.cg.read_file(c, f).unwrap().trim().to_owned();
    match host.mode() {
        Mode::Hybrid | Mode::V1 => {
            assert!(v1_memory);
            assert_eq!(rd(Some("memory"), "memory.limit_in_bytes"), "134217728");
            assert_eq!(rd(Some("memory"), "memory.soft_limit_in_bytes"), "67108864");
            assert_eq!(rd(Some("memory"), "memory.swappiness"), "10");
            assert_eq!(rd(Some("cpu"), "cpu.shares"), "512");
            assert_eq!(rd(Some("cpu"), "cpu.cfs_quota_us"), "50000");
            assert_eq!(rd(Some("cpuset"), "cpuset.cpus"), "0");
            assert_eq!(rd(Some("pids"), "pids.max"), "42");
            assert!(rd(Some("blkio"), "blkio.bfq.weight").ends_with("500"));
            assert_eq!(rd(Some("devices"), "devices.list"), "c 1:3 rwm");
            if host.unified.is_some() {
                assert_eq!(rd(None, "cgroup.max.descendants"), "7");
            }
        }
        Mode::V2 => {
            use nsbox_cgroups::controller::{blkio_to_io_weight, shares_to_weight};
            use std::os::fd::AsFd;
            assert_eq!(rd(None, "memory.max"), "134217728");
            assert_eq!(rd(None, "memory.low"), "67108864");
            assert_eq!(rd(None, "cpu.weight"), shares_to_weight(512).to_string());
            assert_eq!(rd(None, "cpu.max"), "50000 100000");
            assert_eq!(rd(None, "cpuset.cpus"), "0");
            assert_eq!(rd(None, "pids.max"), "42");
            if g.cg.dirs()[0].join("io.bfq.weight").exists() {
                assert!(rd(None, "io.bfq.weight").ends_with("500"));
            } else {
                let want = format!("default {}", blkio_to_io_weight(500));
                assert_eq!(rd(None, "io.weight"), want);
            }
            assert_eq!(rd(None, "cgroup.max.descendants"), "7");
            // the device rules became one eBPF program on the cgroup
            let cg = std::fs::File::open(g.cg.dirs()[0]).unwrap();
            let bpf = nsbox_cgroups::v2::bpf::BPF_CGROUP_DEVICE;
            let ids = nsbox_cgroups::v2::bpf::query(cg.as_fd(), bpf).unwrap();
            assert_eq!(ids.len(), 1, "{ids:?}");
        }
    }
    // the process runs on cpu 0 only
    let pid = g.children[0].id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        status.lines().any(|l| l == "Cpus_allowed_list:\t0"),
        "{status}"
    );
}

/// clone3 with CLONE_INTO_CGROUP and `clone_fd()`: the child is born in the
/// unified cgroup, never passing through ours.
#[test]
fn clone_into_cgroup_places_child_at_birth() {
    use std::os::fd::AsFd;
    let g = Guard::new("clone3", &Resources::default());
    let Some(fd) = g.cg.clone_fd().unwrap() else {
        return nsbox_testutil::skip_here(
            "pure v1: no unified cgroup to be born into",
            &["hybrid", "v2", "v2-leaf"],
        );
    };
    let opts = nsbox_ns::CloneOptions {
        cgroup: Some(fd.as_fd()),
        ..Default::default()
    };
    // SAFETY: the child calls only async-signal-safe pause until it is
    // killed; it never returns into the test harness.
    let pid = match unsafe { nsbox_ns::clone3(&opts) }.unwrap() {
        nsbox_ns::Forked::Child => loop {
            // SAFETY: pause has no preconditions.
            unsafe { libc::pause() };
        },
        nsbox_ns::Forked::Parent { pid, .. } => pid,
    };
    let theirs = ProcCgroups::read(Path::new(&format!("/proc/{pid}/cgroup"))).unwrap();
    let u = theirs.unified.unwrap();
    assert!(
        u.to_string_lossy().contains("nsbox-test-clone3"),
        "{}",
        u.display()
    );
    // then the v1 hierarchies, as a runtime does on a hybrid host
    g.cg.add_pid_v1(pid).unwrap();
    let theirs = ProcCgroups::read(Path::new(&format!("/proc/{pid}/cgroup"))).unwrap();
    assert_in_every_v1_hierarchy(&theirs, "nsbox-test-clone3");
    assert_eq!(g.cg.procs().unwrap(), vec![pid]);
    g.cg.kill().unwrap();
    let mut status = 0;
    // SAFETY: waits for our own child; `status` is a valid out pointer.
    let r = unsafe { libc::waitpid(pid as i32, &mut status, 0) };
    assert_eq!(r, pid as i32);
    assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL);
}

/// The v2 device filter (eBPF), on the unified cgroup of this hybrid host:
/// /dev/null allowed, /dev/zero refused; applying again replaces the program.
#[test]
fn v2_device_filter_allows_only_listed_devices() {
    use nsbox_cgroups::resources::DeviceRule;
    use nsbox_cgroups::v2;
    use std::os::fd::AsFd;
    let mut g = Guard::new("bpfdev", &Resources::default());
    let dir = match &g.cg {
        Cgroup::Hybrid { unified, .. } | Cgroup::V2(unified) => unified.path().to_owned(),
        Cgroup::Systemd { .. } => unreachable!("Guard makes a cgroupfs cgroup"),
        Cgroup::V1(_) => {
            return nsbox_testutil::skip_here(
                "pure v1: devices are the v1 controller's",
                &["hybrid", "v2", "v2-leaf"],
            )
        }
    };
    let res = Resources {
        devices: vec![
            DeviceRule {
                allow: false,
                ..Default::default()
            },
            DeviceRule {
                allow: true,
                kind: Some('c'),
                major: Some(1),
                minor: Some(3),
                access: Some("rw".into()),
            },
        ],
        ..Default::default()
    };
    v2::devices::apply(&res, &dir).unwrap();
    v2::devices::apply(&res, &dir).unwrap();
    let cg = std::fs::File::open(&dir).unwrap();
    let ids = v2::bpf::query(cg.as_fd(), v2::bpf::BPF_CGROUP_DEVICE).unwrap();
    assert_eq!(ids.len(), 1, "old program not detached: {ids:?}");
    let i = g.spawn(
        "echo x > /dev/null && echo null-ok; head -c1 /dev/zero >/dev/null 2>&1 || echo zero-denied",
    );
    let (_, out, err) = g.wait(i, Duration::from_secs(10));
    assert_eq!(out, "null-ok\nzero-denied\n", "stderr: {err}");
}

/// The unified-hierarchy cgroup of `g`, and its path as an absolute
/// cgroups path (for handles placed beneath it).
fn unified_of(g: &Guard) -> Option<(PathBuf, String)> {
    let host = Host::detect().unwrap();
    let mount = host.unified.as_ref()?.mounts[0].point.clone();
    let dir = g.cg.dirs().last().unwrap().to_path_buf();
    let abs = format!("/{}", dir.strip_prefix(&mount).unwrap().display());
    Some((dir, abs))
}

fn subtree_control(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("cgroup.subtree_control"))
        .unwrap()
        .trim()
        .to_owned()
}

/// A limit the cgroup was not created with (`nsbox update`): on v2 its
/// controller is enabled in the ancestors then; and removal leaves the
/// ancestors' subtree_control as it found them (nothing else is beneath).
#[test]
fn limit_added_after_creation() {
    let host = Host::detect().unwrap();
    let mut g = Guard::new("later", &Resources::default());
    let parent = unified_of(&g).map(|(d, _)| d.parent().unwrap().to_owned());
    let before = parent.as_deref().map(subtree_control);
    let res = Resources {
        memory: Some(Memory {
            limit: Some(64 << 20),
            ..Default::default()
        }),
        pids: Some(Pids { limit: 5 }),
        ..Default::default()
    };
    g.cg.apply(&res).unwrap();
    // the handle travels through the runtime's state file
    g.cg = serde_json::from_str(&serde_json::to_string(&g.cg).unwrap()).unwrap();
    let s = g.cg.stats().unwrap();
    assert_eq!((s.pids.limit, s.memory.usage.limit), (5, 64 << 20));
    let i =
        g.spawn("for n in 1 2 3 4 5 6 7 8; do sleep 30 >/dev/null 2>&1 & done; echo spawned all");
    let (status, out, err) = g.wait(i, Duration::from_secs(10));
    assert!(!status.success(), "shell forked past the limit: {out}");
    assert!(err.contains("fork"), "stderr: {err}");
    drop(g);
    if host.mode() != Mode::V1 {
        assert_eq!(parent.as_deref().map(subtree_control), before);
    }
}

/// cgroup v2's no-internal-processes rule: a cgroup holding a process hands
/// no controller down. Creating (or later limiting) a cgroup beneath it is
/// one clear error, checked before any write: nothing is left enabled, and
/// processes still enter a new child (a half-enabled `pids` used to make
/// that fail with EOPNOTSUPP).
#[test]
fn v2_cgroup_with_processes_hands_no_controller_down() {
    let host = Host::detect().unwrap();
    if host.mode() != Mode::V2 {
        return nsbox_testutil::skip_here(
            "controllers are v1's here, the rule is pure v2's",
            &["v2", "v2-leaf"],
        );
    }
    let mut a = Guard::new("busyparent", &Resources::default());
    a.spawn("exec sleep 30");
    let (a_dir, a_abs) = unified_of(&a).unwrap();
    assert_eq!(subtree_control(&a_dir), "");
    let res = Resources {
        memory: Some(Memory {
            limit: Some(64 << 20),
            ..Default::default()
        }),
        pids: Some(Pids { limit: 5 }),
        ..Default::default()
    };
    let child = CgroupPath::parse(Some(&format!("{a_abs}/child")), "x").unwrap();
    let want = format!(
        "cannot enable controller memory in {}: it holds 1 process(es), and cgroup v2 hands \
         controllers to child cgroups only from the root cgroup or from one without processes; \
         give an absolute cgroups path beneath a cgroup that holds none",
        a_dir.display()
    );
    let mut cg = Cgroup::for_caller(&child).unwrap();
    assert_eq!(chain(&cg.create(&res).unwrap_err()), want);
    assert_eq!(subtree_control(&a_dir), "");
    assert!(!a_dir.join("child").exists());
    // without controllers the child is fine and takes processes
    let mut c = Guard::at(&child, &Resources::default());
    let i = c.spawn("echo in");
    assert_eq!(c.wait(i, Duration::from_secs(10)).1, "in\n");
    // a limit added later: the same error, nothing left behind
    assert_eq!(chain(&c.cg.apply(&res).unwrap_err()), want);
    assert_eq!(subtree_control(&a_dir), "");
    c.spawn("exec sleep 30");
    a.spawn("exec sleep 30");
    assert_eq!(a.cg.procs().unwrap().len(), 2);
}

/// remove() takes back a controller it enabled in a cgroup it did not
/// create only when no child cgroup is left there: another one may rely on
/// it.
#[test]
fn v2_remove_takes_back_only_what_nothing_else_uses() {
    let host = Host::detect().unwrap();
    if host.mode() != Mode::V2 {
        return nsbox_testutil::skip_here(
            "controllers are v1's here, subtree_control is pure v2's",
            &["v2", "v2-leaf"],
        );
    }
    let p = Guard::new("share", &Resources::default());
    let (p_dir, p_abs) = unified_of(&p).unwrap();
    let at = |name: &str| CgroupPath::parse(Some(&format!("{p_abs}/{name}")), "x").unwrap();
    let pids = |limit| Resources {
        pids: Some(Pids { limit }),
        ..Default::default()
    };
    // c1 enables pids in p (which it did not create); c2 finds it there
    let mut c1 = Guard::at(&at("c1"), &pids(100));
    c1.cg.apply(&pids(100)).unwrap();
    assert_eq!(subtree_control(&p_dir), "pids");
    let mut c2 = Guard::at(&at("c2"), &Resources::default());
    c2.cg.apply(&pids(7)).unwrap();
    c2.spawn("exec sleep 30");
    // c1 goes: c2 still relies on pids
    drop(c1);
    assert_eq!(subtree_control(&p_dir), "pids");
    assert_eq!(c2.cg.stats().unwrap().pids.limit, 7);
    // c2 goes: it enabled nothing
    drop(c2);
    assert_eq!(subtree_control(&p_dir), "pids");
    // a handle that enabled it and leaves no child behind takes it back
    std::fs::write(p_dir.join("cgroup.subtree_control"), "-pids").unwrap();
    let mut c3 = Guard::at(&at("c3"), &Resources::default());
    c3.cg.apply(&pids(3)).unwrap();
    assert_eq!(subtree_control(&p_dir), "pids");
    drop(c3);
    assert_eq!(subtree_control(&p_dir), "");
}
