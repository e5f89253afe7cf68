//! runtime-spec 1.2/1.3 fields and runc's verbs, checked by effect inside
//! the container: `linux.netDevices`, recursive mount attributes, a bad
//! `ociVersion`, `exec --env` over the spec's variable, real-time signals.

mod oci_common;

use nsbox_testutil::{run, Output};
use oci_common::{base_config, wait_status, Oci, NSBOX};
use serde_json::json;

/// A network namespace of the test's own (`ip netns add`), standing in for
/// the host's: nsbox runs inside it, so no device of the machine is
/// touched. Deleted at drop, with every device still in it.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("nsbox-{tag}-{}", std::process::id());
        let _ = run("ip", ["netns", "del", &name]);
        run("ip", ["netns", "add", &name]).success();
        Netns(name)
    }

    /// `ip -n NS ARGS...`
    fn ip(&self, args: &[&str]) -> Output {
        run("ip", [&["-n", self.0.as_str()], args].concat())
    }

    /// `nsbox --root ROOT ARGS...` run inside the namespace (joined with
    /// nsenter, which leaves the mount namespace, and so the cgroup file
    /// systems under /sys, as they are; `ip netns exec` remounts /sys).
    fn nsbox(&self, oci: &Oci, args: &[&str]) -> Output {
        let root = oci.root.display().to_string();
        let net = format!("--net=/run/netns/{}", self.0);
        let head = [net.as_str(), NSBOX, "--root", &root];
        run("nsenter", [&head[..], args].concat())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = run("ip", ["netns", "del", &self.0]);
    }
}

#[test]
fn net_devices_move_in_renamed_with_their_permanent_global_addresses() {
    let oci = Oci::new("oci-netdev");
    let ns = Netns::new("netdev");
    // A veth pair (this kernel has no dummy driver): nd0 moves, its peer
    // stays.
    ns.ip(&["link", "add", "nd0", "type", "veth", "peer", "name", "nd0p"])
        .success();
    ns.ip(&["addr", "add", "192.0.2.7/24", "dev", "nd0"])
        .success();
    // Not moved: a link-scope address, and a dynamic one (a lifetime).
    ns.ip(&[
        "addr",
        "add",
        "169.254.3.3/16",
        "scope",
        "link",
        "dev",
        "nd0",
    ])
    .success();
    ns.ip(&[
        "addr",
        "add",
        "198.51.100.9/24",
        "valid_lft",
        "300",
        "preferred_lft",
        "300",
        "dev",
        "nd0",
    ])
    .success();
    let mut c = base_config(&[
        "sh",
        "-c",
        "ip -o link show dev inside0; ip -o -4 addr show dev inside0; ls /sys/class/net",
    ]);
    c["linux"]["netDevices"] = json!({"nd0": {"name": "inside0"}});
    // Moved before the hooks run (runc's order): a createContainer hook,
    // in the container's namespaces before pivot_root, sees it.
    let seen = oci.dir.join("hook.link").display().to_string();
    c["hooks"] = json!({"createContainer": [{"path": "/bin/sh", "args": ["sh", "-c",
        format!("/usr/sbin/ip -o link show dev inside0 > {seen}")]}]});
    oci.write_config(&c);
    let id = oci.id("nd");
    let bundle = oci.bundle.display().to_string();
    let out = ns.nsbox(&oci, &["run", "--bundle", &bundle, &id]);
    assert_eq!(out.code, 0, "{out:?}");
    let o = &out.stdout;
    let link = o.lines().next().unwrap();
    assert!(link.contains(": inside0@") && link.contains(",UP"), "{o}");
    assert!(o.contains("inet 192.0.2.7/24"), "{o}");
    assert!(
        !o.contains("169.254.3.3") && !o.contains("198.51.100.9"),
        "{o}"
    );
    assert!(!o.contains("nd0"), "{o}");
    let hook_saw = std::fs::read_to_string(&seen).unwrap();
    assert!(hook_saw.contains(": inside0@"), "{hook_saw}");
    // Nothing moves it back (runtime-spec 1.3: the runtime MUST NOT): a
    // virtual device goes with the container's namespace (a veth takes its
    // peer along) once the kernel has freed it (asynchronously), so no
    // name of it is left in the runtime's.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let after = ns.ip(&["-o", "link"]).success().stdout;
        assert!(
            !after.contains("nd0:") && !after.contains("inside0"),
            "{after}"
        );
        if !after.contains("nd0p") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{after}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn net_devices_move_into_a_user_namespaced_container_with_a_name_template() {
    let oci = Oci::new("oci-netdev-userns");
    let ns = Netns::new("netdev-u");
    ns.ip(&["link", "add", "nu0", "type", "veth", "peer", "name", "nu0p"])
        .success();
    ns.ip(&["addr", "add", "2001:db8::7/64", "dev", "nu0"])
        .success();
    ns.ip(&["addr", "add", "192.0.2.8/24", "dev", "nu0"])
        .success();
    let mut c = base_config(&["sh", "-c", "cat /proc/self/uid_map; ip -o addr show"]);
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
    // sysfs needs the network namespace to belong to the user one's owner.
    c["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["type"] != "sysfs");
    // `%d`: the kernel picks the first free name.
    c["linux"]["netDevices"] = json!({"nu0": {"name": "eth%d"}});
    oci.write_config(&c);
    let id = oci.id("ndu");
    let bundle = oci.bundle.display().to_string();
    let out = ns.nsbox(&oci, &["run", "--bundle", &bundle, &id]);
    assert_eq!(out.code, 0, "{out:?}");
    let o = &out.stdout;
    assert!(o.contains("0     300000      65536"), "{o}");
    assert!(o.contains(": eth0    inet 192.0.2.8/24"), "{o}");
    assert!(o.contains(": eth0    inet6 2001:db8::7/64"), "{o}");
}

#[test]
fn net_devices_refused_in_one_line() {
    let oci = Oci::new("oci-netdev-bad");
    let ns = Netns::new("netdev-bad");
    let mut c = base_config(&["true"]);
    c["linux"]["netDevices"] = json!({"nope0": {}});
    oci.write_config(&c);
    let id = oci.id("nope");
    let bundle = oci.bundle.display().to_string();
    let out = ns.nsbox(&oci, &["run", "--bundle", &bundle, &id]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr.trim(),
        format!(
            "nsbox: run {id}: linux.netDevices \"nope0\": move into the container's \
             network namespace: device \"nope0\" does not exist"
        )
    );
    assert!(!oci.state_dir(&id).exists());
    // Never into the host's network namespace.
    let mut c = base_config(&["true"]);
    c["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "mount"}]);
    c["linux"]["netDevices"] = json!({"nd0": {}});
    c.as_object_mut().unwrap().remove("hostname");
    oci.write_config(&c);
    let out = oci.create(&id);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr.trim(),
        format!(
            "nsbox: create {id}: config.json: linux.netDevices: needs a network namespace in \
             linux.namespaces (devices are never moved into the host's)"
        )
    );
}

#[test]
fn rro_makes_every_sub_mount_read_only() {
    let oci = Oci::new("oci-rro");
    let src = oci.dir.join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    // A sub-mount in the bind's source; the TempDir unmounts it at drop.
    run(
        "mount",
        [
            "-t",
            "tmpfs",
            "-o",
            "size=1m",
            "tmpfs",
            &src.join("sub").display().to_string(),
        ],
    )
    .success();
    let source = src.display().to_string();
    let mut c = base_config(&[
        "sh",
        "-c",
        "touch /data/sub/x 2>&1; touch /data/y 2>&1; touch /ctl/sub/z && echo ctl-sub-writable; \
         grep ' /data/sub ' /proc/self/mountinfo",
    ]);
    let mounts = c["mounts"].as_array_mut().unwrap();
    mounts.push(
        json!({"destination": "/data", "type": "bind", "source": source,
                       "options": ["rbind", "rro", "rnosuid", "rnoatime"]}),
    );
    // The control: plain `ro` is the top mount's alone.
    mounts.push(
        json!({"destination": "/ctl", "type": "bind", "source": source,
                       "options": ["rbind", "ro"]}),
    );
    oci.write_config(&c);
    let out = oci.run(&oci.id("rro"));
    assert_eq!(out.code, 0, "{out:?}");
    let o = &out.stdout;
    assert!(
        o.contains("touch: /data/sub/x: Read-only file system"),
        "{o}"
    );
    assert!(o.contains("touch: /data/y: Read-only file system"), "{o}");
    assert!(o.contains("ctl-sub-writable"), "{o}");
    let info = o.lines().find(|l| l.contains(" /data/sub ")).unwrap();
    let opts = info.split(' ').nth(5).unwrap();
    for want in ["ro", "nosuid", "noatime"] {
        assert!(opts.split(',').any(|w| w == want), "{want}: {info}");
    }
    assert!(!src.join("sub/x").exists() && !src.join("y").exists());
}

#[test]
fn an_oci_version_that_is_not_semver_is_refused() {
    let oci = Oci::new("oci-version");
    for bad in ["1.0", "v1.2.0", "1.02.0"] {
        let mut c = base_config(&["true"]);
        c["ociVersion"] = json!(bad);
        oci.write_config(&c);
        let id = oci.id("ver");
        let out = oci.create(&id);
        assert_eq!(out.code, 1, "{out:?}");
        assert_eq!(
            out.stderr.trim(),
            format!(
                "nsbox: create {id}: config.json: ociVersion: {bad:?} is not a SemVer 2.0.0 \
                 version (MAJOR.MINOR.PATCH, e.g. \"1.2.0\")"
            )
        );
        assert!(!oci.state_dir(&id).exists());
    }
    let mut c = base_config(&["true"]);
    c["ociVersion"] = json!("1.3.0-rc.1+dev");
    oci.write_config(&c);
    oci.run(&oci.id("ver-ok")).success();
}

#[test]
fn exec_env_replaces_the_spec_variable_in_place() {
    let oci = Oci::new("oci-exec-env");
    let mut c = base_config(&["sleep", "1000"]);
    c["process"]["env"] = json!(["PATH=/bin:/usr/bin", "MY_VAR=from_spec", "TERM=xterm"]);
    oci.write_config(&c);
    let id = oci.id("env");
    let bundle = oci.bundle.display().to_string();
    oci.detached(&["run", "-d", "--bundle", &bundle, &id]);
    let out = oci
        .nsbox(&[
            "exec",
            "--env",
            "MY_VAR=from_cli",
            "--env",
            "NEW=1",
            &id,
            "cat",
            "/proc/self/environ",
        ])
        .success();
    let env: Vec<&str> = out.stdout.split('\0').filter(|e| !e.is_empty()).collect();
    assert_eq!(
        env[..4],
        [
            "PATH=/bin:/usr/bin",
            "MY_VAR=from_cli",
            "TERM=xterm",
            "NEW=1"
        ],
        "{env:?}"
    );
    assert_eq!(env.iter().filter(|e| e.starts_with("MY_VAR=")).count(), 1);
    let out = oci
        .nsbox(&[
            "exec",
            "-e",
            "MY_VAR=from_cli",
            &id,
            "sh",
            "-c",
            "echo $MY_VAR",
        ])
        .success();
    assert_eq!(out.stdout, "from_cli\n");
}

#[test]
fn kill_sends_real_time_signals() {
    let oci = Oci::new("oci-kill-rt");
    // SIGRTMIN+3 is 37 (glibc's SIGRTMIN is 34): what Docker sends for
    // `STOPSIGNAL SIGRTMIN+3`.
    oci.write_config(&base_config(&[
        "sh",
        "-c",
        "trap 'echo got37 > /tmp/rt; exit 0' 37; touch /tmp/ready; while :; do sleep 0.1; done",
    ]));
    let rootfs = oci.bundle.join("rootfs");
    for (n, signal) in ["RTMIN+3", "SIGRTMIN+3", "37"].into_iter().enumerate() {
        let _ = std::fs::remove_file(rootfs.join("tmp/ready"));
        let _ = std::fs::remove_file(rootfs.join("tmp/rt"));
        let id = oci.id(&format!("rt{n}"));
        let bundle = oci.bundle.display().to_string();
        oci.detached(&["run", "-d", "--bundle", &bundle, &id]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !rootfs.join("tmp/ready").exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the container never got ready"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        oci.nsbox(&["kill", &id, signal]).success();
        assert_eq!(
            wait_status(&oci, &id, "stopped")["status"],
            "stopped",
            "{signal}"
        );
        assert_eq!(
            std::fs::read_to_string(rootfs.join("tmp/rt")).unwrap(),
            "got37\n",
            "{signal}"
        );
        oci.nsbox(&["delete", &id]).success();
    }
    let out = oci.nsbox(&["kill", "whatever", "RTMAX+1"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr.trim(),
        "nsbox: kill whatever: unknown signal \"RTMAX+1\""
    );
}
