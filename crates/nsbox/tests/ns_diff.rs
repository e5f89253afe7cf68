//! `nsbox ns diff PID1 PID2`.

mod ns_support;

use ns_support::*;

#[test]
fn shared_and_separate_namespaces() {
    require_root();
    let a = Proc::spawn(&["unshare", "-u", "-n", "sleep", "600"], &["uts", "net"]);
    let b = Proc::spawn(&["sleep", "600"], &[]);
    let (pa, pb) = (a.pid().to_string(), b.pid().to_string());

    let out = nsbox(["ns", "diff", &pa, &pb, "--json"]).success();
    let v = json(&out);
    assert_eq!(v["pids"], serde_json::json!([a.pid(), b.pid()]));
    assert_eq!(v["same"], false);
    for n in v["namespaces"].as_array().unwrap() {
        let kind = n["type"].as_str().unwrap();
        let differs = kind == "uts" || kind == "net";
        assert_eq!(n["same"], !differs, "{kind}");
        assert_eq!(
            n["ns"],
            serde_json::json!([a.ns(kind), b.ns(kind)]),
            "{kind}"
        );
    }
    assert_eq!(v["root"]["same"], true);
    assert_eq!(v["cgroup"]["same"], true);

    // Table form.
    let out = nsbox(["ns", "diff", &pa, &pb]).success();
    let mut lines = out.stdout.lines();
    let head: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(head, ["WHAT", "SAME", pa.as_str(), pb.as_str()]);
    for l in lines {
        let f: Vec<&str> = l.split_whitespace().collect();
        let want = if f[0] == "uts" || f[0] == "net" {
            "no"
        } else {
            "yes"
        };
        assert_eq!(f[1], want, "{l}");
    }

    // --quiet: exit status only.
    let out = nsbox(["ns", "diff", "-q", &pa, &pb]);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""));
    let out = nsbox(["ns", "diff", "--quiet", &pb, &pb]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
}

#[test]
fn different_root_and_cgroup_are_seen() {
    require_root();
    let dir = TempDir::new("nsdiff");
    nsbox_testutil::busybox_rootfs(dir.path()).unwrap();
    let cg = ChildCgroup::new("nsdiff");
    // chroot gives another root directory (same mount namespace).
    let a = Proc::spawn(
        &["chroot", dir.path().to_str().unwrap(), "/bin/sleep", "600"],
        &[],
    );
    let b = Proc::spawn(&["sleep", "600"], &[]);
    let c = Proc::spawn(&["sleep", "600"], &[]);
    cg.add(c.pid());
    let (pa, pb, pc) = (
        a.pid().to_string(),
        b.pid().to_string(),
        c.pid().to_string(),
    );

    let v = json(&nsbox(["ns", "diff", "-J", &pa, &pb]).success());
    assert_eq!(v["root"]["same"], false);
    assert_eq!(v["cgroup"]["same"], true);
    assert_eq!(v["same"], false);
    assert!(v["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["same"] == true));

    let v = json(&nsbox(["ns", "diff", "-J", &pb, &pc]).success());
    assert_eq!(v["root"]["same"], true);
    assert_eq!(v["cgroup"]["same"], false);
    let memory_line = |i: usize| {
        v["cgroup"]["lines"][i]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|l| {
                l.as_str()
                    .filter(|l| l.contains(":memory:"))
                    .map(str::to_string)
            })
            .unwrap()
    };
    assert!(memory_line(1).ends_with(&format!("/nsbox-test-nsdiff-{}", std::process::id())));
    assert!(!memory_line(0).contains("nsbox-test-nsdiff"));

    // The table shows the differing lines only.
    let out = nsbox(["ns", "diff", "-r", "-W", &pb, &pc]).success();
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("cgroup-paths "))
        .unwrap();
    assert!(
        row.starts_with("cgroup-paths no ") && row.contains(":memory:"),
        "{row}"
    );
    assert!(!row.contains(":cpu:"), "{row}");
}

#[test]
fn dead_pid_is_an_error() {
    require_root();
    let me = std::process::id().to_string();
    let out = nsbox(["ns", "diff", &me, "99999999"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "nsbox: ns diff: process 99999999 does not exist\n"
    );
    assert!(out.stdout.is_empty());
}
