//! `linux.rootfsPropagation`, `linux.devices` and mount options, by their
//! effects as the container sees them.

mod oci_common;

use std::process::Command;

use oci_common::{base_config, Oci};
use serde_json::json;

fn host(cmd: &str, args: &[&str]) {
    let st = Command::new(cmd).args(args).status().unwrap();
    assert!(st.success(), "{cmd} {args:?}: {st}");
}

/// A host mount made under a shared bind source after the container is
/// built reaches it with `rslave` (and not with `private`).
fn host_mount_seen_inside(propagation: &str) -> bool {
    let oci = Oci::new(&format!("oci-rprop-{propagation}"));
    let src = oci.dir.join("shared-src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    let src_s = src.display().to_string();
    host("mount", &["--bind", &src_s, &src_s]);
    host("mount", &["--make-shared", &src_s]);
    let mut c = base_config(&["sleep", "1000"]);
    c["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/mnt/src", "type": "bind", "source": src_s, "options": ["rbind"]
    }));
    c["linux"]["rootfsPropagation"] = json!(propagation);
    oci.write_config(&c);
    let id = oci.id(&format!("rprop-{propagation}"));
    oci.create_detached(&id);
    oci.nsbox(&["start", &id]).success();
    let sub = src.join("sub").display().to_string();
    host("mount", &["-t", "tmpfs", "nsbox-rprop", &sub]);
    std::fs::write(src.join("sub/marker"), "from the host\n").unwrap();
    let out = oci.nsbox(&["exec", &id, "cat", "/mnt/src/sub/marker"]);
    let seen = out.code == 0 && out.stdout == "from the host\n";
    // The bind of the shared source is a slave of the host's peer group
    // with rslave, in no group with private.
    let info = oci
        .nsbox(&["exec", &id, "cat", "/proc/self/mountinfo"])
        .success();
    let bind = info
        .stdout
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/mnt/src"))
        .unwrap()
        .to_string();
    match propagation {
        "rslave" => assert!(bind.contains(" master:"), "{bind}"),
        _ => assert!(
            !bind.contains("master:") && !bind.contains("shared:"),
            "{bind}"
        ),
    }
    oci.nsbox(&["delete", "--force", &id]).success();
    seen
}

#[test]
fn rslave_root_receives_host_mounts() {
    assert!(host_mount_seen_inside("rslave"));
}

#[test]
fn private_root_does_not_receive_host_mounts() {
    assert!(!host_mount_seen_inside("private"));
}

#[test]
fn device_nodes_have_the_config_attributes() {
    let oci = Oci::new("oci-devices");
    let mut c = base_config(&[
        "sh",
        "-c",
        "stat -c '%F %t:%T %a %u:%g' /dev/nsbox-null /dev/nsbox-zero; \
         head -c 4 /dev/nsbox-zero | od -An -tx1",
    ]);
    c["linux"]["devices"] = json!([
        {"path": "/dev/nsbox-null", "type": "c", "major": 1, "minor": 3,
         "fileMode": 0o640, "uid": 1000, "gid": 1001},
        {"path": "/dev/nsbox-zero", "type": "c", "major": 1, "minor": 5,
         "fileMode": 0o600, "uid": 0, "gid": 0}
    ]);
    oci.write_config(&c);
    let out = oci.run(&oci.id("devices")).success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "character special file 1:3 640 1000:1001",
            "character special file 1:5 600 0:0"
        ],
        "{out:?}"
    );
    assert_eq!(lines[2].split_whitespace().collect::<Vec<_>>(), ["00"; 4]);
}

/// The mountinfo line of `dest` (mount point, field 5), as fields.
fn mountinfo_of(text: &str, dest: &str) -> (Vec<String>, Vec<String>) {
    let line = text
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(dest))
        .unwrap_or_else(|| panic!("{dest} not in {text}"));
    let fields: Vec<&str> = line.split(' ').collect();
    let per_mount = fields[5].split(',').map(String::from).collect();
    let sep = fields.iter().position(|f| *f == "-").unwrap();
    let per_sb = fields[sep + 3].split(',').map(String::from).collect();
    (per_mount, per_sb)
}

#[test]
fn mount_options_show_in_mountinfo() {
    let oci = Oci::new("oci-mountopts");
    let data = oci.bundle.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut c = base_config(&[
        "sh",
        "-c",
        "cat /proc/self/mountinfo; echo ==; stat -c %a /mnt/t",
    ]);
    let mounts = c["mounts"].as_array_mut().unwrap();
    mounts.push(json!({
        "destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs",
        "options": ["ro", "nosuid", "noexec", "nodev", "size=1m", "mode=750"]
    }));
    mounts.push(json!({
        "destination": "/mnt/b", "type": "bind", "source": "data",
        "options": ["bind", "ro", "nosuid", "noexec", "nodev"]
    }));
    mounts.push(json!({
        "destination": "/mnt/w", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "size=2m", "mode=700"]
    }));
    oci.write_config(&c);
    let out = oci.run(&oci.id("mountopts")).success();
    let (info, mode) = out.stdout.split_once("==\n").unwrap();
    for dest in ["/mnt/t", "/mnt/b"] {
        let (per_mount, _) = mountinfo_of(info, dest);
        for want in ["ro", "nosuid", "noexec", "nodev"] {
            assert!(
                per_mount.iter().any(|o| o == want),
                "{dest} {want}: {per_mount:?}"
            );
        }
    }
    let (_, sb) = mountinfo_of(info, "/mnt/t");
    assert!(sb.iter().any(|o| o == "size=1024k"), "{sb:?}");
    assert!(sb.iter().any(|o| o == "mode=750"), "{sb:?}");
    assert_eq!(mode, "750\n", "{out:?}");
    let (per_mount, sb) = mountinfo_of(info, "/mnt/w");
    assert!(per_mount.iter().any(|o| o == "rw"), "{per_mount:?}");
    assert!(per_mount.iter().any(|o| o == "nosuid"), "{per_mount:?}");
    assert!(!per_mount.iter().any(|o| o == "noexec"), "{per_mount:?}");
    assert!(sb.iter().any(|o| o == "size=2048k"), "{sb:?}");
    assert!(sb.iter().any(|o| o == "mode=700"), "{sb:?}");
}
