//! `nsbox ns limits`.

mod ns_support;

use ns_support::*;

#[test]
fn limits_beside_counts() {
    require_root();
    let dir = TempDir::new("nslimits");
    let held: Vec<u64> = (0..3)
        .map(|i| mount_held(&dir, "uts", &format!("u{i}")).1)
        .collect();
    let out = nsbox(["ns", "limits", "--json"]).success();
    let v = json(&out);
    let rows = v["limits"].as_array().unwrap();
    for kind in ["mnt", "net", "pid", "uts", "ipc", "user", "cgroup"] {
        let r = rows
            .iter()
            .find(|r| r["type"] == kind)
            .unwrap_or_else(|| panic!("{kind} missing"));
        let file = format!("/proc/sys/user/max_{kind}_namespaces");
        let limit: u64 = std::fs::read_to_string(&file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(r["limit"], limit, "{kind}");
        assert_eq!(r["file"], file);
        assert!(r["count"].as_u64().unwrap() >= 1, "{kind}");
    }
    let uts = rows.iter().find(|r| r["type"] == "uts").unwrap();
    assert!(
        uts["count"].as_u64().unwrap() > held.len() as u64,
        "held uts namespaces counted"
    );

    let out = nsbox(["ns", "limits"]).success();
    let head: Vec<&str> = out
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(head, ["TYPE", "COUNT", "LIMIT", "FILE"]);
}
