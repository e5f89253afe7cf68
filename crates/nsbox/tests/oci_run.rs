//! `nsbox run`: what the container's process sees, checked from inside.

mod oci_common;

use oci_common::{base_config, Oci};
use serde_json::json;

fn sh(script: &str) -> Vec<&str> {
    vec!["sh", "-c", script]
}

#[test]
fn run_isolates_and_propagates_exit_code() {
    let oci = Oci::new("oci-run");
    let script = "echo pid=$$; echo procs=$(ls /proc | grep -c '^[0-9]'); hostname; \
                  echo devs=$(ls /dev | tr '\\n' ' '); cat /proc/self/uid_map; \
                  grep -c . /proc/keys || echo keys-empty; echo fw=$(ls /sys/firmware | wc -l); \
                  echo x > /proc/sys/kernel/domainname && echo sys-writable; \
                  mount -t tmpfs t /tmp && echo mounted; \
                  grep ' / ' /proc/self/mountinfo | head -1; exit 7";
    oci.write_config(&base_config(&sh(script)));
    let id = oci.id("iso");
    let out = oci.run(&id);
    assert_eq!(out.code, 7, "{out:?}");
    let o = &out.stdout;
    assert!(o.contains("pid=1\n"), "{o}");
    // sh, the subshell of $(...), its ls and grep: nothing of the host.
    let procs: u32 = o
        .lines()
        .find_map(|l| l.strip_prefix("procs="))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(procs <= 4, "{o}");
    assert!(o.contains("\noci-test\n"), "{o}");
    assert!(
        o.contains(
            "devs=fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero\n"
        ),
        "{o}"
    );
    assert!(o.contains("0          0 4294967295"), "{o}");
    assert!(o.contains("keys-empty") || o.contains("\n0\n"), "{o}");
    assert!(o.contains("fw=0"), "{o}");
    assert!(!o.contains("sys-writable"), "{o}");
    assert!(out.stderr.contains("Read-only file system"), "{out:?}");
    assert!(!o.contains("mounted"), "{o}");
    // busybox words EPERM from mount(2) as "permission denied".
    assert!(out.stderr.contains("mount: permission denied"), "{out:?}");
    // run deletes the container afterwards.
    assert!(!oci.state_dir(&id).exists());
    assert!(!oci_common::host_mounts_mention(&oci.bundle));
}

#[test]
fn user_env_cwd_and_readonly_root() {
    let oci = Oci::new("oci-user");
    let mut c = base_config(&sh(
        "id; pwd; echo foo=$FOO home=$HOME; umask; touch /x 2>&1 || echo root-ro; touch /dev/shm/ok && echo shm-rw; \
         echo nofile=$(ulimit -n) oom=$(cat /proc/self/oom_score_adj); \
         grep -E '^Cap(Eff|Bnd)' /proc/self/status; grep NoNewPrivs /proc/self/status",
    ));
    c["process"]["user"] =
        json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20], "umask": 63});
    c["process"]["env"] = json!(["PATH=/bin:/usr/bin", "FOO=bar"]);
    // Missing from the image: created, as runc does.
    c["process"]["cwd"] = json!("/srv/app");
    c["root"]["readonly"] = json!(true);
    c["process"]["oomScoreAdj"] = json!(100);
    // Ambient capabilities must also be inheritable to survive exec into a
    // non-root user's program.
    c["process"]["capabilities"]["inheritable"] =
        json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256}]);
    oci.write_config(&c);
    let id = oci.id("user");
    let out = oci.run(&id).success();
    let o = &out.stdout;
    assert!(o.contains("uid=1000 gid=1000 groups=10,20"), "{o}");
    assert!(o.contains("/srv/app\n"), "{o}");
    // Not in the image's /etc/passwd: HOME defaults to "/".
    assert!(o.contains("foo=bar home=/\n"), "{o}");
    assert!(o.contains("0077"), "{o}");
    assert!(o.contains("root-ro"), "{o}");
    assert!(o.contains("shm-rw"), "{o}");
    assert!(o.contains("nofile=256 oom=100\n"), "{o}");
    // CAP_KILL(5), CAP_NET_BIND_SERVICE(10), CAP_AUDIT_WRITE(29): effective
    // too, for a non-root user, through the ambient set.
    assert!(o.contains("CapEff:\t0000000020000420"), "{o}");
    assert!(o.contains("CapBnd:\t0000000020000420"), "{o}");
    assert!(o.contains("NoNewPrivs:\t1"), "{o}");
}

#[test]
fn death_by_signal_is_128_plus_signal() {
    use std::process::{Command, Stdio};
    let oci = Oci::new("oci-sig");
    oci.write_config(&base_config(&["sleep", "1000"]));
    let id = oci.id("sig");
    let mut run = Command::new(oci_common::NSBOX)
        .arg("--root")
        .arg(&oci.root)
        .args(["run", "--bundle"])
        .arg(&oci.bundle)
        .arg(&id)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // run has not necessarily written the state yet.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !oci.nsbox(&["state", &id]).stdout.contains("\"running\"") {
        assert!(std::time::Instant::now() < deadline, "never running");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    oci.nsbox(&["kill", &id, "KILL"]).success();
    assert_eq!(run.wait().unwrap().code(), Some(137));
}

#[test]
fn new_user_namespace_gets_maps_and_host_devices() {
    let oci = Oci::new("oci-userns");
    let mut c = base_config(&sh(
        "cat /proc/self/uid_map /proc/self/gid_map; id -u; echo z > /dev/null && echo null-ok",
    ));
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    // sysfs cannot be mounted for a netns owned by another user namespace
    // without it being ours: it is (new netns under the new userns).
    oci.write_config(&c);
    let id = oci.id("userns");
    let out = oci.run(&id).success();
    let o = &out.stdout;
    assert!(o.contains("0     200000      65536"), "{o}");
    assert!(o.contains("\n0\n"), "{o}");
    assert!(o.contains("null-ok"), "{o}");
}

#[test]
fn exec_failure_is_reported_by_create() {
    let oci = Oci::new("oci-exec");
    oci.write_config(&base_config(&["/bin/nope"]));
    let id = oci.id("nope");
    let out = oci.run(&id);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr.trim(),
        format!("nsbox: run {id}: exec \"/bin/nope\": no such file or directory")
    );
    assert!(!oci.state_dir(&id).exists());
}

/// A network namespace made by `ip netns add`, deleted on drop.
struct NetNs(String);

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = nsbox_testutil::run("ip", ["netns", "delete", &self.0]);
    }
}

#[test]
fn joins_network_namespace_by_path() {
    let oci = Oci::new("oci-join");
    let name = format!("nsbox-oci-{}", std::process::id());
    nsbox_testutil::run("ip", ["netns", "add", &name]).success();
    let ns = NetNs(name);
    let path = format!("/run/netns/{}", ns.0);
    let want = std::fs::metadata(&path).map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.ino()
    });
    let mut c = base_config(&sh("stat -L -c ino=%i /proc/self/ns/net; echo pid=$$"));
    c["linux"]["namespaces"] = json!([
        {"type": "pid"}, {"type": "network", "path": path}, {"type": "ipc"},
        {"type": "uts"}, {"type": "mount"}
    ]);
    oci.write_config(&c);
    let id = oci.id("join");
    let out = oci.run(&id).success();
    assert!(
        out.stdout.contains(&format!("ino={}\n", want.unwrap())),
        "{out:?}"
    );
    assert!(out.stdout.contains("pid=1\n"), "{out:?}");
}

#[test]
fn joins_pid_namespace_of_another_container() {
    let oci = Oci::new("oci-joinpid");
    oci.write_config(&base_config(&["sleep", "100"]));
    let first = oci.id("pid1");
    let bundle = oci.bundle.display().to_string();
    oci.detached(&["run", "-d", "--bundle", &bundle, &first]);
    let pid = oci.state(&first)["pid"].as_i64().unwrap();
    let mut c = base_config(&sh("echo pid=$$; ls /proc | grep -c '^[0-9]'"));
    c["linux"]["namespaces"] = json!([
        {"type": "pid", "path": format!("/proc/{pid}/ns/pid")}, {"type": "ipc"},
        {"type": "uts"}, {"type": "mount"}
    ]);
    oci.write_config(&c);
    let second = oci.id("pid2");
    let out = oci.run(&second).success();
    // Not PID 1: the first container's sleep is.
    assert!(!out.stdout.contains("pid=1\n"), "{out:?}");
    assert!(out.stdout.contains("pid="), "{out:?}");
}

#[test]
fn read_only_cgroup_mount_is_read_only_all_the_way_down() {
    let oci = Oci::new("oci-cgro");
    let mut c = base_config(&sh(
        "for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/*/cgroup.procs; do \
           [ -e $f ] && { echo $$ > $f && echo WROTE $f; }; done; \
         grep ' /sys/fs/cgroup ' /proc/self/mountinfo",
    ));
    c["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
        "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]
    }));
    oci.write_config(&c);
    let id = oci.id("cgro");
    let out = oci.run(&id).success();
    assert!(!out.stdout.contains("WROTE"), "{out:?}");
    assert!(out.stderr.contains("Read-only file system"), "{out:?}");
    assert!(out.stdout.contains(" ro,nosuid,nodev,noexec"), "{out:?}");
}

/// The base config with a new user namespace mapping 0 to `host` and no
/// sysfs (sysfs needs the network namespace to belong to the user one).
fn userns_config(script: &str, host: u32) -> serde_json::Value {
    let mut c = base_config(&sh(script));
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": host, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": host, "size": 65536}]);
    c["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["type"] != "sysfs");
    c
}

#[test]
fn new_user_namespace_with_a_joined_network_namespace() {
    // The netns belongs to the host's user namespace: it must be joined
    // before the new user namespace exists (then PID needs the extra fork).
    let oci = Oci::new("oci-userns-net");
    let name = format!("nsbox-oci-u-{}", std::process::id());
    nsbox_testutil::run("ip", ["netns", "add", &name]).success();
    let ns = NetNs(name);
    let path = format!("/run/netns/{}", ns.0);
    let ino = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&path).unwrap().ino()
    };
    let mut c = userns_config(
        "echo pid=$$; stat -L -c ino=%i /proc/self/ns/net; cat /proc/self/uid_map",
        300000,
    );
    for n in c["linux"]["namespaces"].as_array_mut().unwrap() {
        if n["type"] == "network" {
            n["path"] = json!(path);
        }
    }
    oci.write_config(&c);
    let id = oci.id("usernet");
    let out = oci.run(&id).success();
    let o = &out.stdout;
    assert!(o.contains("pid=1\n"), "{o}");
    assert!(o.contains(&format!("ino={ino}\n")), "{o}");
    assert!(o.contains("0     300000      65536"), "{o}");
}

#[test]
fn joins_the_user_namespace_of_another_container() {
    let oci = Oci::new("oci-join-user");
    oci.write_config(&userns_config("sleep 1000", 400000));
    let first = oci.id("owner");
    let bundle = oci.bundle.display().to_string();
    oci.detached(&["run", "-d", "--bundle", &bundle, &first]);
    let pid = oci.state(&first)["pid"].as_i64().unwrap();
    let mut c = base_config(&sh("cat /proc/self/uid_map; echo pid=$$; id -u"));
    c["linux"]["namespaces"] = json!([
        {"type": "user", "path": format!("/proc/{pid}/ns/user")},
        {"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc"}
    ]);
    c["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["type"] != "sysfs");
    oci.write_config(&c);
    let second = oci.id("joiner");
    let out = oci.run(&second).success();
    let o = &out.stdout;
    assert!(o.contains("0     400000      65536"), "{o}");
    assert!(o.contains("pid=1\n"), "{o}");
    assert!(o.contains("\n0\n"), "{o}");
}
