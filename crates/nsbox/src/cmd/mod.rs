//! One module per verb; each has an `Args` (clap) and a `run` that calls the library.

pub mod create;
pub mod delete;
pub mod enter;
pub mod events;
pub mod exec;
pub mod features;
pub mod kill;
pub mod list;
pub mod ns;
pub mod pause;
pub mod ps;
pub mod resume;
pub mod run;
pub mod spec;
pub mod start;
pub mod state;
pub mod unshare;
pub mod update;

use crate::cli::Command;

/// Runs one verb. `Ok(code)` is the exit code to return (the command's own,
/// for verbs that run one).
pub fn dispatch(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Unshare(args) => unshare::run(args),
        Command::Enter(args) => enter::run(args),
        Command::Ns(ns) => ns::run(ns),
        Command::Create(args) => logged(|| create::run(args)),
        Command::Start(args) => logged(|| start::run(args)),
        Command::State(args) => logged(|| state::run(args)),
        Command::Kill(args) => logged(|| kill::run(args)),
        Command::Exec(args) => logged(|| exec::run(args)),
        Command::Delete(args) => logged(|| delete::run(args)),
        Command::Run(args) => logged(|| run::run(args)),
        Command::Ps(args) => logged(|| ps::run(args)),
        Command::List(args) => logged(|| list::run(args)),
        Command::Spec(args) => logged(|| spec::run(args)),
        Command::Features(args) => logged(|| features::run(args)),
        Command::Update(args) => logged(|| update::run(args)),
        Command::Pause(args) => logged(|| pause::run(args)),
        Command::Resume(args) => logged(|| resume::run(args)),
        Command::Events(args) => logged(|| events::run(args)),
    }
}

/// OCI verbs also write their failure to `--log` (engines read it there);
/// with `--debug`, the command line and how long it took.
fn logged(verb: impl FnOnce() -> anyhow::Result<u8>) -> anyhow::Result<u8> {
    let mut log = open_log();
    let started = std::time::Instant::now();
    if let Some(log) = log.as_mut() {
        let argv: Vec<String> = std::env::args().collect();
        log.debug(&format!("run: {}", argv.join(" ")));
    }
    // (std opens the log close-on-exec: the container never inherits it.)
    let result = verb();
    if let Some(log) = log.as_mut() {
        match &result {
            Ok(code) => log.debug(&format!("done: exit {code} after {:?}", started.elapsed())),
            Err(err) => log.error(&crate::report::chain(err)),
        }
    }
    result
}

/// `--log`, when given.
fn open_log() -> Option<nsbox_runtime::log::Log> {
    let g = crate::cli::global();
    g.log.as_ref()?;
    let format = match g.log_format {
        crate::cli::LogFormat::Text => nsbox_runtime::log::Format::Text,
        crate::cli::LogFormat::Json => nsbox_runtime::log::Format::Json,
    };
    nsbox_runtime::log::Log::open(g.log.as_deref(), format, g.debug).ok()
}

/// Failures that did not stop the verb (poststart/poststop hooks): one
/// line each on stderr, `nsbox: <verb> <id>: warning: ...`, and in `--log`.
pub fn warn(verb: &str, warnings: Vec<nsbox_runtime::Error>) {
    let mut log = open_log();
    for w in warnings {
        let text = crate::report::chain(&anyhow::Error::new(w));
        eprintln!("nsbox: {verb}: warning: {text}");
        if let Some(log) = log.as_mut() {
            log.warning(&text);
        }
    }
}
