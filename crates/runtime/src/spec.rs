//! `spec`: runc's default config.json (and its `--rootless` variant), built
//! as oci-spec's [`Spec`] so that what we write is what we would read, plus
//! nsbox's default seccomp profile (runc's has none), chosen for the
//! process's capabilities (see `seccomp::default_for`).

use std::path::Path;

use oci_spec::runtime::{LinuxIdMapping, LinuxIdMappingBuilder, LinuxNamespaceType, Mount, Spec};

use crate::Error;

/// runc's example config: `sh` on a terminal, a read-only rootfs, the
/// five namespaces, three capabilities, no_new_privs, masked and read-only
/// /proc paths.
const DEFAULT: &str = r#"{
  "ociVersion": "1.3.0",
  "process": {
    "terminal": true,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "nsbox",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [
      {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}
    ],
    "maskedPaths": [
      "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
      "/proc/scsi"
    ],
    "readonlyPaths": [
      "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
    ]
  }
}"#;

/// The default spec, with the default seccomp profile for its capabilities.
pub fn default_spec() -> Spec {
    let mut spec = crate::bundle::parse(DEFAULT).expect("the built-in spec parses");
    let seccomp = crate::seccomp::default_for(
        spec.process()
            .as_ref()
            .and_then(|p| p.capabilities().as_ref()),
    );
    if let Some(linux) = spec.linux_mut().as_mut() {
        linux.set_seccomp(Some(seccomp));
    }
    spec
}

/// A user namespace's maps for `caller`: 0 inside is the caller, and with
/// a subordinate range (`/etc/subuid`, `/etc/subgid`: [`nsbox_ns::subid`])
/// 1..N inside are that range, written through newuidmap/newgidmap.
pub fn id_mappings(caller: u32, sub: Option<nsbox_ns::subid::SubRange>) -> Vec<LinuxIdMapping> {
    let map = |inside: u32, host: u32, size: u32| {
        LinuxIdMappingBuilder::default()
            .container_id(inside)
            .host_id(host)
            .size(size)
            .build()
            .expect("all fields set")
    };
    let mut maps = vec![map(0, caller, 1)];
    maps.extend(sub.map(|r| map(1, r.start, r.count)));
    maps
}

/// runc's `--rootless` changes: a user namespace with `uid_maps` and
/// `gid_maps` ([`id_mappings`]), no network namespace (an unprivileged user
/// could not wire it), /sys bound from the host instead of mounted, no
/// uid=/gid= mount options, no resources.
pub fn rootless(
    mut spec: Spec,
    uid_maps: Vec<LinuxIdMapping>,
    gid_maps: Vec<LinuxIdMapping>,
) -> Spec {
    let Some(linux) = spec.linux_mut().as_mut() else {
        return spec;
    };
    let mut namespaces: Vec<_> = linux
        .namespaces()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| {
            !matches!(
                n.typ(),
                LinuxNamespaceType::Network | LinuxNamespaceType::User
            )
        })
        .collect();
    let mut user = oci_spec::runtime::LinuxNamespace::default();
    user.set_typ(LinuxNamespaceType::User);
    namespaces.push(user);
    linux.set_namespaces(Some(namespaces));
    linux.set_uid_mappings(Some(uid_maps));
    linux.set_gid_mappings(Some(gid_maps));
    linux.set_resources(None);
    let mounts: Vec<Mount> = spec
        .mounts()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|mut m| {
            if m.destination() == Path::new("/sys") {
                m.set_typ(Some("none".into()));
                m.set_source(Some("/sys".into()));
                m.set_options(Some(
                    ["rbind", "nosuid", "noexec", "nodev", "ro"]
                        .map(String::from)
                        .to_vec(),
                ));
            } else if let Some(opts) = m.options().clone() {
                m.set_options(Some(
                    opts.into_iter()
                        .filter(|o| !o.starts_with("uid=") && !o.starts_with("gid="))
                        .collect(),
                ));
            }
            m
        })
        .collect();
    spec.set_mounts(Some(mounts));
    spec
}

/// Writes `DIR/config.json`, refusing to overwrite one (as runc does).
pub fn write(bundle: &Path, spec: &Spec) -> Result<(), Error> {
    let path = bundle.join("config.json");
    if path.exists() {
        return Err(Error::SpecExists { path });
    }
    let text = serde_json::to_string_pretty(spec).map_err(|e| Error::WriteSpec {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(&path, text + "\n").map_err(|source| Error::WriteSpec { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_runc_shaped() {
        let spec = default_spec();
        crate::bundle::validate(&{
            let mut s = spec.clone();
            s.process_mut().as_mut().unwrap().set_terminal(Some(false));
            s
        })
        .unwrap();
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(json["process"]["noNewPrivileges"], true);
        assert_eq!(json["linux"]["namespaces"].as_array().unwrap().len(), 5);
        assert_eq!(json["linux"]["maskedPaths"][2], "/proc/kcore");
        let names = json["linux"]["seccomp"]["syscalls"][0]["names"].to_string();
        for call in ["keyctl", "finit_module", "unshare", "kexec_load"] {
            assert!(names.contains(call), "{call}: {names}");
        }
    }

    #[test]
    fn rootless_maps_caller_and_drops_netns() {
        let range = nsbox_ns::subid::SubRange {
            start: 100_000,
            count: 65536,
        };
        let spec = rootless(
            default_spec(),
            id_mappings(1000, Some(range)),
            id_mappings(1000, None),
        );
        let json = serde_json::to_value(&spec).unwrap();
        let ns: Vec<&str> = json["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        assert!(ns.contains(&"user") && !ns.contains(&"network"), "{ns:?}");
        assert_eq!(json["linux"]["uidMappings"][0]["hostID"], 1000);
        let sub = &json["linux"]["uidMappings"][1];
        assert_eq!(
            (&sub["containerID"], &sub["hostID"], &sub["size"]),
            (&1.into(), &100_000.into(), &65536.into())
        );
        assert_eq!(json["linux"]["gidMappings"].as_array().unwrap().len(), 1);
        let pts = &json["mounts"][2]["options"];
        assert!(!pts.as_array().unwrap().iter().any(|o| o == "gid=5"));
        assert!(json["linux"]["seccomp"]["syscalls"].is_array());
    }
}
