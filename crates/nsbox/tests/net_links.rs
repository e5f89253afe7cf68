//! `nsbox link`, `addr` and `route`: the articles' examples with `nsbox`
//! in place of `ip`, the listings against `ip -j` for the same objects,
//! and every bad input. Each test makes its own network namespaces (one
//! of them standing in for the host) and acts only inside them with
//! `nsbox -n NS`, so no link, address or packet touches the machine's
//! network; a guard deletes the namespaces, and with them their links,
//! even when an assertion fails.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use nsbox_testutil::{require_root, run, Output};
use serde_json::Value;

const NSBOX: &str = env!("CARGO_BIN_EXE_nsbox");

fn nsbox(args: &[&str]) -> Output {
    run(NSBOX, args)
}

fn ip(args: &[&str]) -> Output {
    run("ip", args)
}

/// Network namespaces for one test, deleted at drop with all they hold.
struct Nets {
    names: Vec<String>,
    children: Vec<Child>,
}

impl Nets {
    /// Adds one namespace per tag with `nsbox netns add`.
    fn new(tags: &[&str]) -> Nets {
        require_root();
        let nets = Nets {
            names: tags
                .iter()
                .map(|t| format!("nsbox-l-{t}-{}", std::process::id()))
                .collect(),
            children: Vec::new(),
        };
        for n in &nets.names {
            nsbox(&["netns", "add", n]).success();
        }
        nets
    }

    fn get(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// `nsbox -n NS ARGS...`, which must succeed.
    fn ok(&self, i: usize, args: &[&str]) -> Output {
        nsbox(&[&["-n", self.get(i)], args].concat()).success()
    }

    /// busybox `ping -c1 -W2 ADDR` from namespace `i`, which must answer.
    fn ping(&self, i: usize, addr: &str) {
        let out = nsbox(&[
            "netns",
            "exec",
            self.get(i),
            "busybox",
            "ping",
            "-c1",
            "-W2",
            addr,
        ]);
        assert_eq!(out.code, 0, "ping {addr} from {}: {out:?}", self.get(i));
        assert!(out.stdout.contains("1 packets received"), "{out:?}");
    }

    /// A `sleep` in namespace `i` (killed at drop); its pid.
    fn sleeper_in(&mut self, i: usize) -> u32 {
        let child = Command::new(NSBOX)
            .args(["netns", "exec", self.get(i), "sleep", "60"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        self.children.push(child);
        let ns = nsbox_ns::ns_of_path(&Path::new("/run/netns").join(self.get(i))).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while nsbox_ns::ns_of_pid(pid, nsbox_ns::NsKind::Net).ok() != Some(ns) {
            assert!(std::time::Instant::now() < deadline, "sleep never entered");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        pid
    }

    /// `ip -n NS -j ARGS...` as JSON.
    fn ip_json(&self, i: usize, args: &[&str]) -> Value {
        let out = ip(&[&["-n", self.get(i), "-j"], args].concat()).success();
        serde_json::from_str(&out.stdout).unwrap()
    }

    /// `nsbox -n NS ARGS... --json` as JSON.
    fn json(&self, i: usize, args: &[&str]) -> Value {
        let out = self.ok(i, &[args, &["--json"]].concat());
        serde_json::from_str(&out.stdout).unwrap()
    }
}

impl Drop for Nets {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in &self.names {
            let path = Path::new("/run/netns").join(n);
            if path.exists() {
                let _ = ip(&["netns", "delete", n]);
            }
            if !std::thread::panicking() {
                assert!(!path.exists(), "{} left behind", path.display());
            }
        }
    }
}

/// ip's flags of a device, but M-DOWN for a peer in another namespace:
/// ip computes it from whatever device has the peer's index here; nsbox
/// does not guess.
fn ip_flags(ip_link: &Value) -> Value {
    let mut flags = ip_link["flags"].clone();
    if !ip_link["link_netnsid"].is_null() {
        flags.as_array_mut().unwrap().retain(|f| f != "M-DOWN");
    }
    flags
}

/// ip's first line of a device without what nsbox leaves out (qdisc,
/// mode, group, qlen).
fn ip_header(ip_text: &str) -> String {
    let first = ip_text.lines().next().unwrap();
    let mut out = Vec::new();
    let mut words = first.split_whitespace();
    while let Some(w) = words.next() {
        if ["qdisc", "mode", "group", "qlen"].contains(&w) {
            words.next();
        } else {
            out.push(w);
        }
    }
    out.join(" ")
}

/// Checks that nsbox lists the same devices as `ip -d -j link`, field for
/// field for the fields nsbox gives.
fn links_match_ip(t: &Nets, i: usize) -> Value {
    let ours = t.json(i, &["link", "list"]);
    let theirs = t.ip_json(i, &["-d", "link"]);
    let ours_a = ours.as_array().unwrap();
    let theirs_a = theirs.as_array().unwrap();
    assert_eq!(ours_a.len(), theirs_a.len(), "{ours}\n{theirs}");
    for (o, t) in ours_a.iter().zip(theirs_a) {
        assert_eq!(
            o["flags"],
            ip_flags(t),
            "flags of {}: {o}\n{t}",
            t["ifname"]
        );
        for key in [
            "ifindex",
            "ifname",
            "mtu",
            "link",
            "link_index",
            "link_netnsid",
            "master",
            "operstate",
            "link_type",
            "address",
        ] {
            assert_eq!(o[key], t[key], "{key} of {}: {o}\n{t}", t["ifname"]);
        }
        assert_eq!(
            o["linkinfo"]["info_kind"], t["linkinfo"]["info_kind"],
            "kind of {}",
            t["ifname"]
        );
    }
    ours
}

/// Checks that nsbox lists the same addresses as `ip -j addr`, for the
/// fields nsbox gives.
fn addrs_match_ip(t: &Nets, i: usize) -> Value {
    let ours = t.json(i, &["addr", "list"]);
    let theirs = t.ip_json(i, &["addr"]);
    let ours_a = ours.as_array().unwrap();
    let theirs_a = theirs.as_array().unwrap();
    assert_eq!(ours_a.len(), theirs_a.len(), "{ours}\n{theirs}");
    for (o, t) in ours_a.iter().zip(theirs_a) {
        assert_eq!(
            o["flags"],
            ip_flags(t),
            "flags of {}: {o}\n{t}",
            t["ifname"]
        );
        for key in [
            "ifindex",
            "ifname",
            "mtu",
            "operstate",
            "address",
            "link",
            "master",
        ] {
            assert_eq!(o[key], t[key], "{key} of {}", t["ifname"]);
        }
        let (oa, ta) = (
            o["addr_info"].as_array().unwrap(),
            t["addr_info"].as_array().unwrap(),
        );
        assert_eq!(oa.len(), ta.len(), "addresses of {}: {o}\n{t}", t["ifname"]);
        for (x, y) in oa.iter().zip(ta) {
            for key in ["family", "local", "prefixlen", "scope", "label"] {
                assert_eq!(x[key], y[key], "{key} of {y}");
            }
        }
    }
    ours
}

/// The addresses (`local/prefixlen`) of device `dev` in nsbox's listing.
fn addrs_of(list: &Value, dev: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .filter(|l| l["ifname"] == dev)
        .flat_map(|l| l["addr_info"].as_array().unwrap().clone())
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
        .collect()
}

fn link<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|l| l["ifname"] == name)
        .unwrap_or_else(|| panic!("{name} missing in {list}"))
}

/// The articles' first example: a veth pair made in the "host", one end
/// moved into each of two named namespaces, addresses, up, ping.
#[test]
fn two_namespaces_joined_by_a_veth_pair_ping_each_other() {
    let mut t = Nets::new(&["host", "red", "blue"]);
    let red = t.get(1).to_owned();
    let add = [
        "link",
        "add",
        "veth-red",
        "type",
        "veth",
        "peer",
        "name",
        "veth-blue",
    ];
    t.ok(0, &add);
    let host = links_match_ip(&t, 0);
    assert_eq!(link(&host, "veth-red")["linkinfo"]["info_kind"], "veth");
    // NS as ip takes it: a path, or the pid of a process inside
    let red_path = format!("/run/netns/{red}");
    t.ok(0, &["link", "set", "veth-red", "netns", &red_path]);
    let blue_pid = t.sleeper_in(2).to_string();
    // several settings in one command: moved, then up in its namespace
    let set = ["link", "set", "dev", "veth-blue", "netns", &blue_pid, "up"];
    t.ok(0, &set);
    let by_pid = nsbox(&["-n", &blue_pid, "link", "list", "--json"]).success();
    assert_eq!(
        serde_json::from_str::<Value>(&by_pid.stdout).unwrap(),
        t.json(2, &["link", "list"])
    );
    let host = t.json(0, &["link", "list"]);
    assert_eq!(host.as_array().unwrap().len(), 1, "only lo stays: {host}");

    t.ok(1, &["addr", "add", "10.200.1.1/24", "dev", "veth-red"]);
    t.ok(2, &["addr", "add", "10.200.1.2/24", "dev", "veth-blue"]);
    for i in [1, 2] {
        t.ok(i, &["link", "set", "lo", "up"]);
    }
    t.ok(1, &["link", "set", "veth-red", "up"]);
    let blue_links = links_match_ip(&t, 2);
    assert!(
        link(&blue_links, "veth-blue")["flags"]
            .as_array()
            .unwrap()
            .contains(&"UP".into()),
        "{blue_links}"
    );
    let red_addrs = addrs_match_ip(&t, 1);
    assert_eq!(addrs_of(&red_addrs, "veth-red")[0], "10.200.1.1/24");
    addrs_match_ip(&t, 2);

    t.ping(1, "10.200.1.2");
    t.ping(2, "10.200.1.1");

    // the text listings say the same, in ip's words
    let out = t.ok(1, &["addr", "list", "dev", "veth-red"]);
    assert!(
        out.stdout
            .contains("    inet 10.200.1.1/24 scope global veth-red\n"),
        "{out:?}"
    );
    let out = t.ok(1, &["link", "show", "veth-red"]);
    let theirs = ip(&["-n", &red, "link", "show", "veth-red"]).success();
    assert_eq!(
        out.stdout.lines().next().unwrap(),
        ip_header(&theirs.stdout)
    );
    assert!(out.stdout.contains(": veth-red@if"), "{out:?}");

    // mtu and down in one request, address removed, link deleted with its peer
    t.ok(1, &["link", "set", "veth-red", "mtu", "1400", "down"]);
    let red_links = links_match_ip(&t, 1);
    assert_eq!(link(&red_links, "veth-red")["mtu"], 1400);
    t.ok(1, &["addr", "del", "10.200.1.1/24", "dev", "veth-red"]);
    assert!(addrs_of(&addrs_match_ip(&t, 1), "veth-red").is_empty());
    t.ok(1, &["link", "del", "veth-red"]);
    for i in [1, 2] {
        let links = t.json(i, &["link", "list"]);
        assert_eq!(links.as_array().unwrap().len(), 1, "only lo: {links}");
    }
}

/// The articles' bridge: three namespaces, each with a veth whose other
/// end is a port of a bridge in the "host" namespace; each pings the
/// others and the bridge's address.
#[test]
fn three_namespaces_on_one_bridge_ping_each_other_and_the_bridge() {
    let t = Nets::new(&["bhost", "c1", "c2", "c3"]);
    t.ok(0, &["link", "add", "br-test", "type", "bridge"]);
    t.ok(0, &["addr", "add", "10.200.2.254/24", "dev", "br-test"]);
    t.ok(0, &["link", "set", "br-test", "up"]);
    for i in 1..=3 {
        let (host_end, ns_end) = (format!("veth{i}"), format!("ceth{i}"));
        t.ok(
            0,
            &[
                "link", "add", &host_end, "type", "veth", "peer", "name", &ns_end,
            ],
        );
        t.ok(0, &["link", "set", &ns_end, "netns", t.get(i)]);
        t.ok(0, &["link", "set", &host_end, "master", "br-test", "up"]);
        t.ok(
            i,
            &["addr", "add", &format!("10.200.2.{i}/24"), "dev", &ns_end],
        );
        t.ok(i, &["link", "set", &ns_end, "up"]);
        t.ok(i, &["link", "set", "lo", "up"]);
    }
    let host = links_match_ip(&t, 0);
    for i in 1..=3 {
        assert_eq!(link(&host, &format!("veth{i}"))["master"], "br-test");
    }
    assert_eq!(link(&host, "br-test")["linkinfo"]["info_kind"], "bridge");
    addrs_match_ip(&t, 0);
    for i in 1..=3 {
        addrs_match_ip(&t, i);
        t.ping(i, "10.200.2.254");
        for j in 1..=3 {
            if i != j {
                t.ping(i, &format!("10.200.2.{j}"));
            }
        }
    }
    t.ping(0, "10.200.2.3");

    // nomaster takes a port off the bridge
    t.ok(0, &["link", "set", "veth3", "nomaster"]);
    let host = links_match_ip(&t, 0);
    assert_eq!(link(&host, "veth3").get("master"), None, "{host}");
}

/// Routes, as the articles add them: a network via a gateway, a default
/// route, a network on a link; `route list --json` equals `ip -j route`.
#[test]
fn routes_via_a_gateway_and_default_match_ip() {
    let t = Nets::new(&["rhost", "r1"]);
    t.ok(
        0,
        &["link", "add", "rt0", "type", "veth", "peer", "name", "rt1"],
    );
    t.ok(0, &["link", "set", "rt1", "netns", t.get(1), "up"]);
    t.ok(0, &["link", "set", "rt0", "up"]);
    t.ok(0, &["addr", "add", "10.200.3.1/24", "dev", "rt0"]);
    t.ok(1, &["addr", "add", "10.200.3.2/24", "dev", "rt1"]);
    t.ok(1, &["route", "add", "10.200.30.0/24", "via", "10.200.3.1"]);
    t.ok(
        1,
        &["route", "add", "default", "via", "10.200.3.1", "dev", "rt1"],
    );
    t.ok(1, &["route", "add", "10.200.31.0/24", "dev", "rt1"]);
    t.ok(1, &["route", "add", "192.0.2.77", "via", "10.200.3.1"]);

    let ours = t.json(1, &["route", "list", "-4"]);
    let theirs = t.ip_json(1, &["route"]);
    assert_eq!(ours, theirs);
    let dsts: Vec<&str> = ours
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["dst"].as_str().unwrap())
        .collect();
    for want in ["default", "10.200.30.0/24", "10.200.31.0/24", "192.0.2.77"] {
        assert!(dsts.contains(&want), "{want} missing: {ours}");
    }
    let out = t.ok(1, &["route", "list", "-4"]);
    let text = ip(&["-n", t.get(1), "route"]).success();
    let trimmed: Vec<&str> = text.stdout.lines().map(str::trim_end).collect();
    assert_eq!(out.stdout.lines().collect::<Vec<_>>(), trimmed);

    // the route via the gateway works: the host answers on it
    t.ok(0, &["addr", "add", "10.200.30.1/24", "dev", "lo"]);
    t.ok(0, &["link", "set", "lo", "up"]);
    t.ping(1, "10.200.30.1");

    for r in [
        &["10.200.30.0/24", "via", "10.200.3.1"][..],
        &["default"],
        &["10.200.31.0/24", "dev", "rt1"],
        &["192.0.2.77"],
    ] {
        t.ok(1, &[&["route", "del"][..], r].concat());
    }
    let left = t.json(1, &["route", "list", "-4"]);
    assert_eq!(left, t.ip_json(1, &["route"]));
    assert_eq!(
        left.as_array().unwrap().len(),
        1,
        "only the kernel's: {left}"
    );
}

/// IPv6: addresses added, listed as `ip -j addr` lists them, deleted;
/// routes via an IPv6 gateway listed as `ip -6 -j route`.
#[test]
fn ipv6_addresses_and_routes() {
    let t = Nets::new(&["v6host", "v6"]);
    t.ok(
        0,
        &[
            "link", "add", "six0", "type", "veth", "peer", "name", "six1",
        ],
    );
    t.ok(0, &["link", "set", "six1", "netns", t.get(1), "up"]);
    t.ok(0, &["link", "set", "six0", "up"]);
    t.ok(1, &["addr", "add", "fd00:200::2/64", "dev", "six1"]);
    t.ok(1, &["addr", "add", "fd00:201::2", "dev", "six1"]);
    t.ok(0, &["addr", "add", "fd00:200::1/64", "dev", "six0"]);
    let list = addrs_match_ip(&t, 1);
    let mine = addrs_of(&list, "six1");
    assert!(mine.contains(&"fd00:200::2/64".to_owned()), "{list}");
    assert!(mine.contains(&"fd00:201::2/128".to_owned()), "{list}");
    let out = t.ok(1, &["addr", "show", "six1"]);
    assert!(
        out.stdout
            .contains("    inet6 fd00:200::2/64 scope global\n"),
        "{out:?}"
    );

    t.ok(1, &["route", "add", "fd00:300::/64", "via", "fd00:200::1"]);
    t.ok(1, &["route", "add", "default", "via", "fd00:200::1"]);
    let ours = t.json(1, &["route", "list", "-6"]);
    let theirs = t.ip_json(1, &["-6", "route"]);
    assert_eq!(ours, theirs);
    let dsts: Vec<&str> = ours
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["dst"].as_str().unwrap())
        .collect();
    assert!(
        dsts.contains(&"fd00:300::/64") && dsts.contains(&"default"),
        "{ours}"
    );
    t.ok(1, &["route", "del", "default", "via", "fd00:200::1"]);
    t.ok(1, &["route", "del", "fd00:300::/64"]);
    assert_eq!(
        t.json(1, &["route", "list", "-6"]),
        t.ip_json(1, &["-6", "route"])
    );

    t.ok(1, &["addr", "del", "fd00:201::2/128", "dev", "six1"]);
    let list = addrs_match_ip(&t, 1);
    assert!(!addrs_of(&list, "six1").contains(&"fd00:201::2/128".to_owned()));
}

/// Bad input: one line naming it, exit 1 (2 for a wrong or missing
/// keyword), and nothing left behind.
#[test]
fn bad_input_is_one_line_and_leaves_nothing() {
    let t = Nets::new(&["bad", "other"]);
    let (ns, other) = (t.get(0).to_owned(), t.get(1).to_owned());
    let never = format!("nsbox-l-never-{}", std::process::id());
    t.ok(
        0,
        &["link", "add", "x0", "type", "veth", "peer", "name", "x1"],
    );
    t.ok(1, &["link", "add", "taken", "type", "bridge"]);
    t.ok(0, &["addr", "add", "10.200.4.1/24", "dev", "x0"]);
    t.ok(0, &["link", "set", "x0", "up"]);
    t.ok(0, &["route", "add", "10.200.40.0/24", "via", "10.200.4.2"]);
    // ip's own first line for a veth whose peer is here and down
    let out = t.ok(0, &["link", "show", "dev", "x0"]);
    let theirs = ip(&["-n", &ns, "link", "show", "x0"]).success();
    assert_eq!(
        out.stdout.lines().next().unwrap(),
        ip_header(&theirs.stdout)
    );
    assert!(
        out.stdout
            .contains(": x0@x1: <NO-CARRIER,BROADCAST,MULTICAST,UP,M-DOWN>"),
        "{out:?}"
    );
    let before = (
        t.ip_json(0, &["-d", "link"]),
        t.ip_json(0, &["addr"]),
        t.ip_json(0, &["route"]),
        t.ip_json(1, &["-d", "link"]),
    );

    let cases: Vec<(Vec<&str>, i32, String)> = vec![
        (vec!["link", "add", "x0", "type", "veth", "peer", "name", "y0"], 1,
            "link add: device \"x0\" already exists".into()),
        (vec!["link", "add", "y0", "type", "veth", "peer", "name", "x1"], 1,
            "link add: device \"x1\" already exists".into()),
        // taken in the namespace the peer is born in: the kernel refuses
        // the pair, so y0 is not made either
        (vec!["link", "add", "y0", "type", "veth", "peer", "name", "taken", "netns", &other], 1,
            "link add: device \"taken\" already exists".into()),
        (vec!["link", "add", "y0", "type", "veth", "peer", "name", "y0"], 1,
            "link add: invalid device name \"y0\": the peer needs a name of its own".into()),
        (vec!["link", "add", "abcdefghijklmnop", "type", "bridge"], 1,
            "link add: invalid device name \"abcdefghijklmnop\": longer than 15 bytes".into()),
        (vec!["link", "add", "a/b", "type", "bridge"], 1,
            "link add: invalid device name \"a/b\": contains '/', ':' or white space".into()),
        (vec!["link", "add", "y0"], 2, "link add: missing \"type veth|bridge\"".into()),
        (vec!["link", "add", "y0", "type"], 2, "link add: \"type\" needs a value".into()),
        (vec!["link", "add", "y0", "type", "veth", "peer"], 2,
            "link add: \"peer\" needs a name".into()),
        (vec!["link", "add", "y0", "type", "vxlan"], 2,
            "link add: unsupported type \"vxlan\" (nsbox makes veth and bridge)".into()),
        (vec!["link", "set", "nosuch", "up"], 1, "link set: device \"nosuch\" does not exist".into()),
        (vec!["link", "set", "x0", "netns", &never], 1,
            format!("link set: network namespace \"{never}\" does not exist (no /run/netns/{never})")),
        (vec!["link", "set", "x0", "master", "nosuch"], 1,
            "link set: device \"nosuch\" does not exist".into()),
        (vec!["link", "set", "x0", "master", "x1"], 1, "link set: device \"x1\" is not a bridge".into()),
        (vec!["link", "set", "x0", "mtu", "10"], 1,
            "link set: invalid MTU 10 for \"x0\": it takes 68 to 65535".into()),
        (vec!["link", "set", "x0", "mtu", "big"], 1, "link set: invalid MTU \"big\": not a number".into()),
        (vec!["link", "set", "x0", "mtu"], 2, "link set: \"mtu\" needs a value".into()),
        (vec!["link", "set", "x0", "sideways"], 2,
            "link set: unknown keyword \"sideways\" (expected up, down, netns, master, nomaster, mtu)".into()),
        (vec!["link", "set", "x0"], 2,
            "link set: nothing to set (up, down, netns NS, master BRIDGE, nomaster, mtu N)".into()),
        (vec!["link", "del", "nosuch"], 1, "link del: device \"nosuch\" does not exist".into()),
        (vec!["link", "show", "nosuch"], 1, "link list: device \"nosuch\" does not exist".into()),
        (vec!["addr", "add", "10.200.4.300/24", "dev", "x0"], 1,
            "addr add: invalid address \"10.200.4.300/24\": not an IPv4 or IPv6 address".into()),
        (vec!["addr", "add", "10.200.4.3/33", "dev", "x0"], 1,
            "addr add: invalid address \"10.200.4.3/33\": the prefix length is not a number from 0 to 32".into()),
        (vec!["addr", "add", "fd00::1/129", "dev", "x0"], 1,
            "addr add: invalid address \"fd00::1/129\": the prefix length is not a number from 0 to 128".into()),
        (vec!["addr", "add", "10.200.4.3/24"], 2, "addr add: missing \"dev NAME\"".into()),
        (vec!["addr", "add", "dev", "x0"], 2, "addr add: missing the address (ADDR/LEN dev NAME)".into()),
        (vec!["addr", "add", "10.200.4.3/24", "dev", "nosuch"], 1,
            "addr add: device \"nosuch\" does not exist".into()),
        (vec!["addr", "add", "10.200.4.1/24", "dev", "x0"], 1,
            "addr add: address 10.200.4.1/24 already on \"x0\"".into()),
        (vec!["addr", "del", "10.200.4.9/24", "dev", "x0"], 1,
            "addr del: address 10.200.4.9/24 is not on \"x0\"".into()),
        (vec!["route", "add", "10.200.41.1/24", "via", "10.200.4.2"], 1,
            "route add: invalid address \"10.200.41.1/24 via 10.200.4.2\": host bits set after the prefix length".into()),
        (vec!["route", "add", "10.200.41.0/24", "via", "fd00::1"], 1,
            "route add: invalid address \"10.200.41.0/24 via fd00::1\": the gateway is of the other address family".into()),
        (vec!["route", "add", "10.200.41.0/24", "via", "gateway"], 1,
            "route add: invalid gateway \"gateway\": not an IPv4 or IPv6 address".into()),
        (vec!["route", "add", "10.200.41.0/24"], 2, "route add: missing \"via IP\" or \"dev NAME\"".into()),
        (vec!["route", "add", "via", "10.200.4.2"], 2,
            "route add: missing the destination (PREFIX or default)".into()),
        (vec!["route", "add", "10.200.41.0/24", "via", "10.99.0.1"], 1,
            "route add: route 10.200.41.0/24 via 10.99.0.1: gateway 10.99.0.1 is not on a directly connected network".into()),
        (vec!["route", "add", "10.200.40.0/24", "via", "10.200.4.2"], 1,
            "route add: route 10.200.40.0/24 via 10.200.4.2 already exists".into()),
        (vec!["route", "add", "10.200.41.0/24", "dev", "nosuch"], 1,
            "route add: device \"nosuch\" does not exist".into()),
        (vec!["route", "add", "10.200.42.0/24", "dev", "x1"], 1,
            "route add: route 10.200.42.0/24 dev x1: its device is down".into()),
        (vec!["route", "del", "10.200.42.0/24", "dev", "x0"], 1,
            "route del: no route 10.200.42.0/24 dev x0".into()),
    ];
    for (args, code, want) in &cases {
        let out = nsbox(&[&["-n", &ns], &args[..]].concat());
        assert_eq!(out.code, *code, "{args:?}: {out:?}");
        assert_eq!(out.stderr, format!("nsbox: {want}\n"), "{args:?}");
        assert_eq!(out.stdout, "", "{args:?}");
    }
    // -n names a namespace that is not there, or a verb it does not apply to
    let out = nsbox(&["-n", &never, "link", "list"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        format!("nsbox: link list: network namespace \"{never}\" does not exist (no /run/netns/{never})\n")
    );
    let out = nsbox(&["-n", &ns, "netns", "list"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        "nsbox: netns list: -n/--netns applies to link, addr and route only\n"
    );

    // nothing was made, moved or changed
    let after = (
        t.ip_json(0, &["-d", "link"]),
        t.ip_json(0, &["addr"]),
        t.ip_json(0, &["route"]),
        t.ip_json(1, &["-d", "link"]),
    );
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|l| l["ifname"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&after.0), names(&before.0));
    assert_eq!(names(&after.3), names(&before.3));
    assert_eq!(after.0, before.0);
    assert_eq!(after.1, before.1);
    assert_eq!(after.2, before.2);
    assert!(!Path::new("/run/netns").join(&never).exists());
}

/// `nsbox batch FILE`: the veth example in one process (as `ip -batch`),
/// the same result as command by command; a failed line is named by its
/// number and stops the batch.
#[test]
fn batch_runs_the_veth_example_in_one_process() {
    let t = Nets::new(&["bat1", "bat2"]);
    let (a, b) = (t.get(0), t.get(1));
    let dir = nsbox_testutil::TempDir::new("net-batch");
    let file = dir.join("veth.txt");
    std::fs::write(
        &file,
        format!(
            "# two namespaces joined by a veth pair\n\
             -n {a} link add veth-a type veth peer name veth-b netns {b}\n\
             -n {a} addr add 10.200.5.1/24 dev veth-a\n\
             -n {b} addr add 10.200.5.2/24 dev veth-b\n\
             \n\
             -n {a} link set veth-a up\n\
             -n {b} link set veth-b up   # both ends\n"
        ),
    )
    .unwrap();
    nsbox(&["batch", file.to_str().unwrap()]).success();
    addrs_match_ip(&t, 0);
    links_match_ip(&t, 1);
    t.ping(0, "10.200.5.2");

    std::fs::write(
        &file,
        format!(
            "-n {a} addr add 10.200.5.3/24 dev veth-a\n\
             -n {a} link add veth-a type bridge\n\
             -n {a} addr add 10.200.5.4/24 dev veth-a\n"
        ),
    )
    .unwrap();
    let out = nsbox(&["batch", file.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "nsbox: batch: {}:2: link add: device \"veth-a\" already exists\n",
            file.display()
        )
    );
    let addrs = addrs_of(&t.json(0, &["addr", "list"]), "veth-a");
    assert!(addrs.contains(&"10.200.5.3/24".to_owned()), "{addrs:?}");
    assert!(
        !addrs.contains(&"10.200.5.4/24".to_owned()),
        "stopped at line 2: {addrs:?}"
    );

    // only network verbs; netns exec would replace the batch's process
    std::fs::write(&file, format!("netns exec {a} true\nrun -- true\n")).unwrap();
    let out = nsbox(&["batch", "--force", file.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{out:?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "nsbox: batch: {}:1: netns exec: netns exec cannot run in a batch",
            file.display()
        )
    );
    assert!(
        lines[1].starts_with(&format!(
            "nsbox: batch: {}:2: unrecognized subcommand 'run'",
            file.display()
        )),
        "{out:?}"
    );
}
