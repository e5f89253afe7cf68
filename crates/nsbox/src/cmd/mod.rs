//! One module per verb; each has an `Args` (clap) and a `run` that calls the library.

pub mod addr;
pub mod batch;
pub mod completion;
pub mod create;
pub mod delete;
pub mod enter;
pub mod events;
pub mod exec;
pub mod features;
pub mod ipargs;
pub mod kill;
pub mod link;
pub mod list;
pub mod man;
pub mod net;
pub mod netns;
pub mod ns;
pub mod pause;
pub mod proc_view;
pub mod ps;
pub mod resume;
pub mod rm;
pub mod route;
pub mod run;
pub mod spec;
pub mod start;
pub mod state;
pub mod stop;
pub mod unshare;
pub mod update;

/// OCI verbs also write their failure to `--log` (engines read it there);
/// with `--debug`, the command line and how long it took.
pub(crate) fn logged(verb: impl FnOnce() -> anyhow::Result<u8>) -> anyhow::Result<u8> {
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
    let g = crate::global::global();
    g.log.as_ref()?;
    let format = match g.log_format {
        crate::global::LogFormat::Text => nsbox_runtime::log::Format::Text,
        crate::global::LogFormat::Json => nsbox_runtime::log::Format::Json,
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

/// Runs `act` for each container name (`stop`, `rm`): prints the name when
/// it succeeds, the error (`nsbox: VERB NAME: ...`) when not, and goes on;
/// exit 1 when any failed, as docker does.
pub fn each_name(
    verb: &str,
    names: &[String],
    mut act: impl FnMut(&str) -> Result<Vec<nsbox_runtime::Error>, nsbox_sandbox::Error>,
) -> u8 {
    let mut failed = false;
    for name in names {
        match act(name) {
            Ok(warnings) => {
                warn(&format!("{verb} {name}"), warnings);
                println!("{name}");
            }
            Err(e) => {
                crate::report::error(&format!("{verb} {name}"), &e.into());
                failed = true;
            }
        }
    }
    u8::from(failed)
}
