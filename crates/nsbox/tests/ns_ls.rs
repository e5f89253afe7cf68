//! `nsbox ns ls` against util-linux lsns on the real kernel.

mod ns_support;

use std::collections::{BTreeMap, BTreeSet};

use ns_support::*;
use serde_json::Value;

/// (type, nprocs, pid) per namespace inode.
type Rows = BTreeMap<u64, (String, u64, Option<u64>)>;

fn rows(list: &[Value]) -> Rows {
    list.iter()
        .map(|r| {
            (
                r["ns"].as_u64().expect("ns is a number"),
                (
                    r["type"].as_str().unwrap().to_string(),
                    r["nprocs"].as_u64().expect("nprocs is a number"),
                    r["pid"].as_u64(),
                ),
            )
        })
        .collect()
}

fn lsns_rows() -> Rows {
    let out = run("lsns", ["-J", "--output", "NS,TYPE,NPROCS,PID"]).success();
    let mut flat = Vec::new();
    flatten(&json(&out)["namespaces"], &mut flat);
    rows(&flat)
}

fn nsbox_json(args: &[&str]) -> Vec<Value> {
    let mut argv = vec!["ns", "ls", "-J"];
    argv.extend_from_slice(args);
    let out = nsbox(&argv).success();
    json(&out)["namespaces"].as_array().unwrap().clone()
}

#[test]
fn matches_lsns_and_finds_held_namespaces() {
    require_root();
    let dir = TempDir::new("nsls");
    let target = Proc::spawn(&["unshare", "-n", "-u", "sleep", "600"], &["net", "uts"]);
    let (mount_path, mount_ino) = mount_held(&dir, "uts", "uts-held");
    let fd = FdHeld::new("ipc", "-i");

    let before = lsns_rows();
    let list = nsbox_json(&["-o", "+HOLDER"]);
    let after = lsns_rows();
    let mine = rows(&list);

    // Sorted by inode, like lsns.
    let inos: Vec<u64> = list.iter().map(|r| r["ns"].as_u64().unwrap()).collect();
    assert!(inos.windows(2).all(|w| w[0] < w[1]), "not sorted: {inos:?}");

    // The namespaces this test made are exact.
    for kind in ["net", "uts"] {
        let ino = target.ns(kind);
        let want = (kind.to_string(), 1, Some(u64::from(target.pid())));
        assert_eq!(mine.get(&ino), Some(&want), "nsbox {kind}");
        assert_eq!(before.get(&ino), Some(&want), "lsns {kind}");
    }
    // Everything lsns saw in both of its runs, nsbox saw too, with the same
    // type; where lsns's two runs agree, nprocs and the lowest pid agree too
    // (other tests start and stop processes meanwhile: allow that).
    for (ino, seen) in &before {
        // Inode numbers are reused: only a namespace with the same type and
        // lowest pid in both lsns runs surely lived through the nsbox run.
        let Some(again) = after.get(ino).filter(|a| a.0 == seen.0 && a.2 == seen.2) else {
            continue;
        };
        let got = mine
            .get(ino)
            .unwrap_or_else(|| panic!("nsbox misses {ino} {seen:?}"));
        assert_eq!(got.0, seen.0, "type of {ino}");
        if seen == again && seen.2 == got.2 {
            let (lo, hi) = (seen.1.min(again.1), seen.1.max(again.1));
            assert!(
                (lo.saturating_sub(8)..=hi + 8).contains(&got.1),
                "nprocs of {ino}: nsbox {} lsns {seen:?}",
                got.1
            );
        }
    }
    // lsns 2.38 cannot see namespaces without processes; nsbox lists them with their holder.
    let find = |ino: u64| list.iter().find(|r| r["ns"] == ino).cloned();
    let m = find(mount_ino).expect("mount-held namespace listed");
    assert_eq!(m["type"], "uts");
    assert_eq!(m["nprocs"], 0);
    assert!(m["pid"].is_null() && m["command"].is_null() && m["user"].is_null());
    assert_eq!(m["holder"], format!("mount {}", mount_path.display()));
    let f = find(fd.ino).expect("fd-held namespace listed");
    assert_eq!(f["type"], "ipc");
    assert_eq!(f["nprocs"], 0);
    assert_eq!(
        f["holder"],
        format!("fd 7 of pid {} (sleep)", fd.holder.pid())
    );
}

#[test]
fn raw_net_listing_format() {
    require_root();
    let dir = TempDir::new("nslsraw");
    let target = Proc::spawn(&["unshare", "-n", "sleep", "600"], &["net"]);
    let (mount_path, mount_ino) = mount_held(&dir, "net", "net held");
    let out = nsbox(["ns", "ls", "-t", "net", "-n", "-r", "-o", "NS,TYPE"]).success();
    let lines: BTreeSet<&str> = out.stdout.lines().collect();
    for l in &lines {
        let (ns, ty) = l
            .split_once(' ')
            .unwrap_or_else(|| panic!("bad line {l:?}"));
        assert!(
            ns.bytes().all(|b| b.is_ascii_digit()) && !ns.is_empty(),
            "{l:?}"
        );
        assert_eq!(ty, "net", "{l:?}");
    }
    assert!(lines.contains(format!("{} net", target.ns("net")).as_str()));
    assert!(lines.contains(format!("{mount_ino} net").as_str()));

    // Default -t net columns carry NSFS, raw escapes the space in the path.
    let out = nsbox(["ns", "ls", "-t", "net", "-r"]).success();
    let head = out.stdout.lines().next().unwrap();
    assert_eq!(head, "NS TYPE NPROCS PID USER NSFS COMMAND");
    let escaped = mount_path.display().to_string().replace(' ', "\\x20");
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("{mount_ino} ")))
        .expect("held net namespace row");
    assert_eq!(row, format!("{mount_ino} net 0   {escaped} "));
}

#[test]
fn task_filter_lists_that_process() {
    require_root();
    let target = Proc::spawn(&["unshare", "-u", "sleep", "600"], &["uts"]);
    let list = nsbox_json(&["-p", &target.pid().to_string(), "-o", "NS,TYPE,NPROCS,PID"]);
    let me = std::process::id();
    let kinds: Vec<&str> = list.iter().map(|r| r["type"].as_str().unwrap()).collect();
    for kind in ["mnt", "net", "pid", "uts", "ipc", "user", "cgroup"] {
        assert!(kinds.contains(&kind), "{kind} missing: {kinds:?}");
    }
    for r in &list {
        let kind = r["type"].as_str().unwrap();
        assert_eq!(r["ns"], ns_ino(target.pid(), kind), "{kind}");
        if kind == "uts" {
            assert_eq!(r["nprocs"], 1);
            assert_eq!(r["pid"], target.pid());
        } else {
            assert_eq!(r["ns"], ns_ino(me, kind), "{kind} shared with us");
        }
    }

    // And the processes of one namespace (lsns's <namespace> argument).
    let uts = target.ns("uts").to_string();
    let out = nsbox(["ns", "ls", "-n", "-r", &uts, "-o", "PID,COMMAND"]).success();
    assert_eq!(out.stdout, format!("{} sleep\\x20600\n", target.pid()));
}

#[test]
fn usage_and_lookup_errors() {
    require_root();
    let out = nsbox(["ns", "ls", "-o", "NS,BOGUS"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.starts_with("nsbox: ") && out.stderr.contains("unknown column: BOGUS"));

    let out = nsbox(["ns", "ls", "-t", "nett"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(
        out.stderr.contains("unknown namespace type \"nett\""),
        "{out:?}"
    );

    let out = nsbox(["ns", "ls", "-p", "99999999"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        "nsbox: ns ls: process 99999999 does not exist\n"
    );

    let out = nsbox(["ns", "ls", "-J", "-r"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.is_empty());
}

#[test]
fn output_all_has_relations() {
    require_root();
    let list = nsbox_json(&["--output-all", "-t", "user", "-t", "pid"]);
    let me = std::process::id();
    let user = ns_ino(me, "user");
    let r = list.iter().find(|r| r["ns"] == user).expect("own user ns");
    assert!(r.as_object().is_some());
    // Key order as printed (serde_json's map would sort them).
    let out = nsbox(["ns", "ls", "-J", "--output-all", "-t", "user"]).success();
    let keys: Vec<&str> = out
        .stdout
        .lines()
        .skip(3)
        .take_while(|l| !l.trim_start().starts_with('}'))
        .filter_map(|l| l.trim_start().strip_prefix('"')?.split('"').next())
        .collect();
    assert_eq!(
        keys,
        [
            "ns", "type", "path", "nprocs", "pid", "ppid", "command", "uid", "user", "nsfs", "pns",
            "ons", "holder"
        ]
    );
    let pid = list.iter().find(|r| r["ns"] == ns_ino(me, "pid")).unwrap();
    assert_eq!(
        pid["ons"], user,
        "our pid namespace is owned by our user namespace"
    );
    assert!(pid["uid"].is_u64() && pid["user"].is_string());
}

#[test]
fn socket_held_network_namespace() {
    require_root();
    let maker = Proc::spawn(&["unshare", "-n", "sleep", "600"], &["net"]);
    let netns = std::fs::File::open(format!("/proc/{}/ns/net", maker.pid())).unwrap();
    // A thread joins that namespace just long enough to make a socket there.
    let sock = std::thread::scope(|s| {
        s.spawn(|| {
            use std::os::fd::AsFd;
            rustix::thread::move_into_link_name_space(
                netns.as_fd(),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .unwrap();
            std::net::UdpSocket::bind("0.0.0.0:0").unwrap()
        })
        .join()
        .unwrap()
    });
    let ino = maker.ns("net");
    drop(netns);
    drop(maker);

    let list = nsbox_json(&["-t", "net", "-o", "NS,NPROCS,HOLDER,ONS"]);
    let row = list
        .iter()
        .find(|r| r["ns"] == ino)
        .expect("socket-held namespace listed");
    use std::os::fd::AsRawFd;
    let me = std::process::id();
    let holder = row["holder"].as_str().unwrap();
    let want = format!("socket fd {} of pid {me} (", sock.as_raw_fd());
    assert!(holder.starts_with(&want), "{holder:?}");
    assert_eq!(row["nprocs"], 0);
    // Relations work through the socket too.
    assert_eq!(row["ons"], ns_ino(me, "user"));
}

#[test]
fn mounts_in_other_mount_namespaces_with_all_mounts() {
    require_root();
    let dir = TempDir::new("nslsmnt");
    let file = dir.join("uts-inside");
    std::fs::write(&file, b"").unwrap();
    // A mount namespace of its own holds a uts namespace by a bind mount
    // that our mount namespace never sees.
    let script = format!("unshare --uts={} true && exec sleep 600", file.display());
    let inner = Proc::spawn(
        &[
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
        ],
        &["mnt"],
    );
    let ino = {
        use std::os::unix::fs::MetadataExt;
        let rel = file.strip_prefix("/").unwrap();
        let seen = std::path::Path::new(&format!("/proc/{}/root", inner.pid())).join(rel);
        let mut ino = 0;
        wait_for("the bind mount inside", || {
            ino = std::fs::metadata(&seen).map_or(0, |m| m.ino());
            ino != 0 && ino != std::fs::metadata(&file).map_or(0, |m| m.ino())
        });
        ino
    };

    let plain = nsbox_json(&["-t", "uts", "-o", "NS,HOLDER"]);
    assert!(
        plain.iter().all(|r| r["ns"] != ino),
        "found without --all-mounts"
    );
    let all = nsbox_json(&["-t", "uts", "-o", "NS,NPROCS,HOLDER", "--all-mounts"]);
    let row = all
        .iter()
        .find(|r| r["ns"] == ino)
        .expect("listed with --all-mounts");
    assert_eq!(row["nprocs"], 0);
    assert_eq!(
        row["holder"],
        format!("mount {} in mnt:[{}]", file.display(), inner.ns("mnt"))
    );
}
