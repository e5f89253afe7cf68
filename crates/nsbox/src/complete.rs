//! Dynamic shell completion: container names and network namespace names
//! where a verb takes them, on top of what clap completes from the command
//! line's definition (verbs, flags, enum values, paths).
//!
//! The scripts `nsbox completion SHELL` prints ask this binary for every
//! completion: the shell runs `NSBOX_COMPLETE=SHELL nsbox -- WORDS...`,
//! which `main` answers first thing (clap_complete's `CompleteEnv`). The names are read when the user
//! presses Tab, so a container started a second ago completes.

use std::ffi::OsStr;
use std::path::PathBuf;

use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};

/// The variable the completion scripts set; a name of our own, so that a
/// `COMPLETE` in someone's environment never turns nsbox into a completer.
pub const VAR: &str = "NSBOX_COMPLETE";

/// Which names an argument takes.
#[derive(Clone, Copy)]
enum Names {
    /// Every container under the state root (`nsbox list -q`).
    Containers,
    /// Containers whose process runs (`enter -t`, `ns diff`).
    Running,
    /// Named network namespaces (`nsbox netns list`).
    Netns,
}

/// (verb path, argument id, names): the arguments that get names. The ids
/// are the clap ids of the fields in the verbs' `Args`.
const NAMED_ARGS: &[(&str, &str, Names)] = &[
    ("", "netns", Names::Netns),
    ("stop", "names", Names::Containers),
    ("rm", "names", Names::Containers),
    ("start", "id", Names::Containers),
    ("state", "id", Names::Containers),
    ("kill", "id", Names::Containers),
    ("exec", "id", Names::Containers),
    ("delete", "id", Names::Containers),
    ("ps", "id", Names::Containers),
    ("update", "id", Names::Containers),
    ("pause", "id", Names::Containers),
    ("resume", "id", Names::Containers),
    ("events", "id", Names::Containers),
    ("enter", "target", Names::Running),
    ("ns diff", "pid1", Names::Running),
    ("ns diff", "pid2", Names::Running),
    ("netns exec", "name", Names::Netns),
    ("netns pids", "name", Names::Netns),
    ("netns delete", "name", Names::Netns),
    ("netns set", "name", Names::Netns),
];

/// Adds the name completers of [`NAMED_ARGS`] to the command line.
pub fn attach(mut cmd: clap::Command) -> clap::Command {
    for &(path, id, names) in NAMED_ARGS {
        let words: Vec<&str> = path.split_whitespace().collect();
        cmd = crate::verbs::with_subcommand(cmd, &words, &|c| {
            assert!(
                c.get_arguments().any(|a| a.get_id() == id),
                "{path:?} has no argument {id}"
            );
            c.mut_args(|a| {
                if a.get_id() == id {
                    a.add(ArgValueCompleter::new(move |current: &OsStr| {
                        candidates(names, current)
                    }))
                } else {
                    a
                }
            })
        });
    }
    cmd
}

/// The names that start with what has been typed; none when they cannot
/// be read (no state root yet, not allowed): a Tab must never print errors.
fn candidates(names: Names, current: &OsStr) -> Vec<CompletionCandidate> {
    let typed = current.to_string_lossy();
    let all: Vec<String> = match names {
        Names::Containers | Names::Running => {
            let Some(root) = state_root() else {
                return Vec::new();
            };
            nsbox_runtime::list::list(&root)
                .unwrap_or_default()
                .into_iter()
                .filter(|r| !matches!(names, Names::Running) || r.status_word() == "running")
                .map(|r| r.oci.id().clone())
                .collect()
        }
        Names::Netns => nsbox_net::netns::list(|_| Ok(None))
            .unwrap_or_default()
            .into_iter()
            .map(|n| n.name)
            .collect(),
    };
    all.into_iter()
        .filter(|name| name.starts_with(typed.as_ref()))
        .map(CompletionCandidate::new)
        .collect()
}

/// The state root the line being completed names (`nsbox --root DIR stop
/// <Tab>`), else the default one. The shell passes the line as this
/// process's arguments, after `--`.
fn state_root() -> Option<PathBuf> {
    let args: Vec<String> = std::env::args().collect();
    let words = args.iter().skip_while(|a| *a != "--").skip(2);
    root_in(words).or_else(|| crate::global::default_root().ok())
}

/// `--root DIR` or `--root=DIR` among the global flags, which come before
/// the verb (after it, `--root` is `enter`'s own flag).
fn root_in<'a>(mut words: impl Iterator<Item = &'a String>) -> Option<PathBuf> {
    // Global flags that take a value in the next word.
    const VALUED: [&str; 5] = ["--root", "--log", "--log-format", "-n", "--netns"];
    while let Some(word) = words.next() {
        if let Some(dir) = word.strip_prefix("--root=") {
            return Some(PathBuf::from(dir));
        }
        if word == "--root" {
            return words.next().map(PathBuf::from);
        }
        if VALUED.contains(&word.as_str()) {
            words.next();
        } else if !word.starts_with('-') {
            return None; // the verb
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::root_in;
    use std::path::PathBuf;

    fn root(line: &str) -> Option<PathBuf> {
        let words: Vec<String> = line.split_whitespace().map(String::from).collect();
        root_in(words.iter())
    }

    #[test]
    fn finds_the_global_root_only() {
        assert_eq!(root("--root /r stop w"), Some("/r".into()));
        assert_eq!(root("--log l --root=/r stop"), Some("/r".into()));
        assert_eq!(root("-n blue --root /r link"), Some("/r".into()));
        assert_eq!(root("enter --root /x -t w"), None);
        assert_eq!(root("stop w"), None);
    }

    #[test]
    fn every_named_argument_exists() {
        // attach panics on a verb or argument that is not there.
        crate::cli::command().debug_assert();
    }
}
