//! linux.resources by effect, on the real kernel of every cgroup host kind
//! (the build machine is hybrid: v1 controllers, cgroup2 at
//! /sys/fs/cgroup/unified; tests/vm runs this file on pure v2, v1, v2 in a
//! leaf cgroup and hybrid): OOM kill at a memory
//! limit seen by `events`, a fork bomb held at a pids limit, a CPU quota
//! measured from the container's own usage, pause/resume, update, a device
//! rule, placement beneath our own cgroup. After every test, pass or fail,
//! no cgroup directory of the test's containers is left anywhere.

mod oci_common;

use std::cell::RefCell;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oci_common::{base_config, Oci, NSBOX};
use serde_json::{json, Value};

/// An `Oci` whose drop also proves that no cgroup directory named after
/// one of its containers (or `tag`) survives in any hierarchy; any that
/// does is removed (deepest first) and the test fails.
struct Cg {
    oci: Option<Oci>,
    tag: String,
    children: Vec<Child>,
    ids: RefCell<Vec<String>>,
}

impl Cg {
    fn new(tag: &str) -> Cg {
        Cg {
            oci: Some(Oci::new(tag)),
            tag: format!("{tag}-{}", std::process::id()),
            children: Vec::new(),
            ids: RefCell::new(Vec::new()),
        }
    }

    /// A unique container id (force-deleted and checked at drop).
    fn id(&self, name: &str) -> String {
        let id = self.oci().id(name);
        self.ids.borrow_mut().push(id.clone());
        id
    }

    fn oci(&self) -> &Oci {
        self.oci.as_ref().expect("set until drop")
    }

    /// Writes a config running `script` with `resources`.
    fn config(&self, script: &str, resources: Value) -> Value {
        let mut c = base_config(&["sh", "-c", script]);
        c["linux"]["resources"] = resources;
        self.oci().write_config(&c);
        c
    }

    /// create + start, detached.
    fn start(&self, name: &str) -> String {
        let id = self.id(name);
        self.oci().create_detached(&id);
        self.oci().nsbox(&["start", &id]).success();
        id
    }

    fn rootfs(&self, rel: &str) -> PathBuf {
        self.oci().bundle.join("rootfs").join(rel)
    }

    fn stats(&self, id: &str) -> Value {
        let out = self.oci().nsbox(&["events", "--stats", id]).success();
        let v: Value = serde_json::from_str(out.stdout.trim()).expect("events --stats is JSON");
        assert_eq!(v["type"], "stats", "{v}");
        assert_eq!(v["id"], id, "{v}");
        v["data"].clone()
    }
}

impl Drop for Cg {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let names: Vec<String> = self
            .ids
            .borrow()
            .iter()
            .map(|id| format!("nsbox-{id}"))
            .chain([self.tag.clone()])
            .collect();
        drop(self.oci.take()); // force-deletes every container
        let left: Vec<PathBuf> = cgroup_dirs()
            .into_iter()
            .filter(|d| {
                let s = d.display().to_string();
                names.iter().any(|n| s.contains(n.as_str()))
            })
            .collect();
        for d in left.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
        if !std::thread::panicking() {
            assert!(left.is_empty(), "cgroups left behind: {left:?}");
        }
    }
}

/// Every cgroup directory on this host, parents before children.
fn cgroup_dirs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mi = std::fs::read("/proc/self/mountinfo").unwrap();
    for (_, entry) in nsbox_ns::mountinfo::entries(&mi) {
        let entry = entry.unwrap();
        if matches!(entry.fs_type, b"cgroup" | b"cgroup2") {
            walk(&entry.mount_point(), &mut out);
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(e.path());
            walk(&e.path(), out);
        }
    }
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// `/proc/PID/cgroup` as (hierarchy, path) pairs.
fn cgroups_of(pid: &str) -> Vec<(String, String)> {
    read(Path::new(&format!("/proc/{pid}/cgroup")))
        .lines()
        .map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, h, p) = (f.next(), f.next().unwrap(), f.next().unwrap());
            (h.to_owned(), p.to_owned())
        })
        .collect()
}

const WAIT_GO: &str = "while [ ! -e /go ]; do sleep 0.05; done";

#[test]
fn memory_limit_oom_kills_inside_and_events_reports_it() {
    let mut t = Cg::new("cg-oom");
    // dd's 128 MiB buffer, filled from /dev/zero, cannot fit in 64 MiB.
    t.config(
        &format!(
            "{WAIT_GO}; dd if=/dev/zero of=/dev/null bs=128M count=1; echo $? > /rc; sleep 1000"
        ),
        json!({"memory": {"limit": 64 << 20, "swap": 64 << 20}}),
    );
    let id = t.start("oom");
    let bystander = Command::new("sleep").arg("100").spawn().unwrap();
    t.children.push(bystander);
    let mut events = Command::new(NSBOX)
        .args(["--root", &t.oci().root.display().to_string()])
        .args(["events", "--interval", "200ms", &id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(events.stdout.take().unwrap()).lines();
    t.children.push(events);
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["type"], "stats");
    assert_eq!(
        first["data"]["memory"]["usage"]["limit"],
        64u64 << 20,
        "{first}"
    );
    std::fs::write(t.rootfs("go"), "").unwrap();
    let mut oom = None;
    for line in lines.by_ref() {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if v["type"] == "oom" {
            oom = Some(v);
            break;
        }
    }
    assert_eq!(oom.expect("an oom event"), json!({"type": "oom", "id": id}));
    wait_for("dd's status", Duration::from_secs(10), || {
        !read(&t.rootfs("rc")).is_empty()
    });
    assert_eq!(read(&t.rootfs("rc")), "137", "dd was SIGKILLed");
    // The container's shell, the host's processes and nsbox itself live on.
    assert_eq!(t.oci().state(&id)["status"], "running");
    assert!(
        t.children[0].try_wait().unwrap().is_none(),
        "host process killed"
    );
    assert!(t.children[1].try_wait().unwrap().is_none(), "events died");
}

#[test]
fn fork_bomb_stops_at_pids_limit_and_container_still_deletes() {
    let t = Cg::new("cg-pids");
    // The inner shell forks until the kernel refuses (ash then gives up);
    // the outer one reports how that ended.
    t.config(
        "sh -c 'while :; do sleep 1000 & done' 2> /err; echo $? > /done; sleep 1000",
        json!({"pids": {"limit": 64}}),
    );
    let id = t.start("pids");
    wait_for(
        "the fork loop to hit the limit",
        Duration::from_secs(30),
        || t.rootfs("done").exists(),
    );
    assert!(
        read(&t.rootfs("err")).contains("can't fork"),
        "{}",
        read(&t.rootfs("err"))
    );
    assert_ne!(read(&t.rootfs("done")), "0");
    let out = t.oci().nsbox(&["ps", "--format", "json", &id]).success();
    let pids: Vec<u32> = serde_json::from_str(&out.stdout).unwrap();
    // outer sh + sleeps (+ the outer's sleep): at most 64, and the bomb
    // got there (its own shell is gone, so one slot is free again)
    assert!((60..=64).contains(&pids.len()), "{}", pids.len());
    let stats = t.stats(&id);
    assert_eq!(stats["pids"]["limit"], 64, "{stats}");
    t.oci().nsbox(&["delete", "--force", &id]).success();
    for p in pids {
        // gone, or dead and waiting for the host's reaper
        let stat = nsbox_ns::procstat::Stat::read(p).unwrap();
        assert!(
            stat.as_ref().is_none_or(|s| s.has_exited()),
            "{p} survived: {stat:?}"
        );
    }
}

/// What Docker sends for `docker run` without a limit flag: zeros (and
/// `disableOOMKiller: false`) for what the user did not set. runc reads
/// them as "not set", and so does nsbox: the container runs, and nothing
/// is written for them (a weight of 0 is out of range for the kernel, and
/// this host has no blkio weight file at all).
#[test]
fn an_engines_zero_values_set_no_limit() {
    let t = Cg::new("cg-zeros");
    t.config(
        "echo ran",
        json!({
            "cpu": {"shares": 0, "quota": 0, "period": 0, "cpus": "", "mems": ""},
            "blockIO": {"weight": 0, "leafWeight": 0},
            "memory": {"limit": 0, "reservation": 0, "swap": 0, "disableOOMKiller": false},
            "pids": {"limit": 0}
        }),
    );
    let id = t.id("zeros");
    let out = t.oci().run(&id);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "ran\n", "{out:?}");
    assert_eq!(out.stderr, "", "{out:?}");
}

#[test]
fn half_a_cpu_quota_holds_busy_loops_to_half_a_core() {
    let t = Cg::new("cg-cpu");
    // Two busy loops: unlimited they would take both cores.
    t.config(
        "while :; do :; done & while :; do :; done",
        json!({"cpu": {"quota": 50000, "period": 100000}}),
    );
    let id = t.start("cpu");
    std::thread::sleep(Duration::from_millis(300));
    let usage = |t: &Cg| t.stats(&id)["cpu"]["usage"]["total"].as_u64().unwrap();
    let (u0, t0) = (usage(&t), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let (u1, t1) = (usage(&t), Instant::now());
    let cores = (u1 - u0) as f64 / (t1 - t0).as_nanos() as f64;
    assert!((0.3..0.7).contains(&cores), "used {cores:.2} cores");
}

#[test]
fn pause_stops_a_counter_and_resume_continues_it() {
    let t = Cg::new("cg-pause");
    t.config(
        "i=0; while :; do i=$((i+1)); echo $i > /count; sleep 0.02; done",
        json!({}),
    );
    let id = t.start("pause");
    let count = || read(&t.rootfs("count")).parse::<u64>().unwrap_or(0);
    wait_for("counting", Duration::from_secs(10), || count() > 3);
    t.oci().nsbox(&["pause", &id]).success();
    assert_eq!(t.oci().state(&id)["status"], "paused");
    let frozen = count();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(), frozen, "progress while paused");
    let again = t.oci().nsbox(&["pause", &id]);
    assert_eq!(again.code, 1, "{again:?}");
    let exec = t.oci().nsbox(&["exec", &id, "true"]);
    assert_eq!(exec.code, 1, "{exec:?}");
    assert!(exec.stderr.contains("paused"), "{exec:?}");
    t.oci().nsbox(&["resume", &id]).success();
    assert_eq!(t.oci().state(&id)["status"], "running");
    wait_for("counting again", Duration::from_secs(10), || {
        count() > frozen + 3
    });
    let out = t.oci().nsbox(&["resume", &id]);
    assert!(out.stderr.contains("running"), "{out:?}");
}

#[test]
fn update_raises_memory_and_a_failing_allocation_then_succeeds() {
    let t = Cg::new("cg-update");
    let alloc = "dd if=/dev/zero of=/dev/null bs=48M count=1";
    t.config(
        &format!(
            "{WAIT_GO}; {alloc}; echo $? > /rc1; while [ ! -e /go2 ]; do sleep 0.05; done; {alloc}; echo $? > /rc2; sleep 1000"
        ),
        json!({"memory": {"limit": 32 << 20, "swap": 32 << 20}}),
    );
    let id = t.start("upd");
    std::fs::write(t.rootfs("go"), "").unwrap();
    wait_for("the first allocation", Duration::from_secs(10), || {
        !read(&t.rootfs("rc1")).is_empty()
    });
    assert_eq!(read(&t.rootfs("rc1")), "137");
    t.oci()
        .nsbox(&["update", "--memory", "128m", "--memory-swap", "128m", &id])
        .success();
    assert_eq!(t.stats(&id)["memory"]["usage"]["limit"], 128u64 << 20);
    std::fs::write(t.rootfs("go2"), "").unwrap();
    wait_for("the second allocation", Duration::from_secs(10), || {
        !read(&t.rootfs("rc2")).is_empty()
    });
    assert_eq!(read(&t.rootfs("rc2")), "0");
    // A value the kernel refuses names the field and the file.
    let out = t.oci().nsbox(&["update", "--cpuset-cpus", "4095", &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.starts_with(&format!(
            "nsbox: update {id}: update resources: cpu.cpus: write \"4095\" to /sys/fs/cgroup/"
        )),
        "{out:?}"
    );
}

/// `memory.checkBeforeUpdate` (runtime-spec 1.1) in `update`'s JSON: a
/// limit at or below what the container uses is refused in one line and
/// nothing changes; the container runs on with its old limit. Where cgroup
/// v2 serves memory this is nsbox's check (runc's rule; without it v2
/// takes the limit and OOM-kills the container); on v1 the kernel itself
/// refuses a limit it cannot reclaim down to (runc checks nothing there).
#[test]
fn update_check_before_update_refuses_a_limit_below_usage() {
    let t = Cg::new("cg-chk");
    // 24 MiB in a tmpfs: no swap here, so nothing can reclaim it.
    t.config(
        "head -c 25165824 /dev/zero > /dev/shm/fill && touch /filled; sleep 1000",
        json!({"memory": {"limit": 128 << 20}}),
    );
    let id = t.start("chk");
    wait_for("the fill", Duration::from_secs(10), || {
        t.rootfs("filled").exists()
    });
    let v2 = !mounted("memory");
    let file = t.oci().dir.join("r.json");
    let file_arg = file.display().to_string();
    let update = |memory: Value| {
        std::fs::write(&file, json!({ "memory": memory }).to_string()).unwrap();
        t.oci().nsbox(&["update", "--resources", &file_arg, &id])
    };
    let refused = [
        (
            json!({"limit": 8 << 20, "checkBeforeUpdate": true}),
            "limit",
            "memory",
        ),
        (
            json!({"limit": 8 << 20, "swap": 16 << 20, "checkBeforeUpdate": true}),
            "swap",
            "memory+swap",
        ),
    ];
    for (memory, field, what) in refused {
        let out = update(memory);
        assert_eq!(out.code, 1, "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        let said = if v2 {
            format!(
                "nsbox: update {id}: --resources: memory.{field}: refusing the {what} limit {}: \
                 not above the cgroup's current usage ",
                if field == "swap" { 16 << 20 } else { 8 << 20 }
            )
        } else {
            format!("nsbox: update {id}: update resources: ")
        };
        assert!(out.stderr.starts_with(&said), "{out:?}");
        if !v2 {
            assert!(out.stderr.contains("Device or resource busy"), "{out:?}");
        }
        assert_eq!(t.stats(&id)["memory"]["usage"]["limit"], 128u64 << 20);
        assert_eq!(t.oci().state(&id)["status"], "running");
    }
    // A limit above the usage passes the check.
    update(json!({"limit": 96 << 20, "checkBeforeUpdate": true})).success();
    assert_eq!(t.stats(&id)["memory"]["usage"]["limit"], 96u64 << 20);
    // Without the check: v2 takes the limit and the kernel kills the
    // container (what the check is for); v1 refuses as before.
    let out = update(json!({"limit": 8 << 20}));
    if v2 {
        assert_eq!(
            oci_common::wait_status(t.oci(), &id, "stopped")["status"],
            "stopped",
            "{out:?}"
        );
    } else {
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stderr.contains("Device or resource busy"), "{out:?}");
        assert_eq!(t.oci().state(&id)["status"], "running");
    }
}

#[test]
fn device_rule_denies_reading_dev_null() {
    let t = Cg::new("cg-dev");
    t.config(
        "cat /dev/null && echo read=ok; echo x > /dev/null && echo write=ok; head -c1 /dev/zero >/dev/null && echo zero=ok",
        json!({"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "r"}
        ]}),
    );
    let id = t.id("dev");
    let out = t.oci().run(&id).success();
    assert!(!out.stdout.contains("read=ok"), "{out:?}");
    assert!(out.stderr.contains("Operation not permitted"), "{out:?}");
    assert!(out.stdout.contains("write=ok"), "{out:?}");
    assert!(out.stdout.contains("zero=ok"), "{out:?}");
}

#[test]
fn relative_cgroups_path_lands_beneath_our_own_cgroup() {
    let t = Cg::new("cg-rel");
    let mut c = t.config("sleep 1000", json!({"pids": {"limit": 10}}));
    let rel = format!("{}/inner", t.tag);
    c["linux"]["cgroupsPath"] = rel.clone().into();
    t.oci().write_config(&c);
    let id = t.start("rel");
    let pid = t.oci().state(&id)["pid"].to_string();
    let own = cgroups_of("self");
    let theirs = cgroups_of(&pid);
    // Pure v2 (only the unified line): beneath the parent of our cgroup,
    // as runc (ours holds us, and v2 hands controllers down only from a
    // cgroup without processes); the root cgroup is exempt from that rule.
    let pure_v2 = own.len() == 1 && own[0].0.is_empty();
    let mut checked = 0;
    for (h, p) in own.iter().filter(|(h, _)| mounted(h)) {
        let got = theirs.iter().find(|(x, _)| x == h).map(|(_, p)| p.as_str());
        let base = match Path::new(p).parent() {
            Some(parent) if pure_v2 => parent,
            _ => Path::new(p),
        };
        let want = base.join(&rel);
        assert_eq!(got, want.to_str(), "{h}: {theirs:?}");
        checked += 1;
    }
    assert!(checked >= 1, "{own:?}");
    t.oci().nsbox(&["delete", "--force", &id]).success();
    assert!(
        !cgroup_dirs()
            .iter()
            .any(|d| d.display().to_string().contains(&t.tag)),
        "the intermediate directory must go too"
    );
}

/// Whether the v1 hierarchy `h` (`cpu`, `name=systemd`, or `""` for the
/// unified one) is mounted.
fn mounted(h: &str) -> bool {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    mi.lines().any(|l| {
        let post = l.split_once(" - ").unwrap().1;
        if h.is_empty() {
            post.starts_with("cgroup2 ")
        } else {
            let opts: Vec<&str> = post.rsplit(' ').next().unwrap().split(',').collect();
            post.starts_with("cgroup ") && h.split(',').all(|x| opts.contains(&x))
        }
    })
}

#[test]
fn a_value_the_host_refuses_fails_create_and_leaves_nothing() {
    let t = Cg::new("cg-bad");
    t.config("true", json!({"cpu": {"cpus": "4095"}}));
    let id = t.id("bad");
    let out = t.oci().create(&id);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.starts_with(&format!(
            "nsbox: create {id}: apply linux.resources: cpu.cpus: write \"4095\" to /sys/fs/cgroup/"
        )),
        "{out:?}"
    );
    assert!(!t.oci().state_dir(&id).exists());
    assert!(!cgroup_dirs()
        .iter()
        .any(|d| d.display().to_string().contains(&format!("nsbox-{id}"))));
}

#[test]
fn kill_all_reaches_every_process_of_the_cgroup() {
    let t = Cg::new("cg-killall");
    t.config("sleep 1000 & sleep 1000 & sleep 1000", json!({}));
    let id = t.start("ka");
    wait_for("three processes", Duration::from_secs(10), || {
        let out = t.oci().nsbox(&["ps", "--format", "json", &id]).success();
        serde_json::from_str::<Vec<u32>>(&out.stdout).unwrap().len() == 3
    });
    t.oci().nsbox(&["kill", "--all", &id, "KILL"]).success();
    let st = oci_common::wait_status(t.oci(), &id, "stopped");
    assert_eq!(st["status"], "stopped");
    let out = t.oci().nsbox(&["ps", "--format", "json", &id]).success();
    assert_eq!(out.stdout.trim(), "[]");
    t.oci().nsbox(&["delete", &id]).success();
}

#[test]
fn cgroup_namespace_shows_the_container_its_own_cgroup_as_root() {
    let t = Cg::new("cg-ns");
    let mut c = t.config("cat /proc/self/cgroup", json!({"pids": {"limit": 20}}));
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "cgroup"}));
    t.oci().write_config(&c);
    let id = t.id("ns");
    let out = t.oci().run(&id).success();
    for line in out.stdout.lines() {
        let (_, rest) = line.split_once(':').unwrap();
        let (h, path) = rest.split_once(':').unwrap();
        if mounted(h) {
            assert_eq!(path, "/", "{h}: {}", out.stdout);
        }
    }
    assert!(!out.stdout.is_empty(), "{out:?}");
}

#[test]
fn exec_joins_the_containers_cgroup_in_every_hierarchy() {
    let t = Cg::new("cg-exec");
    t.config("sleep 1000", json!({"pids": {"limit": 30}}));
    let id = t.start("ex");
    let pid = t.oci().state(&id)["pid"].to_string();
    let out = t
        .oci()
        .nsbox(&["exec", &id, "cat", "/proc/self/cgroup"])
        .success();
    let init: Vec<(String, String)> = cgroups_of(&pid);
    // seen from inside (no cgroup namespace), the paths are the host's
    for line in out.stdout.lines() {
        let mut f = line.splitn(3, ':');
        let (_, h, p) = (f.next(), f.next().unwrap(), f.next().unwrap());
        let want = init.iter().find(|(x, _)| x == h).map(|(_, p)| p.as_str());
        assert_eq!(Some(p), want, "{h}: {}", out.stdout);
    }
    let out = t.oci().nsbox(&["ps", "--format", "json", &id]).success();
    assert_eq!(
        serde_json::from_str::<Vec<u32>>(&out.stdout).unwrap().len(),
        1
    );
}

#[test]
fn a_failure_after_the_clone_leaves_no_cgroup() {
    let t = Cg::new("cg-initfail");
    let mut c = t.config("true", json!({"pids": {"limit": 10}}));
    c["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/x", "type": "nsboxnofs", "source": "none"}));
    t.oci().write_config(&c);
    let id = t.id("initfail");
    let out = t.oci().create(&id);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("nsboxnofs"), "{out:?}");
    assert!(!t.oci().state_dir(&id).exists());
    assert!(!cgroup_dirs()
        .iter()
        .any(|d| d.display().to_string().contains(&format!("nsbox-{id}"))));
}

/// Runs a container limited to 64 MiB and 20 pids with a read-only
/// `cgroup` mount at /sys/fs/cgroup (and a cgroup namespace if `ns`);
/// returns what it printed: /proc/self/cgroup, the limits read from the
/// mount, its subdirectories, whether a write went through.
fn cgroup_mount_view(t: &Cg, ns: bool) -> Vec<String> {
    // v1/hybrid: one directory per hierarchy. Pure v2: the container's own
    // cgroup, at the top in a cgroup namespace, else at its path in the
    // whole tree (runc mounts cgroup2 the same way: without a cgroup
    // namespace the container sees the host's hierarchy).
    let script = "cat /proc/self/cgroup; echo ---; \
        if [ -d /sys/fs/cgroup/memory ]; then \
          cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; echo ---; \
          find /sys/fs/cgroup/memory /sys/fs/cgroup/pids /sys/fs/cgroup/unified -mindepth 1 -type d; echo ---; \
          ls /sys/fs/cgroup; echo ---; \
          echo 10 2>/dev/null > /sys/fs/cgroup/pids/pids.max && echo writable || echo refused; \
        else \
          own=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup); \
          cat $own/memory.max $own/pids.max; echo ---; \
          find $own -mindepth 1 -type d; echo ---; \
          ls $own; echo ---; \
          echo 10 2>/dev/null > $own/pids.max && echo writable || echo refused; \
        fi";
    let mut c = t.config(
        script,
        json!({"memory": {"limit": 64 << 20}, "pids": {"limit": 20}}),
    );
    if ns {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "cgroup"}));
    }
    c["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
        "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]
    }));
    t.oci().write_config(&c);
    let id = t.id(if ns { "mnt-ns" } else { "mnt" });
    let out = t.oci().run(&id).success();
    out.stdout.split("---\n").map(str::to_owned).collect()
}

fn assert_own_limits_and_no_siblings(parts: &[String]) {
    assert_eq!(parts.len(), 5, "{parts:?}");
    assert_eq!(parts[1], format!("{}\n20\n", 64 << 20), "{parts:?}");
    assert_eq!(parts[2], "", "host cgroups visible: {parts:?}");
    if !mounted("memory") {
        // Pure v2: the container's own cgroup files at the top.
        assert!(parts[3].lines().any(|l| l == "memory.max"), "{parts:?}");
    }
    for h in ["memory", "pids", "systemd", "unified"] {
        if mounted("memory")
            && mounted(if h == "unified" {
                ""
            } else if h == "systemd" {
                "name=systemd"
            } else {
                h
            })
        {
            assert!(parts[3].lines().any(|l| l == h), "{h}: {parts:?}");
        }
    }
    assert_eq!(parts[4], "refused\n", "ro mount: {parts:?}");
}

#[test]
fn cgroup_mount_in_a_cgroup_namespace_is_the_containers_own_tree() {
    let t = Cg::new("cg-mntns");
    let parts = cgroup_mount_view(&t, true);
    for line in parts[0].lines() {
        let (h, path) = line.split_once(':').unwrap().1.split_once(':').unwrap();
        if mounted(h) {
            assert_eq!(path, "/", "{h}: {parts:?}");
        }
    }
    assert_own_limits_and_no_siblings(&parts);
}

#[test]
fn cgroup_mount_without_a_cgroup_namespace_binds_the_containers_own_cgroups() {
    let t = Cg::new("cg-mnt");
    let parts = cgroup_mount_view(&t, false);
    // The memory hierarchy's line (v1/hybrid), or the unified one (pure v2).
    let memory = parts[0]
        .lines()
        .find_map(|l| l.split_once(":memory:").map(|(_, p)| p.to_owned()))
        .or_else(|| {
            parts[0]
                .lines()
                .find_map(|l| l.strip_prefix("0::").map(str::to_owned))
        })
        .unwrap_or_else(|| panic!("no memory or unified line: {parts:?}"));
    assert!(
        memory.ends_with(&format!("nsbox-{}", t.ids.borrow()[0])),
        "{parts:?}"
    );
    assert_own_limits_and_no_siblings(&parts);
}

/// With stats a minute apart, an OOM kill is still reported at once (the
/// kernel wakes `events`: v1 eventfd, v2 inotify) and the stream ends as
/// soon as the container does (init's pidfd), not at the next stats tick.
#[test]
fn events_reports_oom_and_the_end_without_waiting_for_the_interval() {
    let mut t = Cg::new("cg-oomfast");
    t.config(
        &format!("{WAIT_GO}; dd if=/dev/zero of=/dev/null bs=128M count=1; sleep 1000"),
        json!({"memory": {"limit": 64 << 20, "swap": 64 << 20}}),
    );
    let id = t.start("oomfast");
    let mut events = Command::new(NSBOX)
        .args(["--root", &t.oci().root.display().to_string()])
        .args(["events", "--interval", "1m", &id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(events.stdout.take().unwrap()).lines();
    t.children.push(events);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in lines {
            let v: Value = serde_json::from_str(&l.unwrap()).unwrap();
            if tx.send(v["type"].as_str().unwrap().to_owned()).is_err() {
                return;
            }
        }
    });
    let next = || rx.recv_timeout(Duration::from_secs(5));
    assert_eq!(next().unwrap(), "stats");
    std::fs::write(t.rootfs("go"), "").unwrap();
    assert_eq!(next().expect("oom within 5 s"), "oom");
    t.oci().nsbox(&["kill", &id, "KILL"]).success();
    let end = Instant::now() + Duration::from_secs(5);
    while t.children[0].try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < end,
            "events still running after the container ended"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(t.children[0].wait().unwrap().success());
}

/// v1-only knobs (`swappiness`, `disableOOMKiller`): where the memory
/// controller is v1 they are in force; where cgroup v2 serves it, which has
/// no such files, the container still runs with its other limits and
/// create names each left-out field in a warning (runc ignores them there
/// silently, crun refuses the container).
#[test]
fn v1_only_memory_knobs_apply_on_v1_and_are_warnings_on_v2() {
    let t = Cg::new("cg-v1only");
    t.config(
        "true",
        json!({"memory": {"limit": 64 << 20, "swappiness": 10, "disableOOMKiller": true}}),
    );
    let id = t.id("v1only");
    let said = t.oci().create_detached(&id);
    let stats = t.stats(&id);
    assert_eq!(stats["memory"]["usage"]["limit"], 64u64 << 20, "{stats}");
    if mounted("memory") {
        let dir = cgroup_dirs()
            .into_iter()
            .find(|d| d.ends_with(format!("nsbox-{id}")) && d.join("memory.swappiness").exists())
            .expect("the container's v1 memory cgroup");
        let swappiness = std::fs::read_to_string(dir.join("memory.swappiness")).unwrap();
        assert_eq!(swappiness.trim(), "10");
        let oom = std::fs::read_to_string(dir.join("memory.oom_control")).unwrap();
        assert!(oom.contains("oom_kill_disable 1"), "{oom}");
        assert!(!said.contains("warning"), "{said}");
    } else {
        for field in ["swappiness", "disableOOMKiller"] {
            assert!(
                said.contains(&format!(
                    "nsbox: create {id}: warning: config.json: linux.resources.memory.{field}: \
                     ignored: cgroup v2 has no such setting"
                )),
                "{said}"
            );
        }
    }
    t.oci().nsbox(&["start", &id]).success();
}

/// runtime-tools' linux_cgroups_memory sets `memory.kernel`, which the
/// kernel deprecated (v1 only; Linux 6.1 and later take a write and ignore
/// it): as under runc, the container runs with its other limits, kernel
/// memory is left as it was, and create says so in one warning.
/// `kernelTCP`, still in force on v1, is applied there; on v2 it is a
/// v1-only field (a warning too).
#[test]
fn a_kernel_memory_limit_is_a_warning_and_the_container_runs() {
    let t = Cg::new("cg-kmem");
    t.config(
        "true",
        json!({"memory": {"limit": 64 << 20, "kernel": 32 << 20, "kernelTCP": 16 << 20}}),
    );
    let id = t.id("kmem");
    let said = t.oci().create_detached(&id);
    let warning = |field: &str, why: &str| {
        format!("nsbox: create {id}: warning: config.json: linux.resources.memory.{field}: ignored: {why}")
    };
    assert!(
        said.contains(&warning(
            "kernel",
            "kernel memory limits are deprecated and not applied"
        )),
        "{said}"
    );
    let stats = t.stats(&id);
    assert_eq!(stats["memory"]["usage"]["limit"], 64u64 << 20, "{stats}");
    if mounted("memory") {
        let dir = cgroup_dirs()
            .into_iter()
            .find(|d| {
                d.ends_with(format!("nsbox-{id}")) && d.join("memory.kmem.limit_in_bytes").exists()
            })
            .expect("the container's v1 memory cgroup");
        let read = |file: &str| -> u64 {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            text.trim().parse().unwrap()
        };
        // the kmem limit keeps the kernel's "unlimited"; the TCP one is set
        assert!(read("memory.kmem.limit_in_bytes") > 1 << 60);
        assert_eq!(read("memory.kmem.tcp.limit_in_bytes"), 16 << 20);
        assert!(!said.contains("kernelTCP"), "{said}");
    } else {
        assert!(
            said.contains(&warning("kernelTCP", "cgroup v2 has no such setting")),
            "{said}"
        );
    }
    t.oci().nsbox(&["start", &id]).success();
}

/// A cgroup v2 subtree handed to an ordinary user, as systemd delegates
/// `user@UID.service`: the directory and its `cgroup.procs`,
/// `cgroup.subtree_control` and `cgroup.threads` are the user's, memory and
/// pids enabled for its children. Removed (after what the user made in it)
/// on drop.
struct Delegated {
    dir: PathBuf,
}

impl Delegated {
    fn new(uid: u32) -> Delegated {
        let dir = PathBuf::from(format!("/sys/fs/cgroup/nsbox-deleg-{}", std::process::id()));
        // the root cgroup hands memory and pids down (a VM of the tests' own)
        std::fs::write("/sys/fs/cgroup/cgroup.subtree_control", "+memory +pids").unwrap();
        std::fs::create_dir(&dir).unwrap();
        let d = Delegated { dir };
        std::fs::write(d.dir.join("cgroup.subtree_control"), "+memory +pids").unwrap();
        std::fs::create_dir(d.dir.join("session")).unwrap();
        let out = nsbox_testutil::run(
            "chown",
            ["-R", &format!("{uid}:{uid}"), d.dir.to_str().unwrap()],
        );
        assert_eq!(out.code, 0, "{out:?}");
        d
    }
}

impl Drop for Delegated {
    fn drop(&mut self) {
        let mut dirs = Vec::new();
        walk(&self.dir, &mut dirs);
        for d in dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Rootless limits where a v2 subtree is delegated (issue 12): the user's
/// process sits in `D/session`; its `nsbox create` of a `spec --rootless`
/// bundle with a memory limit gets a cgroup beside the session (runc's
/// placement: the caller's own cgroup holds the caller), `D/nsbox-ID`,
/// with the limit and the container's init in it; the user's `delete`
/// takes it away. (On this hybrid machine the same request is refused in
/// one line saying what would make it work: sandbox_run.rs.)
#[test]
fn a_delegated_v2_subtree_gives_an_ordinary_user_limits() {
    let pure_v2 = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 "));
    if !pure_v2 {
        return nsbox_testutil::skip_here(
            "a cgroup v2 subtree to delegate needs a pure v2 host",
            &["v2", "v2-leaf"],
        );
    }
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let uid = 1000;
    let t = Cg::new("deleg");
    let dir = t.oci().dir.join("user");
    std::fs::create_dir(&dir).unwrap();
    let bundle = dir.join("bundle");
    let xdg = dir.join("run");
    std::fs::create_dir_all(&xdg).unwrap();
    std::fs::create_dir_all(&bundle).unwrap();
    let out = nsbox_testutil::run("chown", ["-R", "1000:1000", dir.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out:?}");
    let as_user = |args: &[&str]| {
        let out = Command::new(NSBOX)
            .args(args)
            .uid(uid)
            .gid(uid)
            .env("XDG_RUNTIME_DIR", &xdg)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let b = bundle.to_str().unwrap();
    let (st, err) = as_user(&["spec", "--rootless", "--bundle", b]);
    assert!(st.success(), "{err}");
    let path = bundle.join("config.json");
    let mut c: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    c["process"]["terminal"] = json!(false);
    c["process"]["args"] = json!(["sleep", "30"]);
    c["root"] = json!({"path": t.oci().bundle.join("rootfs"), "readonly": true});
    c["linux"]["resources"] = json!({"memory": {"limit": 64 << 20}, "pids": {"limit": 20}});
    std::fs::write(&path, c.to_string()).unwrap();

    let d = Delegated::new(uid);
    let id = format!("deleg-{}", std::process::id());
    // The user's create, started in D/session (root moves it there
    // before it execs nsbox: as a login lands in its session scope).
    let log = dir.join("create.log");
    let mut child = Command::new("/bin/busybox")
        .args(["sh", "-c", "read go && exec \"$0\" \"$@\""])
        .arg(NSBOX)
        .args(["create", "--bundle", b, &id])
        .uid(uid)
        .gid(uid)
        .env("XDG_RUNTIME_DIR", &xdg)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    std::fs::write(d.dir.join("session/cgroup.procs"), child.id().to_string()).unwrap();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{}", read(&log));
    let cg = d.dir.join(format!("nsbox-{id}"));
    let made = read(&cg.join("memory.max"));
    let init = read(&cg.join("cgroup.procs"));
    let (st, err) = as_user(&["delete", "--force", &id]);
    assert!(st.success(), "{err}");
    assert_eq!(
        made,
        (64u64 << 20).to_string(),
        "the limit in {}",
        cg.display()
    );
    assert!(
        !init.is_empty(),
        "the container's init is in {}",
        cg.display()
    );
    assert!(!cg.exists(), "the user's delete removes {}", cg.display());
}
