//! One module per verb; each has an `Args` (clap) and a `run` that calls the library.

pub mod enter;
pub mod ns;
pub mod unshare;

use crate::cli::Command;

/// Runs one verb. `Ok(code)` is the exit code to return (the command's own,
/// for verbs that run one).
pub fn dispatch(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Unshare(args) => unshare::run(args),
        Command::Enter(args) => enter::run(args),
        Command::Ns(ns) => ns::run(ns),
    }
}
