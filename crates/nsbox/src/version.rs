//! What `nsbox --version` prints, as runc does: the version line dockerd
//! parses (`nsbox version X`, kept first and exact), then the commit, the
//! OCI spec version, the compiler, the libseccomp this process loaded and
//! what the binary was built with (crun's `+FEATURE` words).

/// The parts nsbox is built with, in crun's style: `+` built in. Kept in
/// step with the crates this binary links (one word per mechanism).
const FEATURES: &[&str] = &[
    "+SECCOMP",
    "+CGROUPFS",
    "+CGROUPS-V1",
    "+CGROUPS-V2",
    "+IDMAP",
    "+FUSE-PROC-VIEW",
    "+NETLINK",
    "+NFTABLES",
    "+CNI",
];

/// The text after `nsbox ` for `--version` (clap prefixes the name).
pub fn long() -> String {
    format!(
        "version {}\ncommit: {}\nspec: {}\nrust: {}\nlibseccomp: {}\nfeatures: {}",
        env!("CARGO_PKG_VERSION"),
        env!("NSBOX_COMMIT"),
        nsbox_runtime::features::OCI_VERSION_MAX,
        env!("NSBOX_RUSTC"),
        libseccomp_version(),
        FEATURES.join(" "),
    )
}

/// The version of the libseccomp loaded at run time (the one that compiles
/// the filters), not the one built against.
fn libseccomp_version() -> String {
    match libseccomp::ScmpVersion::current() {
        Ok(v) => format!("{}.{}.{}", v.major, v.minor, v.micro),
        Err(_) => "unknown".to_string(),
    }
}
