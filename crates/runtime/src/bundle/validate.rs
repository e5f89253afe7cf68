//! The checks of a parsed config that serde cannot make: what must be
//! present, what must agree (a hostname needs a UTS namespace, id maps a
//! new user namespace...), which sysctls may be set, and what a container
//! without a mount namespace of its own may ask for.

use std::collections::HashSet;

use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Mount, Spec};

use super::{decode, field};
use crate::Error;

/// The checks serde cannot make: what must be present, what must agree.
pub fn validate(spec: &Spec) -> Result<(), Error> {
    oci_version(spec.version())?;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| field("process", "missing"))?;
    match process.args() {
        Some(args) if !args.is_empty() && !args[0].is_empty() => {}
        _ => return Err(field("process.args", "must name a program to run")),
    }
    if !process.cwd().is_absolute() {
        return Err(field(
            "process.cwd",
            format!("{:?} is not an absolute path", process.cwd()),
        ));
    }
    if let Some(env) = process.env() {
        for (i, e) in env.iter().enumerate() {
            if !e.contains('=') {
                return Err(field(
                    &format!("process.env[{i}]"),
                    format!("{e:?} is not NAME=VALUE"),
                ));
            }
        }
    }
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| field("linux", "missing"))?;
    if let Some(p) = linux.personality() {
        if let Err(i) = decode::persona(p) {
            let name = &p.flags().as_ref().expect("an index into flags")[i];
            return Err(field(
                &format!("linux.personality.flags[{i}]"),
                format!(
                    "unknown personality flag {name:?} (known: {})",
                    decode::personality_flag_names()
                ),
            ));
        }
    }
    let namespaces = linux.namespaces().clone().unwrap_or_default();
    let mut seen = HashSet::new();
    for (i, ns) in namespaces.iter().enumerate() {
        if !seen.insert(ns.typ()) {
            return Err(field(
                &format!("linux.namespaces[{i}].type"),
                format!("{} namespace listed twice", ns.typ()),
            ));
        }
        if let Some(p) = ns.path() {
            if !p.is_absolute() {
                return Err(field(
                    &format!("linux.namespaces[{i}].path"),
                    format!("{p:?} is not an absolute path"),
                ));
            }
        }
    }
    let new = |t: LinuxNamespaceType| {
        namespaces
            .iter()
            .any(|n| n.typ() == t && n.path().is_none())
    };
    if !has_mount_ns(spec) {
        shared_mount_ns(spec)?;
    }
    // A uts namespace of the container's own, new or joined by path: never
    // the host's.
    let has_uts = namespaces
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::Uts);
    if spec.hostname().is_some() && !has_uts {
        return Err(field(
            "hostname",
            "needs a uts namespace in linux.namespaces",
        ));
    }
    if spec.domainname().is_some() && !has_uts {
        return Err(field(
            "domainname",
            "needs a uts namespace in linux.namespaces",
        ));
    }
    time_offsets(spec, new(LinuxNamespaceType::Time))?;
    let listed = |t: LinuxNamespaceType| namespaces.iter().any(|n| n.typ() == t);
    let mut keys: Vec<&String> = linux.sysctl().iter().flatten().map(|(k, _)| k).collect();
    keys.sort(); // one answer for the same config, whatever the map order
    for key in keys {
        sysctl_allowed(key, listed).map_err(|why| field(&format!("linux.sysctl[{key:?}]"), why))?;
    }
    if new(LinuxNamespaceType::User) {
        for (name, maps) in [
            ("linux.uidMappings", linux.uid_mappings()),
            ("linux.gidMappings", linux.gid_mappings()),
        ] {
            if maps.as_ref().is_none_or(|m| m.is_empty()) {
                return Err(field(name, "required with a new user namespace"));
            }
        }
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if m.destination().as_os_str().is_empty() {
            return Err(field(&format!("mounts[{i}].destination"), "is empty"));
        }
        mount_extensions(i, m, listed(LinuxNamespaceType::User))?;
    }
    if let Some(p) = linux.rootfs_propagation() {
        if decode::propagation_flag(p).is_none() {
            return Err(field(
                "linux.rootfsPropagation",
                format!("unknown propagation {p:?}"),
            ));
        }
    }
    for (i, d) in linux.devices().iter().flatten().enumerate() {
        if !d.path().starts_with("/dev/") {
            return Err(field(
                &format!("linux.devices[{i}].path"),
                format!("{:?} is not under /dev", d.path()),
            ));
        }
    }
    crate::netdevices::validate(linux).map_err(|(name, why)| field(&name, why))?;
    intel_rdt(linux)?;
    hook_paths(spec)?;
    super::sched::check(spec)?; // scheduler, I/O priority, memory policy, CPU lists
    Ok(())
}

/// `linux.intelRdt`: nsbox makes no resctrl groups, so the field is
/// refused, in one line saying why: where the host has no resctrl file
/// system mounted, as runc refuses it ("Intel RDT is not enabled"); where
/// it has one, because nsbox would not apply it (`nsbox features` says
/// `intelRdt.enabled: false`). Never run without the asked-for isolation.
fn intel_rdt(linux: &oci_spec::runtime::Linux) -> Result<(), Error> {
    if linux.intel_rdt().is_none() {
        return Ok(());
    }
    let why = match resctrl_mount() {
        None => "Intel RDT is not enabled on this host (no resctrl file system is mounted at \
                 /sys/fs/resctrl or elsewhere), and nsbox does not apply it"
            .to_string(),
        Some(at) => format!(
            "nsbox does not apply Intel RDT (it makes no resctrl groups; the host's \
             resctrl is mounted at {}); remove the field or use runc or crun",
            at.display()
        ),
    };
    Err(field("linux.intelRdt", why))
}

/// Where the resctrl file system is mounted, runc's way: /sys/fs/resctrl
/// if it is one, else the first resctrl mount in /proc/self/mountinfo.
fn resctrl_mount() -> Option<std::path::PathBuf> {
    let default = std::path::Path::new("/sys/fs/resctrl");
    if rustix::fs::statfs(default).is_ok_and(|st| st.f_type == libc::RDTGROUP_SUPER_MAGIC) {
        return Some(default.to_path_buf());
    }
    let info = std::fs::read("/proc/self/mountinfo").ok()?;
    let found = nsbox_ns::mountinfo::entries(&info)
        .filter_map(|(_, entry)| entry.ok())
        .find(|entry| entry.fs_type == b"resctrl")
        .map(|entry| entry.mount_point());
    found
}

/// A hook's `path` MUST be absolute (config.md, "extends execv's path"):
/// refused before anything is made, rather than failing at the hook.
fn hook_paths(spec: &Spec) -> Result<(), Error> {
    let Some(hooks) = spec.hooks() else {
        return Ok(());
    };
    #[allow(deprecated)] // prestart: still in the spec, still run
    let lists = [
        ("prestart", hooks.prestart()),
        ("createRuntime", hooks.create_runtime()),
        ("createContainer", hooks.create_container()),
        ("startContainer", hooks.start_container()),
        ("poststart", hooks.poststart()),
        ("poststop", hooks.poststop()),
    ];
    for (name, list) in lists {
        for (i, h) in list.iter().flatten().enumerate() {
            if !h.path().is_absolute() {
                return Err(field(
                    &format!("hooks.{name}[{i}].path"),
                    format!("{:?} is not an absolute path", h.path()),
                ));
            }
        }
    }
    Ok(())
}

/// `ociVersion` MUST be SemVer 2.0.0 (config.md), and nsbox reads the 1.x
/// schema: anything else is refused, as youki does (runc and crun accept
/// any string, and would read a 2.0 config as if it were 1.x).
fn oci_version(version: &str) -> Result<(), Error> {
    let major = semver_major(version).ok_or_else(|| {
        field(
            "ociVersion",
            format!(
                "{version:?} is not a SemVer 2.0.0 version (MAJOR.MINOR.PATCH, e.g. \"1.2.0\")"
            ),
        )
    })?;
    if major != "1" {
        return Err(field(
            "ociVersion",
            format!("{version:?}: nsbox reads runtime-spec 1.x configs"),
        ));
    }
    Ok(())
}

/// The MAJOR of a SemVer 2.0.0 version (semver.org's grammar: three
/// numbers without leading zeros, an optional `-pre.release` whose numeric
/// parts have none either, an optional `+build.meta`); `None` for anything
/// else.
fn semver_major(v: &str) -> Option<&str> {
    let ident_ok =
        |id: &str| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let number_ok = |n: &str| {
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n == "0" || !n.starts_with('0'))
    };
    let (rest, build) = match v.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (v, None),
    };
    if build.is_some_and(|b| !b.split('.').all(ident_ok)) {
        return None;
    }
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let pre_ok =
        |id: &str| ident_ok(id) && (!id.bytes().all(|b| b.is_ascii_digit()) || number_ok(id));
    if pre.is_some_and(|p| !p.split('.').all(pre_ok)) {
        return None;
    }
    let parts: Vec<&str> = core.split('.').collect();
    (parts.len() == 3 && parts.iter().all(|n| number_ok(n))).then(|| parts[0])
}

/// runc's and crun's mount extensions on `mounts[i]`: each on the kind of
/// mount it is for; idmapped mounts with both maps, valid, or a user
/// namespace (new or joined) whose maps they take (`userns`).
fn mount_extensions(i: usize, m: &Mount, userns: bool) -> Result<(), Error> {
    let options = m.options().as_deref().unwrap_or(&[]);
    let ext = decode::MountExtensions::of(options);
    let typ = m.typ().as_deref().unwrap_or("");
    let bind = typ == "bind" || options.iter().any(|o| o == "bind" || o == "rbind");
    let at = |what: &str| format!("mounts[{i}].{what}");
    if ext.tmpcopyup && typ != "tmpfs" {
        return Err(field(&at("options"), "tmpcopyup is for tmpfs mounts"));
    }
    if ext.copy_symlink && !bind {
        return Err(field(&at("options"), "copy-symlink is for bind mounts"));
    }
    let has = |maps: &Option<Vec<LinuxIdMapping>>| maps.as_ref().is_some_and(|m| !m.is_empty());
    let (uid, gid) = (has(m.uid_mappings()), has(m.gid_mappings()));
    if ext.idmap.is_none() && !uid && !gid {
        return Ok(());
    }
    if !bind {
        return Err(field(&at("options"), "idmapped mounts are bind mounts"));
    }
    match (uid, gid) {
        (true, false) => return Err(field(&at("gidMappings"), "required with uidMappings")),
        (false, true) => return Err(field(&at("uidMappings"), "required with gidMappings")),
        (false, false) if !userns => {
            return Err(field(
                &at("uidMappings"),
                "required for idmap/ridmap without a user namespace (whose maps it would take)",
            ))
        }
        _ => {}
    }
    for (name, maps) in [
        ("uidMappings", m.uid_mappings()),
        ("gidMappings", m.gid_mappings()),
    ] {
        let ranges: Vec<nsbox_ns::IdRange> = maps
            .iter()
            .flatten()
            .map(|r| nsbox_ns::IdRange {
                inside: r.container_id(),
                outside: r.host_id(),
                count: r.size(),
            })
            .collect();
        if !ranges.is_empty() {
            nsbox_ns::idmap::validate(&ranges).map_err(|e| field(&at(name), e.to_string()))?;
        }
    }
    Ok(())
}

/// `linux.timeOffsets`: known clocks, nanoseconds below a second, and a
/// new time namespace to hold them (one joined by path has its offsets
/// frozen already; the host's must not change).
fn time_offsets(spec: &Spec, new_time: bool) -> Result<(), Error> {
    let Some(map) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref())
    else {
        return Ok(());
    };
    if map.is_empty() {
        return Ok(());
    }
    if !new_time {
        return Err(field(
            "linux.timeOffsets",
            "needs a new time namespace in linux.namespaces",
        ));
    }
    let mut clocks: Vec<_> = map.iter().collect();
    clocks.sort_by_key(|(k, _)| k.as_str());
    for (clock, off) in clocks {
        if !decode::CLOCKS.contains(&clock.as_str()) {
            return Err(field(
                &format!("linux.timeOffsets.{clock}"),
                "unknown clock (known: monotonic, boottime)",
            ));
        }
        if off.nanosecs().is_some_and(|n| n >= 1_000_000_000) {
            return Err(field(
                &format!("linux.timeOffsets.{clock}.nanosecs"),
                "must be below 1000000000",
            ));
        }
    }
    Ok(())
}

/// Whether a `linux.sysctl` key may be set, as runc decides: only sysctls
/// the kernel keeps per namespace, and only when the container has that
/// namespace (`listed`: new or joined); anything else would change the
/// host. `Err` says why not.
fn sysctl_allowed(key: &str, listed: impl Fn(LinuxNamespaceType) -> bool) -> Result<(), String> {
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if key.is_empty() || key.split('.').any(|c| c.is_empty() || c == "..") || key.contains('/') {
        return Err("not a sysctl name (dot-separated, as in `sysctl -a`)".into());
    }
    let (ns, name) = if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        (LinuxNamespaceType::Ipc, "an ipc")
    } else if key.starts_with("net.") {
        (LinuxNamespaceType::Network, "a network")
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        (LinuxNamespaceType::Uts, "a uts")
    } else {
        return Err(
            "not a namespaced sysctl (setting it would change the host; only \
             ipc, network and uts ones are allowed)"
                .into(),
        );
    };
    if listed(ns) {
        Ok(())
    } else {
        Err(format!(
            "needs {name} namespace in linux.namespaces (without one it is the host's)"
        ))
    }
}

/// Whether the container has a mount namespace of its own (new or joined
/// by path). Without one it shares the caller's: init chroots into the
/// rootfs instead of pivoting, and changes no mount (see
/// [`shared_mount_ns`]).
pub fn has_mount_ns(spec: &Spec) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == LinuxNamespaceType::Mount))
}

/// Without a mount namespace every mount would land in the host's mount
/// table (runc's init does exactly that: it makes the host's `/` rslave and
/// leaves the config's mounts under the rootfs on the host). nsbox changes
/// no mount there: what can only be done by mounting is refused when
/// asking for it is explicit and changes the container's safety (masked
/// and read-only paths, as runc refuses them; a read-only root; a root
/// propagation; a pty, which comes from the container's devpts), and
/// `mounts` and `linux.devices` are ignored with a warning
/// ([`ignored_without_mount_ns`]), so configs written for runc still run.
fn shared_mount_ns(spec: &Spec) -> Result<(), Error> {
    const WHY: &str = "needs a mount namespace in linux.namespaces \
                       (without one the host's mounts would change)";
    let linux = spec.linux().as_ref();
    let listed = |v: Option<&Vec<String>>| v.is_some_and(|v| !v.is_empty());
    let refused = [
        (
            listed(linux.and_then(|l| l.masked_paths().as_ref())),
            "linux.maskedPaths",
        ),
        (
            listed(linux.and_then(|l| l.readonly_paths().as_ref())),
            "linux.readonlyPaths",
        ),
        (
            linux.is_some_and(|l| l.rootfs_propagation().is_some()),
            "linux.rootfsPropagation",
        ),
        (
            spec.root()
                .as_ref()
                .and_then(|r| r.readonly())
                .unwrap_or(false),
            "root.readonly",
        ),
        (
            spec.process()
                .as_ref()
                .and_then(|p| p.terminal())
                .unwrap_or(false),
            "process.terminal",
        ),
    ];
    match refused.into_iter().find(|(set, _)| *set) {
        Some((_, name)) => Err(field(name, WHY)),
        None => Ok(()),
    }
}

/// The warnings for a config without a mount namespace: its `mounts` and
/// `linux.devices` are not made (they would be the host's).
pub fn ignored_without_mount_ns(spec: &Spec) -> Vec<Error> {
    if has_mount_ns(spec) {
        return Vec::new();
    }
    let devices = spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().as_ref())
        .is_some_and(|d| !d.is_empty());
    [
        (
            spec.mounts().as_ref().is_some_and(|m| !m.is_empty()),
            "mounts",
        ),
        (devices, "linux.devices"),
    ]
    .into_iter()
    .filter(|(set, _)| *set)
    .map(|(_, field)| Error::NoMountNs { field })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::super::tests::MINIMAL;
    use super::*;

    #[test]
    fn a_hook_path_must_be_absolute() {
        let text = MINIMAL.replace(
            r#""root":"#,
            r#""hooks": {"poststop": [{"path": "/bin/true"}, {"path": "true"}]}, "root":"#,
        );
        let err = validate(&parse(&text).unwrap()).unwrap_err().to_string();
        assert_eq!(
            err,
            r#"config.json: hooks.poststop[1].path: "true" is not an absolute path"#
        );
    }

    #[test]
    fn oci_version_is_semver_1x() {
        for good in [
            "1.0.0",
            "1.2.1",
            "1.0.2-dev",
            "1.3.0-rc.1+abc.5",
            "1.10.0-0.3.7",
        ] {
            oci_version(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in [
            "",
            "1",
            "1.0",
            "1.0.0.0",
            "01.0.0",
            "1.02.0",
            "v1.0.0",
            "1.0.0-",
            "1.0.0-01",
            "1.0.0+",
            "1.0.0-a..b",
            "1.0.0 ",
            "one.two.three",
        ] {
            let err = oci_version(bad).unwrap_err().to_string();
            assert!(
                err.contains("is not a SemVer 2.0.0 version"),
                "{bad:?}: {err}"
            );
        }
        assert_eq!(
            oci_version("2.0.0").unwrap_err().to_string(),
            "config.json: ociVersion: \"2.0.0\": nsbox reads runtime-spec 1.x configs"
        );
        assert!(oci_version("0.1.0").is_err());
    }

    #[test]
    fn sysctls_only_namespaced_with_their_namespace() {
        let only = |kinds: &'static [LinuxNamespaceType]| move |t| kinds.contains(&t);
        use LinuxNamespaceType::*;
        assert!(sysctl_allowed("net.ipv4.ip_forward", only(&[Network])).is_ok());
        assert!(sysctl_allowed("kernel.shmmax", only(&[Ipc])).is_ok());
        assert!(sysctl_allowed("fs.mqueue.msg_max", only(&[Ipc])).is_ok());
        assert!(sysctl_allowed("kernel.hostname", only(&[Uts])).is_ok());
        let e = sysctl_allowed("kernel.shmmax", only(&[Network])).unwrap_err();
        assert!(e.starts_with("needs an ipc namespace"), "{e}");
        let e = sysctl_allowed("net.core.somaxconn", only(&[])).unwrap_err();
        assert!(e.starts_with("needs a network namespace"), "{e}");
        let e = sysctl_allowed("vm.swappiness", only(&[Network, Ipc, Uts])).unwrap_err();
        assert!(e.starts_with("not a namespaced sysctl"), "{e}");
        for bad in ["", "net..x", "net/ipv4/ip_forward", "net.ipv4."] {
            assert!(sysctl_allowed(bad, only(&[Network])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn time_offsets_need_a_new_time_namespace() {
        let with = |ns: &str, offsets: &str| {
            let text = MINIMAL.replace(
                r#"{"type": "mount"}]}"#,
                &format!(r#"{{"type": "mount"}}{ns}], "timeOffsets": {offsets}}}"#),
            );
            validate(&parse(&text).unwrap()).map_err(|e| e.to_string())
        };
        let ok = r#"{"boottime": {"secs": 86400}}"#;
        assert!(with(r#", {"type": "time"}"#, ok).is_ok());
        let e = with("", ok).unwrap_err();
        assert!(
            e.contains("linux.timeOffsets: needs a new time namespace"),
            "{e}"
        );
        let e = with(r#", {"type": "time"}"#, r#"{"realtime": {"secs": 1}}"#).unwrap_err();
        assert!(
            e.contains("linux.timeOffsets.realtime: unknown clock"),
            "{e}"
        );
        let e = with(
            r#", {"type": "time"}"#,
            r#"{"monotonic": {"secs": 1, "nanosecs": 1000000000}}"#,
        )
        .unwrap_err();
        assert!(e.contains("linux.timeOffsets.monotonic.nanosecs"), "{e}");
    }

    #[test]
    fn mount_extensions_on_their_kind_of_mount() {
        let maps = r#"[{"containerID": 0, "hostID": 1000, "size": 1}]"#;
        let cases = [
            (
                r#"{"destination": "/t", "type": "tmpfs", "options": ["tmpcopyup"]}"#.to_string(),
                None,
            ),
            (
                r#"{"destination": "/t", "type": "proc", "options": ["tmpcopyup"]}"#.into(),
                Some("mounts[0].options: tmpcopyup is for tmpfs mounts"),
            ),
            (
                r#"{"destination": "/t", "type": "tmpfs", "options": ["copy-symlink"]}"#.into(),
                Some("mounts[0].options: copy-symlink is for bind mounts"),
            ),
            (
                format!(
                    r#"{{"destination": "/t", "source": "/s", "options": ["rbind", "ridmap"],
                         "uidMappings": {maps}, "gidMappings": {maps}}}"#
                ),
                None,
            ),
            (
                format!(r#"{{"destination": "/t", "type": "bind", "gidMappings": {maps}}}"#),
                Some("mounts[0].uidMappings: required with gidMappings"),
            ),
            (
                r#"{"destination": "/t", "type": "bind", "options": ["idmap"]}"#.into(),
                Some("mounts[0].uidMappings: required for idmap/ridmap without a user namespace"),
            ),
        ];
        for (mount, want) in cases {
            let text = MINIMAL.replace(
                r#""ociVersion""#,
                &format!(r#""mounts": [{mount}], "ociVersion""#),
            );
            let got = validate(&parse(&text).unwrap());
            match want {
                None => assert!(got.is_ok(), "{mount}: {got:?}"),
                Some(want) => {
                    let err = got.unwrap_err().to_string();
                    assert!(err.contains(want), "{mount}: {err}");
                }
            }
        }
        // With a user namespace, idmap takes its maps.
        let text = MINIMAL
            .replace(
                r#""ociVersion""#,
                r#""mounts": [{"destination": "/t", "type": "bind", "options": ["idmap"]}], "ociVersion""#,
            )
            .replace(
                r#"{"type": "mount"}]"#,
                &format!(
                    r#"{{"type": "mount"}}, {{"type": "user"}}], "uidMappings": {maps}, "gidMappings": {maps}"#
                ),
            );
        validate(&parse(&text).unwrap()).unwrap();
    }

    #[test]
    fn minimal_config_is_valid() {
        let spec = parse(MINIMAL).unwrap();
        validate(&spec).unwrap();
    }

    #[test]
    fn semantic_checks() {
        let cases = [
            (r#""cwd": "/""#, r#""cwd": "rel""#, "process.cwd"),
            (
                r#", {"type": "mount"}]"#,
                r#"], "maskedPaths": ["/proc/kcore"]"#,
                "linux.maskedPaths: needs a mount namespace",
            ),
            (r#"{"type": "pid"}"#, r#"{"type": "mount"}"#, "listed twice"),
            (r#""args": ["sh"]"#, r#""args": []"#, "process.args"),
            (
                r#"{"type": "pid"}"#,
                r#"{"type": "user"}"#,
                "linux.uidMappings",
            ),
        ];
        for (from, to, want) in cases {
            let spec = parse(&MINIMAL.replace(from, to)).unwrap();
            let err = validate(&spec).unwrap_err().to_string();
            assert!(err.contains(want), "{to}: {err}");
        }
        // Without a mount namespace, only what needs no mount is allowed.
        let shared = MINIMAL.replace(r#", {"type": "mount"}"#, "");
        for (from, to, want) in [
            (
                r#""linux": {"#,
                r#""linux": {"maskedPaths": ["/a"], "#,
                "linux.maskedPaths",
            ),
            (
                r#""linux": {"#,
                r#""linux": {"readonlyPaths": ["/a"], "#,
                "linux.readonlyPaths",
            ),
            (
                r#""linux": {"#,
                r#""linux": {"rootfsPropagation": "shared", "#,
                "linux.rootfsPropagation",
            ),
            (
                r#""path": "rootfs""#,
                r#""path": "rootfs", "readonly": true"#,
                "root.readonly",
            ),
            (
                r#""cwd": "/""#,
                r#""cwd": "/", "terminal": true"#,
                "process.terminal",
            ),
        ] {
            let spec = parse(&shared.replace(from, to)).unwrap();
            let err = validate(&spec).unwrap_err().to_string();
            assert!(
                err.contains(&format!("{want}: needs a mount namespace")),
                "{err}"
            );
        }
        let spec = parse(&shared.replace(
            r#""linux": {"#,
            r#""mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}], "linux": {"#,
        ))
        .unwrap();
        validate(&spec).unwrap();
        let warned: Vec<String> = ignored_without_mount_ns(&spec)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(
            warned[0].starts_with("config.json: mounts: not applied"),
            "{warned:?}"
        );
        let text = MINIMAL.replace(r#""ociVersion""#, r#""hostname": "h", "ociVersion""#);
        let err = validate(&parse(&text).unwrap()).unwrap_err().to_string();
        assert!(err.contains("hostname: needs a uts namespace"), "{err}");
    }
}
