//! `nsbox run --net cni:NAME` over Debian's CNI plugins (bridge,
//! host-local, portmap): the two-container test of net_bridge.rs, by
//! address and by name, a published port, `nsbox net check`, and what a
//! failing network leaves (nothing). As there, each test makes its own
//! "host" network namespace and runs every command in it; the CNI
//! configuration and host-local's data live in the test's temp dir.

use std::path::{Path, PathBuf};
use std::process::Command;

use nsbox_testutil::{run, Output, TempDir};

const NSBOX: &str = env!("CARGO_BIN_EXE_nsbox");

struct TestHost {
    netns: String,
    dir: TempDir,
    root: PathBuf,
    names: Vec<String>,
}

impl TestHost {
    fn new(tag: &str) -> TestHost {
        nsbox_testutil::require_root();
        assert!(
            Path::new("/usr/lib/cni/bridge").exists(),
            "CNI plugins missing: apt-get install containernetworking-plugins (scripts/test.sh installs it)"
        );
        let netns = format!("nsbox-cni-{tag}-{}", std::process::id());
        run(NSBOX, ["netns", "add", &netns]).success();
        let dir = TempDir::new(tag);
        let root = dir.join("state");
        std::fs::create_dir_all(dir.join("conf")).unwrap();
        let host = TestHost {
            netns,
            dir,
            root,
            names: Vec::new(),
        };
        host.sh("ip link set lo up").success();
        host
    }

    /// A configuration list NAME: `plugins`, host-local's data in our dir.
    fn network(&self, name: &str, subnet: &str, extra: &str) {
        let conf = format!(
            r#"{{"cniVersion": "1.0.0", "name": "{name}", "plugins": [
                {{"type": "bridge", "bridge": "cni-{name}", "isGateway": true, "ipMasq": true,
                  "ipam": {{"type": "host-local", "subnet": "{subnet}", "dataDir": "{}"}}}}{extra}]}}"#,
            self.dir.join("ipam").display()
        );
        std::fs::write(self.dir.join(format!("conf/{name}.conflist")), conf).unwrap();
    }

    fn in_host(&self, argv: &[&str]) -> Output {
        let net = format!("--net=/run/netns/{}", self.netns);
        let out = Command::new(NSBOX)
            .args(["enter", &net, "--"])
            .args(argv)
            .env("NETCONFPATH", self.dir.join("conf"))
            .output()
            .unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn nsbox(&self, args: &[&str]) -> Output {
        let mut all = vec![NSBOX, "--root", self.root.to_str().unwrap()];
        all.extend_from_slice(args);
        self.in_host(&all)
    }

    fn sh(&self, script: &str) -> Output {
        self.in_host(&["sh", "-c", script])
    }

    fn start(&mut self, name: &str, net: &str, extra: &[&str], cmd: &[&str]) -> Output {
        self.names.push(name.to_owned());
        let net = format!("cni:{net}");
        let mut args = vec!["run", "-d", "--name", name, "--net", &net];
        args.extend_from_slice(extra);
        args.push("--");
        args.extend_from_slice(cmd);
        self.nsbox(&args)
    }

    /// host-local keeps one file per address it gave: none may be left.
    fn reserved(&self) -> Vec<String> {
        let mut out = Vec::new();
        for net in std::fs::read_dir(self.dir.join("ipam"))
            .into_iter()
            .flatten()
            .flatten()
        {
            for f in std::fs::read_dir(net.path()).unwrap().flatten() {
                let n = f.file_name().to_string_lossy().into_owned();
                if n.parse::<std::net::Ipv4Addr>().is_ok() {
                    out.push(n);
                }
            }
        }
        out
    }

    fn assert_clean(&self) {
        assert_eq!(
            self.reserved(),
            Vec::<String>::new(),
            "host-local leases left"
        );
        let veths = self.sh("ip -o link show type veth").success();
        assert_eq!(veths.stdout, "", "veth left");
        for d in [".net", ".bundles"] {
            assert!(!self.root.join(d).exists(), "{d} left");
        }
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

#[test]
fn two_containers_on_a_cni_network_reach_each_other_and_a_published_port() {
    let mut h = TestHost::new("pair");
    h.network(
        "testnet",
        "10.66.0.0/24",
        r#", {"type": "portmap", "capabilities": {"portMappings": true}}"#,
    );
    h.start(
        "srv",
        "testnet",
        &["-p", "127.0.0.1:19090:8080"],
        &[
            "busybox",
            "sh",
            "-c",
            "echo hi-cni > /tmp/i; exec busybox httpd -f -p 8080 -h /tmp",
        ],
    )
    .success();
    assert_eq!(h.reserved(), ["10.66.0.2"]);
    let fetch = |url: &str| {
        format!("for i in 1 2 3 4 5 6 7 8 9 10; do busybox wget -q -O - {url} && exit 0; sleep 0.2; done; exit 1")
    };
    for target in ["10.66.0.2", "srv"] {
        let out = h
            .nsbox(&[
                "run",
                "--net",
                "cni:testnet",
                "--",
                "busybox",
                "sh",
                "-c",
                &fetch(&format!("http://{target}:8080/i")),
            ])
            .success();
        assert_eq!(out.stdout, "hi-cni\n", "{target}");
    }
    assert_eq!(
        h.sh(&fetch("http://127.0.0.1:19090/i")).success().stdout,
        "hi-cni\n"
    );
    let inside = h
        .nsbox(&[
            "enter", "-t", "srv", "-n", "--", "ip", "-o", "-4", "addr", "show", "eth0",
        ])
        .success();
    assert!(inside.stdout.contains("inet 10.66.0.2/24"), "{inside:?}");
    h.nsbox(&["rm", "-f", "srv"]).success();
    h.names.clear();
    h.assert_clean();
}

/// CHECK: each plugin confirms what it made; after the container's
/// interface is taken away, CHECK says which plugin found it missing.
#[test]
fn net_check_runs_the_plugins_check() {
    let mut h = TestHost::new("check");
    h.network("checknet", "10.67.0.0/24", "");
    h.start("c1", "checknet", &[], &["sleep", "60"]).success();
    h.nsbox(&["net", "check", "c1"]).success();
    h.nsbox(&["enter", "-t", "c1", "-n", "--", "ip", "link", "del", "eth0"])
        .success();
    let out = h.nsbox(&["net", "check", "c1"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("nsbox: net check: network: CNI CHECK: CNI plugin bridge CHECK: "),
        "{out:?}"
    );
    h.start("plain", "checknet", &[], &["true"]).success();
    let none = h.nsbox(&["net", "check", "nosuch"]);
    assert_eq!(
        none.stderr,
        "nsbox: net check: no container named \"nosuch\"\n"
    );
    h.nsbox(&["rm", "-f", "c1", "plain"]).success();
    h.names.clear();
    h.assert_clean();
}

/// An unknown network, a plugin that is not installed, a configuration
/// without plugins: one line each, and nothing left (no namespace file,
/// bundle, lease or interface).
#[test]
fn a_failing_cni_network_is_one_line_and_leaves_nothing() {
    let mut h = TestHost::new("bad");
    h.network("okay", "10.68.0.0/24", r#", {"type": "no-such-plugin"}"#);
    std::fs::write(
        h.dir.join("conf/empty.conflist"),
        r#"{"cniVersion": "1.0.0", "name": "empty", "plugins": []}"#,
    )
    .unwrap();
    let conf = h.dir.join("conf");
    let cases = [
        ("nosuch", format!("no CNI network \"nosuch\" in {}", conf.display())),
        (
            "okay",
            "CNI ADD: CNI plugin \"no-such-plugin\" not found in /opt/cni/bin:/usr/lib/cni".to_owned(),
        ),
        (
            "empty",
            format!("find the CNI network: CNI configuration {}/empty.conflist: plugins must be a non-empty list", conf.display()),
        ),
    ];
    for (net, want) in cases {
        let out = h.start("x", net, &[], &["true"]);
        assert_eq!(out.code, 1, "{net}: {out:?}");
        assert!(
            out.stderr.starts_with("nsbox: run true: network: ")
                && out.stderr.trim_end().ends_with(&want),
            "{net}: {out:?} (want ...{want})"
        );
    }
    h.names.clear();
    h.assert_clean();
}
