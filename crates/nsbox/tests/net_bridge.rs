//! `nsbox run --net bridge`: containers on a bridge network, reached by
//! address and by name, and nothing left when they go. Each test makes its
//! own "host": a network namespace (`nsbox netns add`) that every nsbox
//! command runs in (`nsbox enter --net=`, which keeps the mount namespace,
//! so the containers' namespace files stay visible between commands). The
//! bridge, veths, nftables rules and traffic live and die there; no packet
//! touches the machine's own network. A guard force-removes the containers
//! and deletes the namespace even when an assertion fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use nsbox_testutil::{run, Output, TempDir};

const NSBOX: &str = env!("CARGO_BIN_EXE_nsbox");

struct TestHost {
    netns: String,
    _dir: TempDir,
    root: PathBuf,
    names: Vec<String>,
}

impl TestHost {
    fn new(tag: &str) -> TestHost {
        nsbox_testutil::require_root();
        let nft = Path::new("/usr/sbin/nft");
        assert!(
            nft.exists(),
            "nft missing: apt-get install nftables (scripts/test.sh installs it)"
        );
        let netns = format!("nsbox-br-{tag}-{}", std::process::id());
        run(NSBOX, ["netns", "add", &netns]).success();
        let dir = TempDir::new(tag);
        let root = dir.join("state");
        let host = TestHost {
            netns,
            _dir: dir,
            root,
            names: Vec::new(),
        };
        host.sh("ip link set lo up").success();
        host
    }

    /// `nsbox --root R ARGS...` in the test's host namespace.
    fn nsbox(&self, args: &[&str]) -> Output {
        let net = format!("--net=/run/netns/{}", self.netns);
        let mut all = vec![
            "enter",
            &net,
            "--",
            NSBOX,
            "--root",
            self.root.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        run(NSBOX, &all)
    }

    /// A shell command in the test's host namespace.
    fn sh(&self, script: &str) -> Output {
        let net = format!("--net=/run/netns/{}", self.netns);
        run(NSBOX, ["enter", &net, "--", "sh", "-c", script])
    }

    /// `run -d --name NAME --net bridge EXTRA... -- CMD...`.
    fn start(&mut self, name: &str, extra: &[&str], cmd: &[&str]) -> Output {
        self.names.push(name.to_owned());
        let mut args = vec!["run", "-d", "--name", name, "--net", "bridge"];
        args.extend_from_slice(extra);
        args.push("--");
        args.extend_from_slice(cmd);
        self.nsbox(&args)
    }

    /// What must be gone once no container is left.
    fn assert_clean(&self) {
        let links = self.sh("ip -o link").success();
        assert!(!links.stdout.contains("nsbx"), "veth left: {links:?}");
        let rules = self.sh("nft list ruleset").success();
        assert_eq!(rules.stdout.trim(), "", "nftables rules left");
        let net = self.root.join(".net");
        assert!(!net.exists(), "{} left", net.display());
        let bundles = self.root.join(".bundles");
        assert!(!bundles.exists(), "{} left", bundles.display());
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        if !self.names.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(self.names.iter().map(String::as_str));
            let _ = self.nsbox(&args);
        }
        let _ = run(NSBOX, ["netns", "delete", &self.netns]);
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.netns])
            .output();
    }
}

fn ip_of(host: &TestHost, name: &str) -> String {
    let leases = std::fs::read_to_string(host.root.join(".net/nsbox0/leases.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&leases).unwrap();
    v.as_object()
        .unwrap()
        .iter()
        .find(|(_, l)| l["name"] == name)
        .map(|(a, _)| a.clone())
        .unwrap_or_else(|| panic!("{name} has no lease: {v}"))
}

/// Two containers on the bridge: a server in one, a client in the other,
/// by address and by name, over TCP; the bridge holds the gateway; each
/// container has eth0 with its lease and a default route; a third, `--net
/// none`, sees only lo. Then removal leaves nothing.
#[test]
fn two_containers_reach_each_other_by_address_and_by_name() {
    let mut h = TestHost::new("pair");
    h.start(
        "srv",
        &[],
        &[
            "busybox",
            "sh",
            "-c",
            "echo hello-from-srv > /tmp/hi; exec busybox httpd -f -p 8080 -h /tmp",
        ],
    )
    .success();
    h.start("peer", &[], &["sleep", "60"]).success();
    let srv = ip_of(&h, "srv");
    assert!(srv.starts_with("10.89.0."), "{srv}");
    let bridge = h.sh("ip -o -4 addr show nsbox0").success();
    assert!(bridge.stdout.contains("inet 10.89.0.1/24"), "{bridge:?}");

    let client = |what: &str| {
        let url = format!("http://{what}:8080/hi");
        h.nsbox(&[
            "run", "--net", "bridge", "--", "busybox", "sh", "-c",
            &format!("for i in 1 2 3 4 5 6 7 8 9 10; do busybox wget -q -O - {url} && exit 0; sleep 0.2; done; exit 1"),
        ])
    };
    assert_eq!(client(&srv).success().stdout, "hello-from-srv\n");
    assert_eq!(client("srv").success().stdout, "hello-from-srv\n");

    let inside = h
        .nsbox(&[
            "enter",
            "-t",
            "peer",
            "-n",
            "--",
            "sh",
            "-c",
            "ip -o -4 addr show eth0; ip route show default",
        ])
        .success();
    let peer = ip_of(&h, "peer");
    assert!(
        inside.stdout.contains(&format!("inet {peer}/24")),
        "{inside:?}"
    );
    assert!(
        inside.stdout.contains("default via 10.89.0.1 dev eth0"),
        "{inside:?}"
    );
    // /etc/hostname and a resolv.conf without loopback servers are its own
    let etc = h
        .nsbox(&[
            "enter",
            "-t",
            "peer",
            "-m",
            "--",
            "cat",
            "/etc/hostname",
            "/etc/resolv.conf",
        ])
        .success();
    assert!(etc.stdout.starts_with("peer\n"), "{etc:?}");
    assert!(etc.stdout.contains("nameserver "), "{etc:?}");
    assert!(!etc.stdout.contains("nameserver 127."), "{etc:?}");
    let ping = h
        .nsbox(&[
            "run", "--net", "bridge", "--", "busybox", "ping", "-c", "1", "-W", "2", "peer",
        ])
        .success();
    assert!(ping.stdout.contains("1 packets received"), "{ping:?}");
    let none = h
        .nsbox(&["run", "--net", "none", "--", "ls", "/sys/class/net"])
        .success();
    assert_eq!(none.stdout.trim(), "lo");

    h.nsbox(&["rm", "-f", "srv", "peer"]).success();
    h.names.clear();
    h.assert_clean();
}

/// 200 containers, 8 started at a time, all alive at once: 200 different
/// addresses; then removed 8 at a time: no veth, lease, rule, namespace
/// file or bundle left.
#[test]
fn two_hundred_containers_never_share_an_address_and_leave_nothing() {
    let mut h = TestHost::new("churn");
    let names: Vec<String> = (0..200).map(|i| format!("c{i}")).collect();
    h.names = names.clone();
    let script = |verb: &str| {
        format!(
            "for i in $(seq 0 199); do echo c$i; done | xargs -P 8 -I{{}} {NSBOX} --root {} {verb}",
            h.root.display()
        )
    };
    let out = h.sh(&script("run -d --name {} --net bridge -- sleep 300"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let leases = std::fs::read_to_string(h.root.join(".net/nsbox0/leases.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&leases).unwrap();
    let by_addr = v.as_object().unwrap();
    assert_eq!(by_addr.len(), 200, "every container has its own address");
    // and each has the address its lease says, on its eth0
    for name in ["c0", "c99", "c199"] {
        let ip = ip_of(&h, name);
        let inside = h
            .nsbox(&[
                "enter", "-t", name, "-n", "--", "ip", "-o", "-4", "addr", "show", "eth0",
            ])
            .success();
        assert!(
            inside.stdout.contains(&format!("inet {ip}/24")),
            "{name}: {inside:?}"
        );
    }
    let veths = h.sh("ip -o link | grep -c nsbx").success();
    assert_eq!(veths.stdout.trim(), "200");
    let out = h.sh(&script("rm -f {}"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    h.names.clear();
    h.assert_clean();
}

/// Bad input: one line naming it, and nothing left of the failed run.
#[test]
fn bad_input_is_one_line_and_leaves_nothing() {
    let mut h = TestHost::new("bad");
    // a /30 holds the gateway and one container
    h.start("only", &["--subnet", "10.77.0.0/30"], &["sleep", "60"])
        .success();
    let full = h.start("more", &["--subnet", "10.77.0.0/30"], &["true"]);
    assert_eq!(full.code, 1, "{full:?}");
    assert_eq!(
        full.stderr,
        "nsbox: run true: network: lease an address: subnet 10.77.0.0/30 has no free address (1 in use)\n"
    );
    let other = h.start("other", &["--subnet", "10.78.0.0/24"], &["true"]);
    assert_eq!(
        other.stderr,
        "nsbox: run true: bridge nsbox0 has subnet 10.77.0.0/30, not 10.78.0.0/24 (remove its containers to change it)\n"
    );
    let lo = h.start("onlo", &["--bridge", "lo"], &["true"]);
    assert_eq!(
        lo.stderr,
        "nsbox: run true: network: set up the bridge: device \"lo\" is not a bridge\n"
    );
    // a start that fails after the network was made gives all of it back
    let missing = h.nsbox(&[
        "run",
        "--net",
        "bridge",
        "--bridge",
        "nsbox9",
        "--subnet",
        "10.79.0.0/24",
        "--",
        "/no/such/program",
    ]);
    assert_eq!(missing.code, 127, "{missing:?}");
    assert!(!h.root.join(".net/nsbox9").exists());
    let tables = h.sh("nft list tables").success();
    assert!(!tables.stdout.contains("nsbox-nsbox9"), "{tables:?}");
    let bad = h.nsbox(&[
        "run",
        "--net",
        "bridge",
        "--subnet",
        "10.0.0.300/24",
        "--",
        "true",
    ]);
    assert_eq!(bad.code, 2, "{bad:?}");
    // what failed left nothing: one container, one veth, one lease
    let veths = h.sh("ip -o link | grep -c nsbx").success();
    assert_eq!(veths.stdout.trim(), "1");
    let bundles: Vec<_> = std::fs::read_dir(h.root.join(".bundles"))
        .unwrap()
        .collect();
    assert_eq!(bundles.len(), 1);
    assert!(!h.root.join(".net/lo").exists());
    h.nsbox(&["rm", "-f", "only"]).success();
    h.names.clear();
    h.assert_clean();
}

/// `-p`: a published port answers on the test host's loopback (only
/// there when an IP is given), on its bridge-facing address, and from
/// another container through the gateway; a port already published is
/// refused naming the container that has it; the rules go with the
/// container.
#[test]
fn published_ports_answer_on_loopback_the_bridge_and_from_containers() {
    let mut h = TestHost::new("ports");
    h.start(
        "web",
        &["-p", "127.0.0.1:18080:8080", "-p", "18081:8080"],
        &[
            "busybox",
            "sh",
            "-c",
            "echo hi-web > /tmp/i; exec busybox httpd -f -p 8080 -h /tmp",
        ],
    )
    .success();
    // `nsbox ps` lists it with its network, address and ports
    let ps = h.nsbox(&["ps", "--format", "json"]).success();
    let listed: serde_json::Value = serde_json::from_str(&ps.stdout).unwrap();
    assert_eq!(listed[0]["name"], "web", "{listed}");
    assert_eq!(listed[0]["status"], "running", "{listed}");
    assert_eq!(listed[0]["network"], "bridge:nsbox0", "{listed}");
    assert_eq!(listed[0]["addresses"][0], ip_of(&h, "web"), "{listed}");
    assert_eq!(
        listed[0]["ports"],
        serde_json::json!(["127.0.0.1:18080:8080/tcp", "18081:8080/tcp"])
    );
    let table = h.nsbox(&["ps"]).success();
    assert!(table.stdout.starts_with("NAME "), "{table:?}");
    assert!(table.stdout.contains("bridge:nsbox0"), "{table:?}");
    let get = |url: &str| {
        h.sh(&format!(
            "for i in 1 2 3 4 5 6 7 8 9 10; do busybox wget -q -O - {url} && exit 0; sleep 0.2; done; exit 1"
        ))
    };
    assert_eq!(get("http://127.0.0.1:18080/i").success().stdout, "hi-web\n");
    assert_eq!(get("http://10.89.0.1:18081/i").success().stdout, "hi-web\n");
    assert_eq!(get("http://127.0.0.1:18081/i").success().stdout, "hi-web\n");
    // 18080 is published on 127.0.0.1 only
    assert_ne!(
        h.sh("busybox wget -q -O - http://10.89.0.1:18080/i").code,
        0
    );
    let from = h
        .nsbox(&[
            "run",
            "--net",
            "bridge",
            "--",
            "busybox",
            "wget",
            "-q",
            "-O",
            "-",
            "http://10.89.0.1:18081/i",
        ])
        .success();
    assert_eq!(from.stdout, "hi-web\n");
    let taken = h.start("again", &["-p", "18081:80"], &["true"]);
    assert_eq!(taken.code, 1, "{taken:?}");
    assert_eq!(
        taken.stderr,
        "nsbox: run true: -p 18081:80/tcp: the host port is already published by container web (18081:8080/tcp)\n"
    );
    let usage = h.nsbox(&["run", "--net", "none", "-p", "1:2", "--", "true"]);
    assert_eq!(usage.code, 2, "{usage:?}");
    let bad = h.nsbox(&["run", "--net", "bridge", "-p", "0:80", "--", "true"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    h.nsbox(&["rm", "-f", "web"]).success();
    h.names.clear();
    h.assert_clean();
}

/// `run -d --net bridge` killed with SIGKILL at random moments, each
/// followed by `rm -f`: no veth, lease, rule, namespace file, bundle or
/// state is left in the kernel or on disk (issue 12's crash consistency
/// for the network; RUNS=N in the environment runs it longer).
#[test]
fn bridge_runs_killed_at_random_moments_leave_nothing_after_rm() {
    let h = TestHost::new("killed");
    let runs: u32 = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(40);
    let root = h.root.display().to_string();
    let net = format!("--net=/run/netns/{}", h.netns);
    let mut seed = u64::from(std::process::id());
    for i in 0..runs {
        let name = format!("k{i}");
        let mut child = Command::new(NSBOX)
            .args(["enter", &net, "--", NSBOX, "--root", &root])
            .args([
                "run", "-d", "--name", &name, "--net", "bridge", "--", "sleep", "60",
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(std::time::Duration::from_micros((seed >> 33) % 30_000));
        // the enter process execs nsbox in place: this is nsbox's pid
        let _ = child.kill();
        let _ = child.wait();
        let out = h.nsbox(&["rm", "-f", &name]);
        assert!(
            out.code == 0 || out.stderr.contains("no container named"),
            "{name}: {out:?}"
        );
    }
    h.assert_clean();
    // no container state, and no container process (each one's cgroup
    // would hold it): none of the cgroups is left
    let left = nsbox_testutil::state_left(&h.root);
    assert!(left.is_empty(), "{left:?}");
    for i in 0..runs {
        let found = run("find", ["/sys/fs/cgroup", "-name", &format!("nsbox-k{i}")]);
        assert_eq!(found.stdout, "", "cgroup of k{i} left");
    }
}

/// On a host whose root has no /etc/hosts (a debootstrap root; an
/// installed system has one), a container on the bridge cannot have its
/// own bound there (the host's root is read-only to it): one line saying
/// what to do, and nothing made. Seen through a mount namespace whose /etc
/// is a copy without the file.
#[test]
fn a_host_without_etc_hosts_is_told_what_to_do() {
    let h = TestHost::new("nohosts");
    let dir = TempDir::new("nohosts-etc");
    let etc = dir.join("etc");
    run("cp", ["-a", "/etc", etc.to_str().unwrap()]).success();
    std::fs::remove_file(etc.join("hosts")).unwrap();
    let script = format!(
        "mount --bind {} /etc && exec {NSBOX} --root {} run --name nohosts --net bridge -- true",
        etc.display(),
        h.root.display()
    );
    let out = h.sh(&format!("unshare -m sh -c '{script}'"));
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        "nsbox: run true: the host has no /etc/hosts for the container's own to be bound onto \
         (the host's root is read-only to the container): create it (an empty file will do), \
         or give --rootfs DIR\n"
    );
    h.assert_clean();
    let links = h.sh("ip -o link").success();
    assert!(!links.stdout.contains("nsbox0"), "bridge made: {links:?}");
}
