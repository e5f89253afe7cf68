//! An OCI bundle: `config.json` parsed into `oci-spec`'s [`Spec`] and
//! checked before anything is created, so bad input leaves nothing behind.
//! Every error names the field (`linux.namespaces[2].type`) or, for
//! malformed JSON, the line and column.

pub mod decode;
pub mod sched;
mod validate;

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

pub use validate::{has_mount_ns, ignored_without_mount_ns, validate};

use crate::Error;

const CONFIG: &str = "config.json";

/// A loaded, validated bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The bundle directory, absolute.
    pub dir: PathBuf,
    pub spec: Spec,
    /// `root.path`, absolute (relative paths are relative to the bundle).
    pub rootfs: PathBuf,
}

/// Reads `DIR/config.json`, validates it, and checks that the rootfs exists.
pub fn load(dir: &Path) -> Result<Bundle, Error> {
    let dir = std::path::absolute(dir).map_err(|source| Error::ReadConfig {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(CONFIG);
    let text = std::fs::read_to_string(&path).map_err(|source| Error::ReadConfig {
        path: path.clone(),
        source,
    })?;
    let spec = parse(&text)?;
    validate(&spec)?;
    let root = spec.root().as_ref().map(|r| r.path().clone());
    let root = root.ok_or_else(|| field("root", "missing (the container's root file system)"))?;
    let rootfs = dir.join(root);
    let meta = std::fs::metadata(&rootfs).map_err(|source| Error::Rootfs {
        path: rootfs.clone(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(Error::Rootfs {
            path: rootfs,
            source: std::io::Error::from_raw_os_error(libc::ENOTDIR),
        });
    }
    Ok(Bundle { dir, spec, rootfs })
}

/// An error naming a field of config.json.
fn field(field: &str, msg: impl Into<String>) -> Error {
    Error::ConfigField {
        file: CONFIG,
        field: field.to_string(),
        msg: msg.into(),
    }
}

/// Parses config.json text; errors carry the JSON path of the bad field.
pub fn parse(text: &str) -> Result<Spec, Error> {
    parse_json(CONFIG, text)
}

/// Parses an OCI JSON document (`config.json`, an exec `process.json`):
/// malformed JSON gives line and column, a bad value its field path.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    file: &'static str,
    text: &str,
) -> Result<T, Error> {
    let parsed = match sched::spec_flag_words(text) {
        // Already parsed whole: only the values can be wrong.
        Some(value) => serde_path_to_error::deserialize::<_, T>(value)
            .map_err(|err| (err.path().to_string(), err.into_inner())),
        None => {
            let mut de = serde_json::Deserializer::from_str(text);
            match serde_path_to_error::deserialize::<_, T>(&mut de) {
                Ok(value) => de.end().map(|()| value).map_err(|e| (String::new(), e)),
                Err(err) => Err((err.path().to_string(), err.into_inner())),
            }
        }
    };
    let (path, inner) = match parsed {
        Ok(value) => return Ok(value),
        Err(e) => e,
    };
    // Some of oci-spec's enums report a value of the wrong JSON type as a
    // syntax error ("expected value"); in a well-formed document that is a
    // bad field, and its path says which.
    let well_formed = || serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
    if (inner.is_syntax() || inner.is_eof()) && !path.is_empty() && well_formed() {
        return Err(Error::ConfigField {
            file,
            field: path,
            msg: "invalid value: not of this field's type".to_string(),
        });
    }
    if inner.is_syntax() || inner.is_eof() {
        return Err(Error::ConfigSyntax {
            file,
            line: inner.line(),
            column: inner.column(),
            msg: without_location(&inner.to_string()),
        });
    }
    let mut msg = without_location(&inner.to_string());
    if let (Some(what), Some(word)) = (enum_field(&path), unknown_variant(&msg)) {
        msg = format!("unknown {what} {word:?}");
    }
    Err(Error::ConfigField {
        file,
        field: path,
        msg,
    })
}

/// What an enum-valued field holds, for "unknown X" messages shorter than
/// serde's list of every variant.
fn enum_field(path: &str) -> Option<&'static str> {
    let last = path.rsplit('.').next().unwrap_or("");
    let last = last.split('[').next().unwrap_or("");
    if path.starts_with("linux.namespaces[") && last == "type" {
        return Some("namespace type");
    }
    if let Some(what) = sched_enum_field(path, last) {
        return Some(what);
    }
    if !path.starts_with("linux.seccomp") {
        return None;
    }
    Some(match last {
        "defaultAction" | "action" => "seccomp action",
        "architectures" => "seccomp architecture",
        "flags" => "seccomp flag",
        "op" => "seccomp operator",
        _ => return None,
    })
}

/// The scheduling enums (bundle/sched.rs), in config.json or process.json.
fn sched_enum_field(path: &str, last: &str) -> Option<&'static str> {
    let object = path
        .trim_start_matches("process.")
        .trim_start_matches("linux.");
    Some(match (object.split('.').next().unwrap_or(""), last) {
        ("scheduler", "policy") => "scheduler policy",
        ("scheduler", "flags") => "scheduler flag",
        ("ioPriority", "class") => "I/O priority class",
        ("memoryPolicy", "mode") => "memory policy mode",
        ("memoryPolicy", "flags") => "memory policy flag",
        _ => return None,
    })
}

/// serde_json appends " at line L column C"; the field path says more.
fn without_location(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// The word in serde's "unknown variant `nett`, expected ...".
fn unknown_variant(msg: &str) -> Option<&str> {
    let rest = msg.strip_prefix("unknown variant `")?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const MINIMAL: &str = r#"{
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
        "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}
    }"#;

    #[test]
    fn unknown_namespace_type_names_field() {
        let text = MINIMAL.replace(
            r#"{"type": "mount"}"#,
            r#"{"type": "mount"}, {"type": "nett"}"#,
        );
        let err = parse(&text).unwrap_err().to_string();
        assert_eq!(
            err,
            r#"config.json: linux.namespaces[2].type: unknown namespace type "nett""#
        );
    }

    #[test]
    fn malformed_json_has_line_and_column() {
        let err = parse("{\n  \"ociVersion\": \"1.0\",\n  oops\n}").unwrap_err();
        assert!(
            matches!(
                err,
                Error::ConfigSyntax {
                    line: 3,
                    column: 3,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err
            .to_string()
            .starts_with("config.json: line 3 column 3: "));
    }

    #[test]
    fn wrong_type_names_field() {
        let text = MINIMAL.replace(r#"["sh"]"#, r#""sh""#);
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.starts_with("config.json: process.args: invalid type"),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_in_an_enum_names_field() {
        // oci-spec reads rlimit and device types through a string: a number
        // there came back as a syntax error without the field.
        let text = MINIMAL.replace(
            r#""cwd": "/","#,
            r#""cwd": "/", "rlimits": [{"type": true, "hard": 1, "soft": 1}],"#,
        );
        let err = parse(&text).unwrap_err().to_string();
        assert_eq!(
            err,
            "config.json: process.rlimits[0].type: invalid value: not of this field's type"
        );
    }
}
