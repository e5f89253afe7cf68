//! `features`: what this runtime supports, in the OCI features shape
//! runc prints. Only what works is claimed.

use std::collections::HashMap;

use oci_spec::runtime::{
    Apparmor, Cgroup, Features, IDMap, IntelRdt, LinuxFeature, LinuxNamespaceType, MemoryPolicy,
    MountExtensions, NetDevices, Selinux,
};

use crate::bundle::sched;

/// Mount options `mounts[].options` understands (see `init::mounts`).
pub const MOUNT_OPTIONS: &[&str] = &[
    "async",
    "atime",
    "bind",
    "copy-symlink",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "idmap",
    "lazytime",
    "loud",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "nosymfollow",
    "private",
    "ratime",
    "rbind",
    "rdev",
    "rdiratime",
    "relatime",
    "remount",
    "rexec",
    "ridmap",
    "rnoatime",
    "rnodev",
    "rnodiratime",
    "rnoexec",
    "rnorelatime",
    "rnostrictatime",
    "rnosuid",
    "rnosymfollow",
    "ro",
    "rprivate",
    "rrelatime",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "rstrictatime",
    "rsuid",
    "rsymfollow",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "sync",
    "tmpcopyup",
    "unbindable",
];

/// The newest OCI runtime-spec version this runtime implements.
pub const OCI_VERSION_MAX: &str = "1.3.0";

pub fn features() -> Features {
    let mut linux = LinuxFeature::default();
    linux.set_namespaces(Some(vec![
        LinuxNamespaceType::Cgroup,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Network,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Time,
        LinuxNamespaceType::User,
        LinuxNamespaceType::Uts,
    ]));
    let mut capabilities: Vec<String> = caps::all().iter().map(|c| c.to_string()).collect();
    capabilities.sort();
    linux.set_capabilities(Some(capabilities));
    // cgroups through nsbox-cgroups (cgroupfs: v1, v2 and hybrid hosts, rdma
    // included; no systemd driver).
    let mut cgroup = Cgroup::default();
    cgroup.set_v1(Some(true));
    cgroup.set_v2(Some(true));
    cgroup.set_systemd(Some(false));
    cgroup.set_systemd_user(Some(false));
    cgroup.set_rdma(Some(true));
    linux.set_cgroup(Some(cgroup));
    linux.set_seccomp(Some(crate::seccomp::features()));
    // Labels are applied when the host runs the LSM (see `lsm`).
    let mut apparmor = Apparmor::default();
    apparmor.set_enabled(Some(crate::lsm::apparmor_enabled()));
    linux.set_apparmor(Some(apparmor));
    let mut selinux = Selinux::default();
    selinux.set_enabled(Some(crate::lsm::selinux_enabled()));
    linux.set_selinux(Some(selinux));
    let mut rdt = IntelRdt::default();
    rdt.set_enabled(Some(false));
    linux.set_intel_rdt(Some(rdt));
    let mut idmap = IDMap::default();
    // Probed: a kernel with mount_setattr's MOUNT_ATTR_IDMAP (5.12+).
    idmap.set_enabled(Some(nsbox_ns::mountattr::idmap_supported()));
    let mut ext = MountExtensions::default();
    ext.set_idmap(Some(idmap));
    linux.set_mount_extensions(Some(ext));
    // linux.memoryPolicy: every mode and flag (set_mempolicy in init and exec).
    let mut mempolicy = MemoryPolicy::default();
    mempolicy.set_modes(Some(strings(&sched::MEMPOLICY_MODES)));
    mempolicy.set_flags(Some(strings(&sched::MEMPOLICY_FLAGS)));
    linux.set_memory_policy(Some(mempolicy));
    // linux.netDevices: moved (and renamed) at create (`netdevices`); the
    // recursive mount options are in MOUNT_OPTIONS.
    let mut net_devices = NetDevices::default();
    net_devices.set_enabled(Some(true));
    linux.set_net_devices(Some(net_devices));

    let mut f = Features::default();
    f.set_oci_version_min("1.0.0".to_string());
    f.set_oci_version_max(OCI_VERSION_MAX.to_string());
    f.set_hooks(Some(
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop",
        ]
        .map(String::from)
        .to_vec(),
    ));
    f.set_mount_options(Some(MOUNT_OPTIONS.iter().map(|s| s.to_string()).collect()));
    f.set_linux(Some(linux));
    f.set_annotations(Some(annotations()));
    f
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

/// The version, and what the features schema has no field for: the
/// process attributes nsbox applies (runtime-spec 1.2's scheduler, I/O
/// priority and exec CPU affinity), with the words it accepts.
fn annotations() -> HashMap<String, String> {
    [
        ("io.github.nsbox.version", env!("CARGO_PKG_VERSION")),
        (
            "io.github.nsbox.process.scheduler.policies",
            "SCHED_OTHER,SCHED_BATCH,SCHED_IDLE,SCHED_FIFO,SCHED_RR,SCHED_DEADLINE",
        ),
        (
            "io.github.nsbox.process.scheduler.flags",
            "SCHED_FLAG_RESET_ON_FORK,SCHED_FLAG_RECLAIM,SCHED_FLAG_DL_OVERRUN,\
             SCHED_FLAG_KEEP_POLICY,SCHED_FLAG_KEEP_PARAMS",
        ),
        (
            "io.github.nsbox.process.ioPriority.classes",
            "IOPRIO_CLASS_RT,IOPRIO_CLASS_BE,IOPRIO_CLASS_IDLE",
        ),
        ("io.github.nsbox.process.execCPUAffinity", "initial,final"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn claims_what_is_built() {
        let json = serde_json::to_value(super::features()).unwrap();
        assert_eq!(json["ociVersionMin"], "1.0.0");
        assert_eq!(json["linux"]["seccomp"]["enabled"], true);
        let archs = json["linux"]["seccomp"]["archs"].as_array().unwrap();
        assert!(archs.iter().any(|a| a == "SCMP_ARCH_X86_64"), "{archs:?}");
        let flags = json["linux"]["seccomp"]["supportedFlags"]
            .as_array()
            .unwrap();
        assert!(
            flags.iter().any(|f| f == "SECCOMP_FILTER_FLAG_LOG"),
            "{flags:?}"
        );
        assert!(json["mountOptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o == "rbind"));
        assert_eq!(json["linux"]["netDevices"]["enabled"], true);
        for word in [
            "tmpcopyup",
            "copy-symlink",
            "idmap",
            "ridmap",
            "rro",
            "rnosuid",
        ] {
            assert!(
                json["mountOptions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|o| o == word),
                "{word}"
            );
        }
        assert_eq!(json["linux"]["mountExtensions"]["idmap"]["enabled"], true);
        assert_eq!(
            json["linux"]["memoryPolicy"]["modes"]
                .as_array()
                .unwrap()
                .len(),
            7
        );
        assert!(json["linux"]["memoryPolicy"]["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "MPOL_F_STATIC_NODES"));
        let ann = &json["annotations"];
        assert!(ann["io.github.nsbox.process.scheduler.policies"]
            .as_str()
            .unwrap()
            .contains("SCHED_DEADLINE"));
        assert_eq!(
            ann["io.github.nsbox.process.execCPUAffinity"],
            "initial,final"
        );
        assert!(json["linux"]["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "CAP_SYS_ADMIN"));
    }
}
