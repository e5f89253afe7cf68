//! The process flags of `nsbox run -- CMD`, docker's words: `-e`, `-w`,
//! `--hostname` fill the generated spec's process and hostname.
//!
//! Each `parse_*` checks one flag's value the way docker does and returns a
//! one-line reason, so the binary can report a bad value as a usage error
//! (exit 2) before anything is created.

/// `-e KEY=VALUE`, or `-e KEY` (the caller's value, dropped when unset):
/// the key must be non-empty.
pub fn parse_env(text: &str) -> Result<String, String> {
    let key = text.split_once('=').map_or(text, |(k, _)| k);
    if key.is_empty() || text.contains('\0') {
        return Err(format!(
            "invalid environment variable {text:?} (KEY=VALUE or KEY)"
        ));
    }
    Ok(text.to_string())
}

/// Applies `-e` values in order over `env`: `KEY=VALUE` replaces or adds
/// KEY; a bare `KEY` takes `caller(KEY)`, or removes KEY when that is unset.
pub fn apply_env(env: &mut Vec<String>, sets: &[String], caller: impl Fn(&str) -> Option<String>) {
    for set in sets {
        let (key, value) = match set.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (set.as_str(), caller(set)),
        };
        env.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != key);
        if let Some(v) = value {
            env.push(format!("{key}={v}"));
        }
    }
}

/// The command's environment: the caller's (its variables that are UTF-8),
/// `-e` values applied over it ([`apply_env`]), and runc's default `PATH`
/// when none is left.
pub fn environment(sets: &[String]) -> Vec<String> {
    let mut env: Vec<String> = std::env::vars_os()
        .filter_map(|(k, v)| {
            Some(format!(
                "{}={}",
                k.into_string().ok()?,
                v.into_string().ok()?
            ))
        })
        .collect();
    apply_env(&mut env, sets, |k| std::env::var(k).ok());
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.push(format!(
            "PATH={}",
            nsbox_runtime::init::process::DEFAULT_PATH
        ));
    }
    env
}

/// `-w DIR`: an absolute path (created inside when missing, as runc; see
/// [`crate::RunOptions::cwd`]).
pub fn parse_cwd(text: &str) -> Result<std::path::PathBuf, String> {
    if !text.starts_with('/') {
        return Err(format!(
            "working directory {text:?} must be an absolute path"
        ));
    }
    Ok(text.into())
}

/// `--hostname NAME`: 1 to 64 letters, digits, `-` and `.` (RFC 1123),
/// not starting or ending with `-` or `.`.
pub fn parse_hostname(text: &str) -> Result<String, String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    let edge = |c: Option<char>| c.is_some_and(|c| c == '-' || c == '.');
    if text.is_empty()
        || text.len() > 64
        || !text.chars().all(ok_char)
        || edge(text.chars().next())
        || edge(text.chars().last())
    {
        return Err(format!(
            "invalid hostname {text:?} (1 to 64 letters, digits, - and .)"
        ));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_cwd_hostname() {
        let mut env = vec!["A=1".to_string(), "B=2".to_string()];
        let caller = |k: &str| (k == "HOME").then(|| "/root".to_string());
        let sets = ["A=x=y", "C=", "HOME", "B", "UNSET"].map(String::from);
        apply_env(&mut env, &sets, caller);
        assert_eq!(env, ["A=x=y", "C=", "HOME=/root"]);
        assert!(parse_env("=x").is_err());
        assert!(parse_env("K").is_ok());
        assert!(parse_cwd("rel").is_err());
        assert!(parse_cwd("/srv").is_ok());
        assert!(parse_hostname("web-1.local").is_ok());
        for bad in ["", "-a", "a.", "a b", &"x".repeat(65)] {
            assert!(parse_hostname(bad).is_err(), "{bad:?}");
        }
    }
}
