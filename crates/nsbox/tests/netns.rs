//! `nsbox netns`: named network namespaces, interchangeable with iproute2's
//! `ip netns` (both keep them in /run/netns). Every check compares with
//! what `ip` says about the same namespace. Names carry the test's pid;
//! a guard deletes them (and their /etc/netns directories, and any
//! process a test started in them) even when an assertion fails.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use nsbox_testutil::{require_root, run, Output};

const NSBOX: &str = env!("CARGO_BIN_EXE_nsbox");

fn nsbox(args: &[&str]) -> Output {
    run(NSBOX, args)
}

fn ip(args: &[&str]) -> Output {
    run("ip", args)
}

/// Namespace names for one test, removed at drop with what they hold.
struct Names {
    names: Vec<String>,
    children: Vec<Child>,
}

impl Names {
    fn new(tags: &[&str]) -> Names {
        require_root();
        let names = tags
            .iter()
            .map(|t| format!("nsbox-t-{t}-{}", std::process::id()))
            .collect();
        Names {
            names,
            children: Vec::new(),
        }
    }

    fn get(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// `ip netns exec NAME sleep 60`, killed at drop; its pid.
    fn sleeper_in(&mut self, name: &str) -> u32 {
        let child = Command::new("ip")
            .args(["netns", "exec", name, "sleep", "60"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        self.children.push(child);
        // `ip` execs sleep in place once it has entered the namespace
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::fs::read_link(format!("/proc/{pid}/exe"))
            .map_or(true, |exe| !exe.to_string_lossy().ends_with("/sleep"))
        {
            assert!(std::time::Instant::now() < deadline, "sleep never started");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        pid
    }
}

impl Drop for Names {
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
            let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(n));
            if !std::thread::panicking() {
                assert!(!path.exists(), "{} left behind", path.display());
            }
        }
    }
}

fn lines(out: &Output) -> Vec<String> {
    out.stdout.lines().map(str::to_owned).collect()
}

#[test]
fn nsbox_and_iproute2_see_and_enter_each_others_namespaces() {
    let t = Names::new(&["ours", "theirs"]);
    let (ours, theirs) = (t.get(0), t.get(1));
    nsbox(&["netns", "add", ours]).success();
    ip(&["netns", "add", theirs]).success();

    let ip_list = ip(&["netns", "list"]).success();
    assert!(lines(&ip_list).iter().any(|l| l == ours), "{ip_list:?}");
    let our_list = nsbox(&["netns", "list"]).success();
    assert!(lines(&our_list).iter().any(|l| l == theirs), "{our_list:?}");

    // the same namespace, entered by either tool
    for name in [ours, theirs] {
        let a = nsbox(&["netns", "exec", name, "readlink", "/proc/self/ns/net"]).success();
        let b = ip(&["netns", "exec", name, "readlink", "/proc/self/ns/net"]).success();
        assert_eq!(a.stdout, b.stdout, "{name}");
        let host = std::fs::read_link("/proc/self/ns/net").unwrap();
        assert_ne!(a.stdout.trim(), host.to_str().unwrap(), "{name}");
    }

    // ids: set by one, shown by the other
    nsbox(&["netns", "set", ours, "4242"]).success();
    let ip_list = ip(&["netns", "list"]).success();
    assert!(
        lines(&ip_list).contains(&format!("{ours} (id: 4242)")),
        "{ip_list:?}"
    );
    ip(&["netns", "set", theirs, "4243"]).success();
    let json = nsbox(&["netns", "list", "--json"]).success();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let entry = |name: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} missing in {v}"))
    };
    assert_eq!(entry(ours)["id"], 4242, "{v}");
    assert_eq!(entry(theirs)["id"], 4243, "{v}");

    // each deletes the other's
    nsbox(&["netns", "delete", theirs]).success();
    ip(&["netns", "delete", ours]).success();
    let ip_list = ip(&["netns", "list"]).success();
    assert!(!ip_list.stdout.contains(ours) && !ip_list.stdout.contains(theirs));
}

/// `exec` as `ip netns exec`: only the namespace's devices (its /sys),
/// /etc/netns/NAME/* over /etc, the command's own exit status, and a
/// shell's 127 for a missing command.
#[test]
fn exec_sees_the_namespaces_network_sys_and_etc() {
    let t = Names::new(&["exec"]);
    let name = t.get(0);
    nsbox(&["netns", "add", name]).success();
    let out = nsbox(&["netns", "exec", name, "ls", "/sys/class/net"]).success();
    assert_eq!(out.stdout.trim(), "lo", "{out:?}");
    let out = nsbox(&["netns", "exec", name, "ip", "-o", "link"]).success();
    assert_eq!(out.stdout.lines().count(), 1, "{out:?}");
    assert!(out.stdout.contains(": lo: <LOOPBACK>"), "{out:?}");

    let etc = Path::new("/etc/netns").join(name);
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(etc.join("hosts"), "192.0.2.7 only-in-this-netns\n").unwrap();
    let out = nsbox(&["netns", "exec", name, "cat", "/etc/hosts"]).success();
    assert_eq!(out.stdout, "192.0.2.7 only-in-this-netns\n");
    let host = std::fs::read_to_string("/etc/hosts").unwrap();
    assert!(
        !host.contains("only-in-this-netns"),
        "the host's /etc/hosts changed"
    );

    let out = nsbox(&["netns", "exec", name, "sh", "-c", "exit 7"]);
    assert_eq!(out.code, 7, "{out:?}");
    let out = nsbox(&["netns", "exec", name, "no-such-command"]);
    assert_eq!(out.code, 127, "{out:?}");
    assert_eq!(
        out.stderr,
        "nsbox: netns exec: exec \"no-such-command\": No such file or directory\n"
    );
}

#[test]
fn pids_and_identify_agree_with_iproute2() {
    let mut t = Names::new(&["pids", "alias"]);
    let name = t.get(0).to_owned();
    let alias = t.get(1).to_owned();
    nsbox(&["netns", "add", &name]).success();
    let pid = t.sleeper_in(&name);
    let ours = nsbox(&["netns", "pids", &name]).success();
    let theirs = ip(&["netns", "pids", &name]).success();
    assert_eq!(lines(&ours), [pid.to_string()], "{ours:?}");
    assert_eq!(ours.stdout, theirs.stdout);

    // a second name for the same namespace, through the process
    nsbox(&["netns", "attach", &alias, &pid.to_string()]).success();
    let mut ours = lines(&nsbox(&["netns", "identify", &pid.to_string()]).success());
    let theirs = lines(&ip(&["netns", "identify", &pid.to_string()]).success());
    ours.sort();
    let mut want = vec![name.clone(), alias.clone()];
    want.sort();
    // nsbox names every name of the namespace; iproute2 stops at the
    // first it reads
    assert_eq!(ours, want);
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert!(want.contains(&theirs[0]), "{theirs:?}");
    // the host's own namespace has no name
    let out = nsbox(&["netns", "identify"]).success();
    assert_eq!(out.stdout, "");
}

/// A namespace a process is still in keeps its name (deleting it would
/// leave the namespace alive and nameless); `delete -a` removes the rest.
#[test]
fn delete_of_a_namespace_in_use_says_so_and_keeps_it() {
    let mut t = Names::new(&["busy", "idle"]);
    let busy = t.get(0).to_owned();
    let idle = t.get(1).to_owned();
    nsbox(&["netns", "add", &busy]).success();
    nsbox(&["netns", "add", &idle]).success();
    let pid = t.sleeper_in(&busy);
    let out = nsbox(&["netns", "delete", &busy]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "nsbox: netns delete: network namespace \"{busy}\" is in use by process {pid} \
             (kept; stop them first)\n"
        )
    );
    assert!(nsbox_ns::is_nsfs(&Path::new("/run/netns").join(&busy)));
    nsbox(&["netns", "delete", &idle]).success();
    assert!(!Path::new("/run/netns").join(&idle).exists());
}

/// Bad input: one line naming what is wrong, exit 1, nothing left behind.
#[test]
fn bad_input_is_one_line_and_leaves_nothing() {
    let t = Names::new(&["taken", "never"]);
    let (taken, never) = (t.get(0), t.get(1));
    nsbox(&["netns", "add", taken]).success();
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["add", taken],
            format!("netns add: network namespace \"{taken}\" already exists (/run/netns/{taken})"),
        ),
        (
            vec!["add", "a/b"],
            "netns add: invalid network namespace name \"a/b\": contains '/'".into(),
        ),
        (
            vec!["add", ".."],
            "netns add: invalid network namespace name \"..\": not a file name".into(),
        ),
        (
            vec!["exec", never, "true"],
            format!("netns exec: network namespace \"{never}\" does not exist (no /run/netns/{never})"),
        ),
        (
            vec!["pids", never],
            format!("netns pids: network namespace \"{never}\" does not exist (no /run/netns/{never})"),
        ),
        (
            vec!["delete", never],
            format!("netns delete: network namespace \"{never}\" does not exist (no /run/netns/{never})"),
        ),
        (
            vec!["set", never, "5"],
            format!("netns set: network namespace \"{never}\" does not exist (no /run/netns/{never})"),
        ),
        (
            vec!["set", taken, "-3"],
            "netns set: invalid id \"-3\": a number >= 0, or auto".into(),
        ),
        (vec!["attach", never, "999999999"], "netns attach: no process 999999999".into()),
        (vec!["identify", "999999999"], "netns identify: no process 999999999".into()),
    ];
    for (args, want) in cases {
        let mut all = vec!["netns"];
        all.extend(&args);
        let out = nsbox(&all);
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        assert_eq!(out.stderr, format!("nsbox: {want}\n"), "{args:?}");
    }
    assert!(!Path::new("/run/netns").join(never).exists());
    assert!(!Path::new("/run/netns/a").exists());
    // a usage error is exit 2
    let out = nsbox(&["netns", "delete"]);
    assert_eq!(out.code, 2, "{out:?}");
}

/// `delete -a` removes every name it can and keeps (and names) those in
/// use. Run in a mount namespace of its own with an empty /run/netns, so
/// that "every" is only this test's namespaces, never the machine's.
#[test]
fn delete_all_removes_every_name_but_those_in_use() {
    require_root();
    let script = format!(
        r#"set -e
        mount -t tmpfs tmpfs /run/netns
        {n} netns add one; {n} netns add two; {n} netns add busy
        ip netns exec busy sleep 60 & sleeper=$!
        while [ "$({n} netns pids busy)" != "$sleeper" ]; do sleep 0.01; done
        set +e; {n} netns delete -a; echo "code=$?"; set -e
        ls /run/netns
        kill $sleeper; wait $sleeper 2>/dev/null || true
        {n} netns delete -a; echo "code=$?"; ls /run/netns"#,
        n = NSBOX
    );
    let out = run("unshare", ["-m", "sh", "-c", &script]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "code=1\nbusy\ncode=0\n", "{out:?}");
    assert!(
        out.stderr
            .starts_with("nsbox: netns delete: network namespace \"busy\" is in use by process "),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
}
