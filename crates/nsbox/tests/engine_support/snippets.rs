//! The engine configuration documented in docs/engines.md, read from its
//! files (docs/engines/*) so that the tests run what the page says. The
//! one change: the packaged binary's path, [`PACKAGED_NSBOX`], becomes
//! the binary under test.

use std::path::PathBuf;

/// Where the Debian package installs nsbox, as the snippets name it.
pub const PACKAGED_NSBOX: &str = "/usr/bin/nsbox";

/// The directory of the snippets.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/engines")
}

/// The snippet `name` as documented, unchanged.
pub fn raw(name: &str) -> String {
    let path = dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The snippet `name`, naming the nsbox under test. Panics when the
/// snippet does not name the packaged binary (the substitution would then
/// silently test something else).
pub fn for_test(name: &str) -> String {
    let text = raw(name);
    assert!(
        text.contains(PACKAGED_NSBOX),
        "docs/engines/{name} does not name {PACKAGED_NSBOX}"
    );
    text.replace(PACKAGED_NSBOX, super::NSBOX)
}

/// A JSON snippet (daemon.json) merged into `config`: its keys win.
pub fn merge_json(config: &mut serde_json::Value, name: &str) {
    let snippet: serde_json::Value = serde_json::from_str(&for_test(name))
        .unwrap_or_else(|e| panic!("docs/engines/{name}: {e}"));
    merge_json_values(config, snippet);
}

fn merge_json_values(into: &mut serde_json::Value, from: serde_json::Value) {
    match (into, from) {
        (serde_json::Value::Object(into), serde_json::Value::Object(from)) => {
            for (k, v) in from {
                match into.get_mut(&k) {
                    Some(old) if old.is_object() && v.is_object() => merge_json_values(old, v),
                    _ => {
                        into.insert(k, v);
                    }
                }
            }
        }
        (into, from) => *into = from,
    }
}

/// A TOML snippet merged into the test's own TOML `config` (tables merged
/// key by key, the snippet's values winning), as text for the engine.
pub fn merge_toml(config: &str, name: &str) -> String {
    let mut base: toml::Table = config.parse().expect("the test's own TOML");
    let snippet: toml::Table = for_test(name)
        .parse()
        .unwrap_or_else(|e| panic!("docs/engines/{name}: {e}"));
    merge_tables(&mut base, snippet);
    toml::to_string(&base).unwrap()
}

/// The snippet `name` as a TOML table (with the nsbox under test).
pub fn toml(name: &str) -> toml::Table {
    for_test(name)
        .parse()
        .unwrap_or_else(|e| panic!("docs/engines/{name}: {e}"))
}

fn merge_tables(into: &mut toml::Table, from: toml::Table) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(toml::Value::Table(old)), toml::Value::Table(new)) => merge_tables(old, new),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}
