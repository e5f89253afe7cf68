//! `linux.personality`: the execution domain and flags reach the
//! container's program; unknown names are refused before anything exists.

mod oci_common;

use oci_common::{base_config, Oci};
use serde_json::json;

#[test]
fn linux32_makes_uname_say_i686() {
    let oci = Oci::new("oci-persona");
    let host = std::process::Command::new("uname")
        .arg("-m")
        .output()
        .unwrap();
    let host = String::from_utf8_lossy(&host.stdout).trim().to_string();
    assert_eq!(host, "x86_64", "this test expects an x86_64 host");

    let mut c = base_config(&["sh", "-c", "uname -m; cat /proc/self/personality"]);
    c["linux"]["personality"] = json!({"domain": "LINUX32", "flags": ["ADDR_NO_RANDOMIZE"]});
    oci.write_config(&c);
    let out = oci.run(&oci.id("persona32")).success();
    assert_eq!(out.stdout, "i686\n00040008\n", "{out:?}");
    assert!(!out.stderr.contains("personality"), "{out:?}");

    // exec'd processes get it too.
    c["process"]["args"] = json!(["sleep", "1000"]);
    oci.write_config(&c);
    let id = oci.id("persona-exec");
    oci.create_detached(&id);
    let out = oci.nsbox(&["exec", &id, "uname", "-m"]).success();
    assert_eq!(out.stdout, "i686\n", "{out:?}");
    oci.nsbox(&["delete", "--force", &id]).success();

    // LINUX is the default domain: the machine's own.
    c["process"]["args"] = json!(["sh", "-c", "uname -m; cat /proc/self/personality"]);
    c["linux"]["personality"] = json!({"domain": "LINUX"});
    oci.write_config(&c);
    let out = oci.run(&oci.id("persona64")).success();
    assert_eq!(out.stdout, "x86_64\n00000000\n", "{out:?}");
}

#[test]
fn unknown_domain_or_flag_is_refused_naming_the_field() {
    let oci = Oci::new("oci-persona-bad");
    for (personality, field) in [
        (
            json!({"domain": "LINUX64"}),
            "linux.personality.domain: unknown variant `LINUX64`",
        ),
        (
            json!({"domain": "LINUX", "flags": ["UNAME26", "NOPE"]}),
            "linux.personality.flags[1]: unknown personality flag \"NOPE\"",
        ),
    ] {
        let mut c = base_config(&["true"]);
        c["linux"]["personality"] = personality;
        oci.write_config(&c);
        let id = oci.id("persona-bad");
        let out = oci.create(&id);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stderr.contains(field), "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        assert!(!oci.state_dir(&id).exists(), "state left behind");
    }
}
