//! The `nsbox` command: parses arguments, calls one library function per verb,
//! prints the result. Everything else lives in the library crates.

mod cli;
mod cmd;
mod complete;
mod examples;
mod global;
mod report;
mod table;
mod target;
mod verbs;
mod version;

use std::process::ExitCode;

fn main() -> ExitCode {
    // A Tab in a shell with nsbox's completion (`NSBOX_COMPLETE` set by
    // its script): answer and exit. Otherwise this returns at once.
    clap_complete::CompleteEnv::with_factory(cli::command)
        .var(complete::VAR)
        .complete();
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let verb = cli.command.verb();
    match cli::dispatch(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            report::error(verb, &err);
            ExitCode::from(1)
        }
    }
}
