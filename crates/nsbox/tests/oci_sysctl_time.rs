//! `linux.timeOffsets` and `linux.sysctl`: what reaches the container, and
//! what is refused (one line naming the field) before anything exists.

mod oci_common;

use oci_common::{base_config, Oci};
use serde_json::json;

fn uptime_secs(text: &str) -> f64 {
    text.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn boottime_offset_shows_in_uptime_inside() {
    let oci = Oci::new("oci-timens");
    let host = uptime_secs(&std::fs::read_to_string("/proc/uptime").unwrap());
    let mut c = base_config(&["sh", "-c", "cat /proc/uptime /proc/self/timens_offsets"]);
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "time"}));
    c["linux"]["timeOffsets"] = json!({
        "boottime": {"secs": 86400},
        "monotonic": {"secs": 3600, "nanosecs": 500}
    });
    oci.write_config(&c);
    let out = oci.run(&oci.id("timens")).success();
    let inside = uptime_secs(&out.stdout);
    assert!(
        inside >= host + 86400.0 && inside < host + 86400.0 + 120.0,
        "host {host}, inside {inside}: {out:?}"
    );
    let words: Vec<&str> = out.stdout.split_whitespace().skip(2).collect();
    assert_eq!(
        words,
        ["monotonic", "3600", "500", "boottime", "86400", "0"],
        "{out:?}"
    );

    // exec'd processes join the same time namespace.
    c["process"]["args"] = json!(["sleep", "1000"]);
    oci.write_config(&c);
    let id = oci.id("timens-exec");
    oci.create_detached(&id);
    let out = oci.nsbox(&["exec", &id, "cat", "/proc/uptime"]).success();
    assert!(uptime_secs(&out.stdout) >= host + 86400.0, "{out:?}");
    oci.nsbox(&["delete", "--force", &id]).success();
}

#[test]
fn time_offsets_in_a_new_user_namespace() {
    let oci = Oci::new("oci-timens-userns");
    let host = uptime_secs(&std::fs::read_to_string("/proc/uptime").unwrap());
    let mut c = base_config(&["sh", "-c", "cat /proc/uptime; id -u"]);
    let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
    ns.push(json!({"type": "time"}));
    ns.push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    c["linux"]["timeOffsets"] = json!({"boottime": {"secs": 86400}});
    oci.write_config(&c);
    let out = oci.run(&oci.id("timens-userns")).success();
    assert!(uptime_secs(&out.stdout) >= host + 86400.0, "{out:?}");
    assert!(out.stdout.ends_with("\n0\n"), "{out:?}");
}

#[test]
fn time_offsets_without_time_namespace_are_refused() {
    let oci = Oci::new("oci-timens-bad");
    let mut c = base_config(&["true"]);
    c["linux"]["timeOffsets"] = json!({"boottime": {"secs": 86400}});
    oci.write_config(&c);
    let id = oci.id("timens-bad");
    let out = oci.create(&id);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("linux.timeOffsets: needs a new time namespace"),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(!oci.state_dir(&id).exists(), "state left behind");
}

#[test]
fn namespaced_sysctl_is_seen_inside_host_unchanged() {
    let oci = Oci::new("oci-sysctl");
    let file = "/proc/sys/net/ipv4/ip_forward";
    let host = std::fs::read_to_string(file).unwrap();
    let mut c = base_config(&["cat", file]);
    c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    oci.write_config(&c);
    let out = oci.run(&oci.id("sysctl")).success();
    assert_eq!(out.stdout, "1\n", "{out:?}");
    assert_eq!(std::fs::read_to_string(file).unwrap(), host);
}

#[test]
fn host_wide_or_unbacked_sysctls_are_refused_naming_the_key() {
    let oci = Oci::new("oci-sysctl-bad");
    let swappiness = std::fs::read_to_string("/proc/sys/vm/swappiness").unwrap();
    for (sysctl, drop_ns, want) in [
        (
            json!({"vm.swappiness": "7"}),
            None,
            "linux.sysctl[\"vm.swappiness\"]: not a namespaced sysctl",
        ),
        (
            json!({"kernel.shmmax": "1000000"}),
            Some("ipc"),
            "linux.sysctl[\"kernel.shmmax\"]: needs an ipc namespace",
        ),
    ] {
        let mut c = base_config(&["true"]);
        c["linux"]["sysctl"] = sysctl;
        if let Some(kind) = drop_ns {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != kind);
        }
        oci.write_config(&c);
        let id = oci.id("sysctl-bad");
        let out = oci.create(&id);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stderr.contains(want), "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        assert!(!oci.state_dir(&id).exists(), "state left behind");
    }
    assert_eq!(
        std::fs::read_to_string("/proc/sys/vm/swappiness").unwrap(),
        swappiness
    );
}
