//! Records what `nsbox --version` prints beside the version: the commit the
//! binary was built from and the compiler that built it.
//!
//! The commit is `$NSBOX_COMMIT` when set (a build from a source tarball
//! can pass it), else `git rev-parse HEAD`, else "unknown" (not a git
//! checkout, or no git).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=NSBOX_COMMIT");
    let commit = std::env::var("NSBOX_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=NSBOX_COMMIT={commit}");
    // A new commit moves HEAD's reflog; checking out another branch, HEAD.
    for file in ["HEAD", "logs/HEAD"] {
        if let Some(path) = git(&["rev-parse", "--git-path", file]) {
            if std::path::Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let rustc_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=NSBOX_RUSTC={rustc_version}");
}

/// One line of git's output, run in this crate's directory; None when git
/// is missing or fails (not a checkout).
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let line = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!line.is_empty()).then_some(line)
}
