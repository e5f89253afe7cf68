//! `nsbox ns tree`: the user/PID namespace hierarchy from ioctl_ns.

mod ns_support;

use ns_support::*;
use serde_json::Value;

/// The node for namespace `ino` and the chain of its ancestors' inodes.
fn find<'a>(nodes: &'a [Value], ino: u64, path: &mut Vec<u64>) -> Option<&'a Value> {
    for n in nodes {
        if n["ns"] == ino {
            return Some(n);
        }
        path.push(n["ns"].as_u64().unwrap());
        if let Some(hit) = find(n["children"].as_array().unwrap(), ino, path) {
            return Some(hit);
        }
        path.pop();
    }
    None
}

fn tree_json(args: &[&str]) -> Vec<Value> {
    let mut argv = vec!["ns", "tree", "--json"];
    argv.extend_from_slice(args);
    let out = nsbox(&argv).success();
    json(&out)["namespaces"].as_array().unwrap().clone()
}

#[test]
fn user_namespace_nests_under_ours_with_what_it_owns() {
    require_root();
    let me = std::process::id();
    let child = Proc::spawn(
        &["unshare", "-U", "--map-root-user", "-n", "sleep", "600"],
        &["user", "net"],
    );
    let roots = tree_json(&[]);
    let mut path = Vec::new();
    let user = find(&roots, child.ns("user"), &mut path).expect("new user ns in tree");
    assert_eq!(path, vec![ns_ino(me, "user")], "nested directly under ours");
    assert_eq!(user["type"], "user");
    assert_eq!(user["owner_uid"], 0);
    assert_eq!(user["owner_user"], "root");
    assert_eq!(user["pid"], child.pid());
    assert_eq!(user["parent"], ns_ino(me, "user"));
    let owned: Vec<&Value> = user["children"].as_array().unwrap().iter().collect();
    assert!(
        owned.iter().any(|n| n["ns"] == child.ns("net")
            && n["type"] == "net"
            && n["owner"] == child.ns("user")),
        "net ns owned by the new user ns: {owned:?}"
    );

    // Text form: the user namespace one level below ours, with its owner uid.
    let out = nsbox(["ns", "tree"]).success();
    let line = format!(
        "user:[{}] owner uid 0 (root), 1 process, pid {}",
        child.ns("user"),
        child.pid()
    );
    let hit = out
        .stdout
        .lines()
        .find(|l| l.contains(&line))
        .unwrap_or_else(|| panic!("{line} not in\n{}", out.stdout));
    assert!(hit.starts_with("└─") || hit.starts_with("├─"), "{hit:?}");
    assert!(out
        .stdout
        .lines()
        .next()
        .unwrap()
        .starts_with(&format!("user:[{}]", ns_ino(me, "user"))));
}

#[test]
fn pid_namespaces_nest_by_parent() {
    require_root();
    let me = std::process::id();
    // Two nested PID namespaces, both owned by our user namespace.
    let outer = Proc::start(&["unshare", "-p", "-f", "unshare", "-p", "-f", "sleep", "600"]);
    let sleeper = outer.sleeping_descendant();
    let inner = ns_ino(sleeper, "pid");
    let roots = tree_json(&["-t", "pid"]);
    let mut path = Vec::new();
    let node = find(&roots, inner, &mut path).expect("inner pid ns in tree");
    assert_eq!(node["type"], "pid");
    // our user ns > our pid ns > outer pid ns > inner
    assert_eq!(path.len(), 3, "{path:?}");
    assert_eq!(path[0], ns_ino(me, "user"));
    assert_eq!(path[1], ns_ino(me, "pid"));
    assert_eq!(node["parent"], path[2]);
    // -t pid leaves out the other kinds (user namespaces stay as the skeleton).
    fn kinds(nodes: &[Value], out: &mut Vec<String>) {
        for n in nodes {
            out.push(n["type"].as_str().unwrap().to_string());
            kinds(n["children"].as_array().unwrap(), out);
        }
    }
    let mut all = Vec::new();
    kinds(&roots, &mut all);
    assert!(all.iter().all(|k| k == "pid" || k == "user"), "{all:?}");
}

#[test]
fn unknown_type_is_a_usage_error() {
    require_root();
    let out = nsbox(["ns", "tree", "-t", "bogus"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1);
}
