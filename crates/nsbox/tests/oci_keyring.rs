//! The session keyring: as under runc, each container joins a new session
//! keyring named `_ses.<id>` (exec'd processes join the same one), unless
//! created with `--no-new-keyring`. Seen from the host in /proc/keys, which
//! lists every keyring root can view.

mod oci_common;

use oci_common::{base_config, Oci};

/// The /proc/keys lines of keyrings named `_ses.<id>`.
fn session_keyrings(id: &str) -> Vec<String> {
    let needle = format!(" _ses.{id}:");
    std::fs::read_to_string("/proc/keys")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&needle))
        .map(str::to_string)
        .collect()
}

/// base_config with /proc/keys readable inside (runc's default masks it).
fn config(args: &[&str]) -> serde_json::Value {
    let mut c = base_config(args);
    let masked = c["linux"]["maskedPaths"].as_array_mut().unwrap();
    masked.retain(|p| p != "/proc/keys");
    c
}

#[test]
fn each_container_gets_its_own_session_keyring() {
    let oci = Oci::new("oci-keyring");
    oci.write_config(&config(&["sleep", "1000"]));
    let id = oci.id("keyring");
    oci.create_detached(&id);
    let rings = session_keyrings(&id);
    assert_eq!(rings.len(), 1, "{rings:?}");
    // Its owner (root here) may search it, so exec can join it by name.
    let perm = rings[0].split_whitespace().nth(4).unwrap();
    let perm = u32::from_str_radix(perm, 16).unwrap();
    assert_ne!(perm & 0x0008_0000, 0, "{rings:?}");
    // The container sees it; exec joins the same keyring (no second one).
    let out = oci.nsbox(&["exec", &id, "cat", "/proc/keys"]).success();
    assert!(out.stdout.contains(&format!(" _ses.{id}:")), "{out:?}");
    assert_eq!(session_keyrings(&id).len(), 1);
    oci.nsbox(&["delete", "--force", &id]).success();

    // run: the same for a container that runs to its end.
    oci.write_config(&config(&["cat", "/proc/keys"]));
    let id = oci.id("keyring-run");
    let out = oci.run(&id).success();
    assert!(out.stdout.contains(&format!(" _ses.{id}:")), "{out:?}");
}

#[test]
fn no_new_keyring_keeps_the_callers() {
    let oci = Oci::new("oci-keyring-none");
    oci.write_config(&config(&["sleep", "1000"]));
    let id = oci.id("nokeyring");
    let bundle = oci.bundle.display().to_string();
    oci.detached(&["create", "--no-new-keyring", "--bundle", &bundle, &id]);
    assert!(
        session_keyrings(&id).is_empty(),
        "{:?}",
        session_keyrings(&id)
    );
    // exec does not make one either (the choice is kept in the state).
    let out = oci.nsbox(&["exec", &id, "cat", "/proc/keys"]).success();
    assert!(!out.stdout.contains(&format!(" _ses.{id}:")), "{out:?}");
    assert!(session_keyrings(&id).is_empty());
    oci.nsbox(&["delete", "--force", &id]).success();

    oci.write_config(&config(&["cat", "/proc/keys"]));
    let id = oci.id("nokeyring-run");
    let out = oci
        .nsbox(&["run", "--no-new-keyring", "--bundle", &bundle, &id])
        .success();
    assert!(!out.stdout.contains(&format!(" _ses.{id}:")), "{out:?}");
}
