//! The systemd cgroup driver (`--systemd-cgroup`, `slice:prefix:name`
//! cgroups paths) by effect: the container's cgroup is a transient scope
//! systemd made (its init inside, `systemctl show` reporting the limits),
//! the limits hold inside the container, update, pause/resume and events
//! work on it, and delete (or a failed create) leaves nothing in systemd
//! or in the cgroup tree. systemd must be PID 1, so these run in the
//! tests/vm modes systemd-v2 and systemd-hybrid; on any other host each
//! test says so and passes (nsbox_testutil::skip_here). Without systemd a
//! systemd path is refused in one line (oci_errors.rs).

mod oci_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use oci_common::{base_config, Oci};
use serde_json::{json, Value};

const RUNS_IN: &[&str] = &["systemd-v2", "systemd-hybrid"];

/// True when systemd runs this host; otherwise says where the test runs.
fn systemd_here() -> bool {
    if Path::new("/run/systemd/system").exists() {
        return true;
    }
    nsbox_testutil::skip_here("systemd is not PID 1", RUNS_IN);
    false
}

/// True on a pure cgroup v2 host (systemd's unified mode).
fn unified() -> bool {
    !Path::new("/sys/fs/cgroup/memory").exists()
}

fn systemctl(args: &[&str]) -> String {
    let out = Command::new("systemctl").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `systemctl show -p PROP --value UNIT`
fn show(unit: &str, prop: &str) -> String {
    systemctl(&["show", "-p", prop, "--value", unit])
}

/// The units systemd has loaded whose names match `pattern`.
fn units(pattern: &str) -> Vec<String> {
    systemctl(&["list-units", "--all", "--plain", "--no-legend", pattern])
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Containers of one test; at drop (pass or fail) they are force-deleted
/// and no unit or cgroup directory named after them may be left.
struct Sd {
    oci: Option<Oci>,
    units: Vec<String>,
    /// slices the test made (kubelet's pod slices): stopped at the end
    slices: Vec<String>,
}

impl Sd {
    fn new(tag: &str) -> Sd {
        Sd {
            oci: Some(Oci::new(tag)),
            units: Vec::new(),
            slices: Vec::new(),
        }
    }

    fn oci(&self) -> &Oci {
        self.oci.as_ref().expect("set until drop")
    }

    /// A config running `script` with `resources` in the cgroup `path`.
    fn config(&self, script: &str, resources: Value, path: &str) {
        let mut c = base_config(&["sh", "-c", script]);
        c["linux"]["resources"] = resources;
        c["linux"]["cgroupsPath"] = json!(path);
        self.oci().write_config(&c);
    }

    /// `nsbox --systemd-cgroup create` (detached) and `start`.
    fn start(&mut self, id: &str, unit: &str) {
        self.units.push(unit.to_owned());
        let bundle = self.oci().bundle.display().to_string();
        self.oci()
            .detached(&["--systemd-cgroup", "create", "--bundle", &bundle, id]);
        self.oci().nsbox(&["start", id]).success();
    }

    fn rootfs(&self, rel: &str) -> PathBuf {
        self.oci().bundle.join("rootfs").join(rel)
    }

    fn pid(&self, id: &str) -> String {
        self.oci().state(id)["pid"].to_string()
    }
}

impl Drop for Sd {
    fn drop(&mut self) {
        drop(self.oci.take()); // force-deletes every container
        let mut left: Vec<String> = Vec::new();
        for u in &self.units {
            left.extend(units(u));
            left.extend(cgroup_dirs_named(u).iter().map(|d| d.display().to_string()));
        }
        for s in &self.slices {
            let _ = systemctl(&["stop", s]);
        }
        for u in &self.units {
            let _ = systemctl(&["stop", u]);
            let _ = systemctl(&["reset-failed", u]);
        }
        if !std::thread::panicking() {
            assert!(left.is_empty(), "left behind: {left:?}");
        }
    }
}

/// Every cgroup directory, in any hierarchy, named `name`.
fn cgroup_dirs_named(name: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, name: &str, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                if e.file_name() == name {
                    out.push(e.path());
                }
                walk(&e.path(), name, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), name, &mut out);
    out
}

const WAIT_GO: &str = "while [ ! -e /go ]; do sleep 0.05; done";

#[test]
fn limits_are_unit_properties_and_hold_inside() {
    if !systemd_here() {
        return;
    }
    let mut t = Sd::new("sd-limits");
    let id = t.oci().id("lim");
    let unit = format!("nsbox-{id}.scope");
    t.config(
        &format!(
            "{WAIT_GO}; dd if=/dev/zero of=/dev/null bs=128M count=1; echo $? > /rc; \
             sh -c 'while :; do sleep 1000 & done' 2> /err; echo $? > /done; sleep 1000"
        ),
        json!({
            "memory": {"limit": 64 << 20, "swap": 64 << 20},
            "pids": {"limit": 32},
            "cpu": {"quota": 50000, "period": 100000, "shares": 1024}
        }),
        &format!("system.slice:nsbox:{id}"),
    );
    t.start(&id, &unit);
    // systemd made the unit and holds init in it
    assert_eq!(show(&unit, "ActiveState"), "active");
    assert_eq!(show(&unit, "Delegate"), "yes");
    let pid = t.pid(&id);
    let cgroups = read(Path::new(&format!("/proc/{pid}/cgroup")));
    assert!(
        cgroups.contains(&format!("/system.slice/{unit}")),
        "{cgroups}"
    );
    assert_eq!(show(&unit, "ControlGroup"), format!("/system.slice/{unit}"));
    // the limits, as systemd reports them
    let mem = if unified() {
        "MemoryMax"
    } else {
        "MemoryLimit"
    };
    assert_eq!(show(&unit, mem), (64u64 << 20).to_string());
    assert_eq!(show(&unit, "TasksMax"), "32");
    assert_eq!(show(&unit, "CPUQuotaPerSecUSec"), "500ms");
    if unified() {
        assert_eq!(show(&unit, "CPUWeight"), "39");
    } else {
        assert_eq!(show(&unit, "CPUShares"), "1024");
    }
    // and by effect: dd's 128 MiB buffer is OOM-killed, the fork loop stops
    std::fs::write(t.rootfs("go"), "").unwrap();
    wait_for("dd's status", Duration::from_secs(20), || {
        !read(&t.rootfs("rc")).is_empty()
    });
    assert_eq!(read(&t.rootfs("rc")), "137", "dd was SIGKILLed");
    wait_for("the fork loop to stop", Duration::from_secs(30), || {
        t.rootfs("done").exists()
    });
    assert!(read(&t.rootfs("err")).contains("can't fork"));
    let out = t.oci().nsbox(&["events", "--stats", &id]).success();
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(v["data"]["memory"]["usage"]["limit"], 64u64 << 20, "{v}");
    assert_eq!(v["data"]["pids"]["limit"], 32, "{v}");
    // delete: the unit and its cgroup are gone
    t.oci().nsbox(&["delete", "--force", &id]).success();
    assert!(units(&unit).is_empty(), "{:?}", units(&unit));
    assert!(
        cgroup_dirs_named(&unit).is_empty(),
        "{:?}",
        cgroup_dirs_named(&unit)
    );
}

#[test]
fn update_sets_the_properties_and_the_files() {
    if !systemd_here() {
        return;
    }
    let mut t = Sd::new("sd-update");
    let id = t.oci().id("upd");
    let unit = format!("nsbox-{id}.scope");
    t.config(
        "sleep 1000",
        json!({"memory": {"limit": 64 << 20}, "pids": {"limit": 32}}),
        "",
    );
    t.start(&id, &unit);
    t.oci()
        .nsbox(&["update", "--memory", "96m", "--pids-limit", "48", &id])
        .success();
    let mem = if unified() {
        "MemoryMax"
    } else {
        "MemoryLimit"
    };
    assert_eq!(show(&unit, mem), (96u64 << 20).to_string());
    assert_eq!(show(&unit, "TasksMax"), "48");
    let out = t.oci().nsbox(&["events", "--stats", &id]).success();
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(v["data"]["memory"]["usage"]["limit"], 96u64 << 20, "{v}");
    assert_eq!(v["data"]["pids"]["limit"], 48, "{v}");
}

#[test]
fn pause_and_resume_freeze_the_scope() {
    if !systemd_here() {
        return;
    }
    let mut t = Sd::new("sd-pause");
    let id = t.oci().id("pause");
    let unit = format!("nsbox-{id}.scope");
    t.config(
        "i=0; while :; do i=$((i+1)); echo $i > /count; sleep 0.02; done",
        json!({}),
        &format!(":nsbox:{id}"),
    );
    t.start(&id, &unit);
    let count = || read(&t.rootfs("count")).parse::<u64>().unwrap_or(0);
    wait_for("counting", Duration::from_secs(10), || count() > 3);
    t.oci().nsbox(&["pause", &id]).success();
    assert_eq!(t.oci().state(&id)["status"], "paused");
    let frozen = count();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(), frozen, "progress while paused");
    t.oci().nsbox(&["resume", &id]).success();
    wait_for("counting again", Duration::from_secs(10), || {
        count() > frozen + 3
    });
}

/// kubelet's shape: a pod slice three levels down, which nobody made yet.
#[test]
fn a_pod_shaped_path_lands_under_the_kubepods_slices() {
    if !systemd_here() {
        return;
    }
    let mut t = Sd::new("sd-pod");
    t.slices.push("kubepods.slice".into());
    let id = t.oci().id("pod");
    let unit = format!("cri-containerd-{id}.scope");
    t.config(
        "sleep 1000",
        json!({"memory": {"limit": 64 << 20}}),
        &format!("kubepods-burstable-pod1234.slice:cri-containerd:{id}"),
    );
    t.start(&id, &unit);
    let pid = t.pid(&id);
    let want =
        format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/{unit}");
    let cgroups = read(Path::new(&format!("/proc/{pid}/cgroup")));
    assert!(cgroups.contains(&want), "{cgroups}");
    assert_eq!(show(&unit, "ControlGroup"), want);
    assert_eq!(show(&unit, "Slice"), "kubepods-burstable-pod1234.slice");
    t.oci().nsbox(&["delete", "--force", &id]).success();
    assert!(units(&unit).is_empty(), "{:?}", units(&unit));
}

/// A limit the kernel refuses (a CPU the VM does not have) fails create
/// after systemd made the unit: the unit is stopped, nothing is left.
#[test]
fn a_failed_create_leaves_no_unit_and_no_cgroup() {
    if !systemd_here() {
        return;
    }
    let mut t = Sd::new("sd-fail");
    let id = t.oci().id("fail");
    let unit = format!("nsbox-{id}.scope");
    t.units.push(unit.clone());
    t.config(
        "true",
        json!({"cpu": {"cpus": "99"}}),
        &format!("system.slice:nsbox:{id}"),
    );
    let bundle = t.oci().bundle.display().to_string();
    let out = t
        .oci()
        .nsbox(&["--systemd-cgroup", "create", "--bundle", &bundle, &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("cpu.cpus"), "{out:?}");
    assert!(!t.oci().state_dir(&id).exists());
    assert!(units(&unit).is_empty(), "{:?}", units(&unit));
    assert!(
        cgroup_dirs_named(&unit).is_empty(),
        "{:?}",
        cgroup_dirs_named(&unit)
    );
}

/// `nsbox features` says what engines look for before they pass
/// `--systemd-cgroup` (runs on any host).
#[test]
fn features_report_the_systemd_driver() {
    let out = nsbox_testutil::run(oci_common::NSBOX, ["features"]).success();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["linux"]["cgroup"]["systemd"], true, "{v}");
    assert_eq!(v["linux"]["cgroup"]["systemdUser"], true, "{v}");
}

/// Device rules become the unit's policy (`strict`, the standard devices
/// allowed by number or by their /proc/devices name) and hold inside: a
/// host device bound in is refused.
#[test]
fn device_rules_are_the_units_policy_and_hold_inside() {
    if !systemd_here() {
        return;
    }
    let mut t = Sd::new("sd-dev");
    let id = t.oci().id("dev");
    let unit = format!("nsbox-{id}.scope");
    let mut c = base_config(&[
        "sh",
        "-c",
        "cat /dev/null && echo null=ok > /out; head -c1 /kmsg 2> /err || echo kmsg=denied >> /out; sleep 1000",
    ]);
    c["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
    c["linux"]["cgroupsPath"] = json!(format!("system.slice:nsbox:{id}"));
    c["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/kmsg", "type": "bind", "source": "/dev/kmsg", "options": ["bind"]}),
    );
    t.oci().write_config(&c);
    t.start(&id, &unit);
    assert_eq!(show(&unit, "DevicePolicy"), "strict");
    let allow = show(&unit, "DeviceAllow");
    for want in ["/dev/char/1:3 rwm", "char-pts rwm"] {
        assert!(allow.contains(want), "{want} not in {allow}");
    }
    wait_for("the device checks", Duration::from_secs(10), || {
        read(&t.rootfs("out")).lines().count() == 2
    });
    assert_eq!(read(&t.rootfs("out")), "null=ok\nkmsg=denied");
    assert!(
        read(&t.rootfs("err")).contains("Operation not permitted"),
        "{}",
        read(&t.rootfs("err"))
    );
}

/// `events` streams the OOM kill in the unit's cgroup.
#[test]
fn events_report_an_oom_in_the_scope() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    if !systemd_here() {
        return;
    }
    let mut t = Sd::new("sd-oom");
    let id = t.oci().id("oom");
    let unit = format!("nsbox-{id}.scope");
    t.config(
        &format!("{WAIT_GO}; dd if=/dev/zero of=/dev/null bs=128M count=1; sleep 1000"),
        json!({"memory": {"limit": 64 << 20, "swap": 64 << 20}}),
        &format!("system.slice:nsbox:{id}"),
    );
    t.start(&id, &unit);
    let mut events = Command::new(oci_common::NSBOX)
        .args(["--root", &t.oci().root.display().to_string()])
        .args(["events", "--interval", "200ms", &id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(events.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["type"], "stats", "{first}");
    std::fs::write(t.rootfs("go"), "").unwrap();
    let mut oom = None;
    for line in lines.by_ref() {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if v["type"] == "oom" {
            oom = Some(v);
            break;
        }
    }
    let _ = events.kill();
    let _ = events.wait();
    assert_eq!(oom.expect("an oom event"), json!({"type": "oom", "id": id}));
}

/// Half a CPU as systemd's CPUQuotaPerSecUSec and cpu.max / cfs_quota:
/// two busy loops get half a core between them.
#[test]
fn a_cpu_quota_holds_busy_loops_to_half_a_core() {
    if !systemd_here() {
        return;
    }
    let mut t = Sd::new("sd-cpu");
    let id = t.oci().id("cpu");
    let unit = format!("nsbox-{id}.scope");
    t.config(
        "while :; do :; done & while :; do :; done",
        json!({"cpu": {"quota": 50000, "period": 100000}}),
        &format!("system.slice:nsbox:{id}"),
    );
    t.start(&id, &unit);
    let usage = || {
        let out = t.oci().nsbox(&["events", "--stats", &id]).success();
        let v: Value = serde_json::from_str(out.stdout.trim()).unwrap();
        v["data"]["cpu"]["usage"]["total"].as_u64().unwrap()
    };
    std::thread::sleep(Duration::from_millis(300));
    let (u0, t0) = (usage(), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let (u1, t1) = (usage(), Instant::now());
    let cores = (u1 - u0) as f64 / (t1 - t0).as_nanos() as f64;
    assert!((0.3..0.7).contains(&cores), "used {cores:.2} cores");
}

/// An unprivileged user with a systemd manager of its own (lingering, as
/// tests/vm/systemd-tests sets up uid 1000) runs a rootless container with
/// a memory limit: the unit goes to its user manager over the session bus
/// and the limit holds. User managers get cgroup v2 controllers only.
#[test]
fn rootless_memory_limit_through_the_user_manager() {
    use std::os::unix::fs::chown;
    if !systemd_here() {
        return;
    }
    if !unified() {
        return nsbox_testutil::skip_here(
            "a user manager is delegated cgroup v2 controllers only",
            &["systemd-v2"],
        );
    }
    const UID: u32 = 1000;
    let runtime_dir = format!("/run/user/{UID}");
    assert!(
        Path::new(&format!("{runtime_dir}/bus")).exists(),
        "no session bus for uid {UID}: tests/vm/systemd-tests enables lingering for nsbox-user"
    );
    let t = Sd::new("sd-rootless");
    let mine = t.oci().dir.join("rl");
    let state = t.oci().dir.join("rl-state");
    for d in [&mine, &state] {
        std::fs::create_dir(d).unwrap();
        chown(d, Some(UID), Some(UID)).unwrap();
    }
    let as_user = |args: &[&str]| {
        let uid = UID.to_string();
        let mut all = vec!["--reuid", &uid, "--regid", &uid, "--clear-groups", "env"];
        let xdg = format!("XDG_RUNTIME_DIR={runtime_dir}");
        let bus = format!("DBUS_SESSION_BUS_ADDRESS=unix:path={runtime_dir}/bus");
        all.extend([xdg.as_str(), bus.as_str(), oci_common::NSBOX]);
        all.extend_from_slice(args);
        nsbox_testutil::run("setpriv", &all)
    };
    let mine_s = mine.display().to_string();
    as_user(&["spec", "--rootless", "--bundle", &mine_s]).success();
    let mut c: Value =
        serde_json::from_str(&std::fs::read_to_string(mine.join("config.json")).unwrap()).unwrap();
    c["process"]["terminal"] = false.into();
    c["process"]["args"] = json!([
        "sh",
        "-c",
        "dd if=/dev/zero of=/dev/null bs=128M count=1 2>/dev/null; echo dd=$?"
    ]);
    c["root"]["path"] = t.oci().bundle.join("rootfs").display().to_string().into();
    // the user alone (useradd gave it subordinate ids, which `spec
    // --rootless` maps too, but the VM has no newuidmap to write them)
    let own = json!([{"containerID": 0, "hostID": UID, "size": 1}]);
    c["linux"]["uidMappings"] = own.clone();
    c["linux"]["gidMappings"] = own;
    // No cgroup file system inside: mounting cgroup2 from a user namespace
    // fails (EPERM without a cgroup namespace, EBUSY with one; a runtime
    // gap of its own, not the driver's), and the limit is seen by effect.
    c["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["type"] != "cgroup");
    let id = t.oci().id("rootless");
    let unit = format!("nsbox-{id}.scope");
    c["linux"]["resources"] = json!({"memory": {"limit": 64 << 20, "swap": 64 << 20}});
    c["linux"]["cgroupsPath"] = json!(format!("user.slice:nsbox:{id}"));
    std::fs::write(mine.join("config.json"), c.to_string()).unwrap();
    let state_s = state.display().to_string();
    let out = as_user(&[
        "--systemd-cgroup",
        "--root",
        &state_s,
        "run",
        "--bundle",
        &mine_s,
        &id,
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "dd=137\n", "dd was not OOM-killed: {out:?}");
    assert!(!state.join(&id).exists());
    let dirs = cgroup_dirs_named(&unit);
    assert!(dirs.is_empty(), "{dirs:?}");
}

/// Where no systemd runs (this build machine), `--systemd-cgroup` with no
/// cgroups path is refused in one line that says so, and nothing is made.
/// (A `slice:prefix:name` path there: oci_errors.rs.)
#[test]
fn without_systemd_the_flag_is_refused_in_one_line() {
    if Path::new("/run/systemd/system").exists() {
        return nsbox_testutil::skip_here("systemd runs this host", &[]);
    }
    let oci = Oci::new("sd-none");
    oci.write_config(&base_config(&["true"]));
    let id = oci.id("none");
    let bundle = oci.bundle.display().to_string();
    let out = oci.nsbox(&["--systemd-cgroup", "create", "--bundle", &bundle, &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "nsbox: create {id}: --systemd-cgroup: no systemd runs on this host \
             (/run/systemd/system is missing); without the flag nsbox uses cgroupfs\n"
        ),
        "{out:?}"
    );
    assert!(!oci.state_dir(&id).exists());
}
