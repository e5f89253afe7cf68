//! runc's and crun's mount extensions, by their effects: `tmpcopyup`
//! (a tmpfs that starts with the rootfs's content), `copy-symlink`, and
//! idmapped mounts (`uidMappings`/`gidMappings`, `idmap`, `ridmap`): file
//! owners as the host and the container see them.

mod oci_common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use oci_common::{base_config, host_mounts_mention, Oci, NSBOX};
use serde_json::{json, Value};

fn push_mount(c: &mut Value, mount: Value) {
    c["mounts"].as_array_mut().unwrap().push(mount);
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
}

#[test]
fn tmpcopyup_starts_with_the_rootfs_content_and_leaves_it_alone() {
    let oci = Oci::new("oci-tmpcopyup");
    let run = oci.bundle.join("rootfs/run");
    std::fs::create_dir_all(run.join("sub")).unwrap();
    std::fs::write(run.join("image-file"), "from the image\n").unwrap();
    std::fs::set_permissions(run.join("image-file"), PermissionsExt::from_mode(0o640)).unwrap();
    chown(&run.join("image-file"), 0, 1001);
    std::fs::write(run.join("sub/deep"), "deep\n").unwrap();
    std::os::unix::fs::symlink("../image-file", run.join("sub/link")).unwrap();
    std::fs::set_permissions(&run, PermissionsExt::from_mode(0o751)).unwrap();
    let mut c = base_config(&[
        "sh",
        "-c",
        "cat /run/image-file /run/sub/link; stat -c '%a %u:%g' /run/image-file /run; \
         readlink /run/sub/link; cat /run/sub/deep; \
         echo new > /run/new && rm /run/image-file && echo written; \
         grep ' /run ' /proc/mounts | cut -d' ' -f3",
    ]);
    c["root"]["readonly"] = json!(true);
    push_mount(
        &mut c,
        json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "nodev", "tmpcopyup", "size=1m"]}),
    );
    oci.write_config(&c);
    let out = oci.run(&oci.id("tmpcopyup")).success();
    assert_eq!(
        out.stdout,
        "from the image\nfrom the image\n640 0:1001\n751 0:0\n../image-file\ndeep\n\
         written\ntmpfs\n",
        "{out:?}"
    );
    // The rootfs is as it was: the writes went to the tmpfs.
    assert_eq!(
        std::fs::read_to_string(run.join("image-file")).unwrap(),
        "from the image\n"
    );
    assert!(!run.join("new").exists());
}

#[test]
fn tmpcopyup_on_a_missing_directory_is_an_empty_tmpfs() {
    let oci = Oci::new("oci-tmpcopyup-new");
    let mut c = base_config(&[
        "sh",
        "-c",
        "ls -A /var/cache/none; echo x > /var/cache/none/f && cat /var/cache/none/f",
    ]);
    push_mount(
        &mut c,
        json!({"destination": "/var/cache/none", "type": "tmpfs", "source": "tmpfs",
               "options": ["tmpcopyup", "mode=1777"]}),
    );
    oci.write_config(&c);
    let out = oci.run(&oci.id("tmpcopyup-new")).success();
    assert_eq!(out.stdout, "x\n", "{out:?}");
}

#[test]
fn tmpcopyup_outside_tmpfs_is_refused_in_one_line() {
    let oci = Oci::new("oci-tmpcopyup-bad");
    let mut c = base_config(&["true"]);
    push_mount(
        &mut c,
        json!({"destination": "/mnt", "type": "bind", "source": "/etc",
               "options": ["rbind", "tmpcopyup"]}),
    );
    oci.write_config(&c);
    let id = oci.id("tmpcopyup-bad");
    let out = oci.create(&id);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr.trim_end(),
        format!(
            "nsbox: create {id}: config.json: mounts[6].options: tmpcopyup is for tmpfs mounts"
        )
    );
    assert!(!oci.state_dir(&id).exists());
}

#[test]
fn unknown_mount_options_still_fail_in_one_line() {
    let oci = Oci::new("oci-mountopt-unknown");
    let mut c = base_config(&["true"]);
    push_mount(
        &mut c,
        json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "no-such-option"]}),
    );
    oci.write_config(&c);
    let id = oci.id("mountopt-unknown");
    let out = oci.create(&id);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(
        out.stderr.contains("mount tmpfs on /tmp: Invalid argument"),
        "{out:?}"
    );
}

#[test]
fn copy_symlink_creates_the_link_instead_of_binding() {
    let oci = Oci::new("oci-copy-symlink");
    let link = oci.dir.join("host-link");
    std::os::unix::fs::symlink("/proc/self/mounts", &link).unwrap();
    let mut c = base_config(&[
        "sh",
        "-c",
        "readlink /etc/mtab-link; grep -c mtab-link /proc/self/mountinfo",
    ]);
    push_mount(
        &mut c,
        json!({"destination": "/etc/mtab-link", "type": "bind",
               "source": link.display().to_string(), "options": ["bind", "copy-symlink"]}),
    );
    oci.write_config(&c);
    let out = oci.run(&oci.id("copy-symlink"));
    assert_eq!(out.stdout, "/proc/self/mounts\n0\n", "{out:?}");
}

/// A bind source for idmapped mounts, on the host's disk (ext4 here, which
/// can be idmapped): files owned by 0, by 1000 and by 2000.
fn idmap_source(oci: &Oci) -> std::path::PathBuf {
    let src = oci.dir.join("idmap-src");
    std::fs::create_dir_all(&src).unwrap();
    for (name, id) in [
        ("root-owned", 0),
        ("owned-1000", 1000),
        ("owned-2000", 2000),
    ] {
        std::fs::write(src.join(name), name).unwrap();
        chown(&src.join(name), id, id);
    }
    std::fs::set_permissions(&src, PermissionsExt::from_mode(0o777)).unwrap();
    src
}

#[test]
fn idmapped_bind_maps_owners_both_ways() {
    let oci = Oci::new("oci-idmap");
    let src = idmap_source(&oci);
    // On disk 1000 is the container's 0 (the container has no user ns);
    // the kernel lets nobody write in a directory whose owner is not mapped.
    chown(&src, 1000, 1000);
    let mut c = base_config(&[
        "sh",
        "-c",
        "stat -c '%n %u:%g' /data/owned-1000 /data/root-owned /data/owned-2000; \
         touch /data/made-inside && mkdir /data/dir-inside",
    ]);
    push_mount(
        &mut c,
        json!({"destination": "/data", "type": "bind", "source": src.display().to_string(),
               "options": ["bind", "idmap"],
               "uidMappings": [{"containerID": 1000, "hostID": 0, "size": 1}],
               "gidMappings": [{"containerID": 1000, "hostID": 0, "size": 1}]}),
    );
    oci.write_config(&c);
    let out = oci.run(&oci.id("idmap")).success();
    assert_eq!(
        out.stdout,
        "/data/owned-1000 0:0\n/data/root-owned 65534:65534\n/data/owned-2000 65534:65534\n",
        "{out:?}"
    );
    for made in ["made-inside", "dir-inside"] {
        let m = std::fs::metadata(src.join(made)).unwrap();
        assert_eq!((m.uid(), m.gid()), (1000, 1000), "{made}");
    }
    assert!(!host_mounts_mention(&src));
}

#[test]
fn idmap_without_own_maps_takes_the_containers_user_namespace() {
    let oci = Oci::new("oci-idmap-userns");
    let src = idmap_source(&oci);
    chown(&src, 0, 0);
    let mut c = base_config(&[
        "sh",
        "-c",
        "stat -c '%n %u:%g' /tmp/data/root-owned /tmp/data/owned-1000; touch /tmp/data/by-container-root",
    ]);
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    // (Its destination is under the rootfs's /tmp: the container's root
    // can create a directory there.) Without the idmap, what the
    // container's root writes would be owned
    // by 100000 on the host, and root's files would show as 65534 inside.
    push_mount(
        &mut c,
        json!({"destination": "/tmp/data", "type": "bind", "source": src.display().to_string(),
               "options": ["rbind", "idmap"]}),
    );
    oci.write_config(&c);
    let out = oci.run(&oci.id("idmap-userns")).success();
    assert_eq!(
        out.stdout, "/tmp/data/root-owned 0:0\n/tmp/data/owned-1000 1000:1000\n",
        "{out:?}"
    );
    let m = std::fs::metadata(src.join("by-container-root")).unwrap();
    assert_eq!((m.uid(), m.gid()), (0, 0));
}

#[test]
fn idmap_without_own_maps_takes_a_joined_user_namespace() {
    let oci = Oci::new("oci-idmap-joined");
    let src = idmap_source(&oci);
    chown(&src, 0, 0);
    let mut owner = base_config(&["sleep", "1000"]);
    owner["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    owner["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
    owner["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
    oci.write_config(&owner);
    let first = oci.id("idmap-owner");
    let bundle = oci.bundle.display().to_string();
    oci.detached(&["run", "-d", "--bundle", &bundle, &first]);
    let pid = oci.state(&first)["pid"].as_i64().unwrap();
    let mut c = base_config(&[
        "sh",
        "-c",
        "stat -c '%n %u:%g' /tmp/data/root-owned; touch /tmp/data/by-joiner",
    ]);
    c["linux"]["namespaces"] = json!([
        {"type": "user", "path": format!("/proc/{pid}/ns/user")},
        {"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc"}
    ]);
    // sysfs needs a network namespace of the user namespace's own.
    let mounts = c["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| m["type"] != "sysfs");
    mounts.push(json!({"destination": "/tmp/data", "type": "bind",
                       "source": src.display().to_string(), "options": ["bind", "idmap"]}));
    oci.write_config(&c);
    let out = oci.run(&oci.id("idmap-joiner")).success();
    assert_eq!(out.stdout, "/tmp/data/root-owned 0:0\n", "{out:?}");
    let m = std::fs::metadata(src.join("by-joiner")).unwrap();
    assert_eq!((m.uid(), m.gid()), (0, 0));
}

#[test]
fn tmpcopyup_in_a_user_namespace_keeps_what_it_can_give() {
    // The rootfs is the host's root's: inside the container's user
    // namespace its files show as the overflow id (65534), which a map of
    // 1000 ids cannot give; the copies are then the container root's, and
    // the container runs.
    let oci = Oci::new("oci-tmpcopyup-userns");
    let run = oci.bundle.join("rootfs/run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("image-file"), "from the image\n").unwrap();
    let mut c = base_config(&[
        "sh",
        "-c",
        "cat /run/image-file; stat -c %u /run/image-file",
    ]);
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 1000}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 1000}]);
    push_mount(
        &mut c,
        json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs",
               "options": ["tmpcopyup"]}),
    );
    oci.write_config(&c);
    let out = oci.run(&oci.id("tmpcopyup-userns")).success();
    assert_eq!(out.stdout, "from the image\n0\n", "{out:?}");
}

#[test]
fn ridmap_covers_mounts_beneath_idmap_does_not() {
    let oci = Oci::new("oci-ridmap");
    let src = idmap_source(&oci);
    let sub = src.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    // A tmpfs beneath the source (tmpfs can be idmapped since Linux 6.3).
    let st = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "nsbox-ridmap"])
        .arg(&sub)
        .status()
        .unwrap();
    assert!(st.success());
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.0)
                .status();
        }
    }
    let _unmount = Unmount(sub.clone());
    std::fs::write(sub.join("in-sub"), "x").unwrap();
    chown(&sub.join("in-sub"), 1000, 1000);
    let mut c = base_config(&[
        "stat",
        "-c",
        "%n %u",
        "/r/owned-1000",
        "/r/sub/in-sub",
        "/i/owned-1000",
        "/i/sub/in-sub",
    ]);
    let maps = json!([{"containerID": 1000, "hostID": 0, "size": 1}]);
    push_mount(
        &mut c,
        json!({"destination": "/r", "type": "bind", "source": src.display().to_string(),
               "options": ["rbind", "ridmap"], "uidMappings": maps, "gidMappings": maps}),
    );
    push_mount(
        &mut c,
        json!({"destination": "/i", "type": "bind", "source": src.display().to_string(),
               "options": ["rbind", "idmap"], "uidMappings": maps, "gidMappings": maps}),
    );
    oci.write_config(&c);
    let out = oci.run(&oci.id("ridmap")).success();
    assert_eq!(
        out.stdout, "/r/owned-1000 0\n/r/sub/in-sub 0\n/i/owned-1000 0\n/i/sub/in-sub 1000\n",
        "{out:?}"
    );
}

#[test]
fn bad_idmaps_fail_in_one_line_and_leave_nothing() {
    let oci = Oci::new("oci-idmap-bad");
    let src = idmap_source(&oci);
    let src_s = src.display().to_string();
    let one = json!([{"containerID": 0, "hostID": 1000, "size": 10}]);
    let overlapping = json!([{"containerID": 0, "hostID": 1000, "size": 10},
                             {"containerID": 5, "hostID": 5000, "size": 10}]);
    let cases: Vec<(Value, String)> = vec![
        (
            json!({"destination": "/d", "type": "bind", "source": src_s, "options": ["bind"],
                   "uidMappings": one}),
            "config.json: mounts[6].gidMappings: required with uidMappings".into(),
        ),
        (
            json!({"destination": "/d", "type": "bind", "source": src_s,
                   "options": ["bind", "idmap"]}),
            "config.json: mounts[6].uidMappings: required for idmap/ridmap without a \
             user namespace (whose maps it would take)"
                .into(),
        ),
        (
            json!({"destination": "/d", "type": "bind", "source": src_s, "options": ["bind"],
                   "uidMappings": overlapping, "gidMappings": one}),
            "config.json: mounts[6].uidMappings: invalid id map \"0 1000 10, 5 5000 10\": \
             ranges overlap inside the namespace"
                .into(),
        ),
        (
            json!({"destination": "/d", "type": "tmpfs", "source": "tmpfs",
                   "options": ["idmap"], "uidMappings": one, "gidMappings": one}),
            "config.json: mounts[6].options: idmapped mounts are bind mounts".into(),
        ),
        (
            // proc cannot be idmapped: the kernel says so, we say which mount.
            json!({"destination": "/d", "type": "bind", "source": "/proc", "options": ["bind"],
                   "uidMappings": one, "gidMappings": one}),
            "mounts[6]: idmapped mount of /proc on /d (its file system, or with ridmap one \
             mounted beneath it, cannot be idmapped): Invalid argument"
                .into(),
        ),
    ];
    for (i, (mount, want)) in cases.into_iter().enumerate() {
        let mut c = base_config(&["true"]);
        push_mount(&mut c, mount);
        oci.write_config(&c);
        let id = oci.id(&format!("idmap-bad{i}"));
        let out = oci.create(&id);
        assert_eq!(out.code, 1, "{out:?}");
        assert_eq!(
            out.stderr.trim_end(),
            format!("nsbox: create {id}: {want}"),
            "{out:?}"
        );
        assert!(!oci.state_dir(&id).exists(), "{id}");
    }
    assert!(!host_mounts_mention(&src));
}

#[test]
fn features_report_idmap() {
    let out = nsbox_testutil::run(NSBOX, ["features"]).success();
    let f: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        f["linux"]["mountExtensions"]["idmap"]["enabled"], true,
        "{f}"
    );
    let opts = f["mountOptions"].as_array().unwrap();
    for word in ["tmpcopyup", "copy-symlink", "idmap", "ridmap"] {
        assert!(opts.iter().any(|o| o == word), "{word}: {opts:?}");
    }
}
