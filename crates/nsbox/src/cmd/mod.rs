//! One module per verb; each has an `Args` (clap) and a `run` that calls the library.

pub mod create;
pub mod delete;
pub mod enter;
pub mod exec;
pub mod features;
pub mod kill;
pub mod list;
pub mod ns;
pub mod run;
pub mod spec;
pub mod start;
pub mod state;
pub mod unshare;

use crate::cli::Command;

/// Runs one verb. `Ok(code)` is the exit code to return (the command's own,
/// for verbs that run one).
pub fn dispatch(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Unshare(args) => unshare::run(args),
        Command::Enter(args) => enter::run(args),
        Command::Ns(ns) => ns::run(ns),
        Command::Create(args) => logged(create::run(args)),
        Command::Start(args) => logged(start::run(args)),
        Command::State(args) => logged(state::run(args)),
        Command::Kill(args) => logged(kill::run(args)),
        Command::Exec(args) => logged(exec::run(args)),
        Command::Delete(args) => logged(delete::run(args)),
        Command::Run(args) => logged(run::run(args)),
        Command::List(args) => logged(list::run(args)),
        Command::Spec(args) => logged(spec::run(args)),
        Command::Features(args) => logged(features::run(args)),
    }
}

/// OCI verbs also write their failure to `--log` (engines read it there).
fn logged(result: anyhow::Result<u8>) -> anyhow::Result<u8> {
    if let Err(err) = &result {
        let g = crate::cli::global();
        if g.log.is_some() {
            let format = match g.log_format {
                crate::cli::LogFormat::Text => nsbox_runtime::log::Format::Text,
                crate::cli::LogFormat::Json => nsbox_runtime::log::Format::Json,
            };
            if let Ok(mut log) = nsbox_runtime::log::Log::open(g.log.as_deref(), format, g.debug) {
                log.error(&crate::report::chain(err));
            }
        }
    }
    result
}
