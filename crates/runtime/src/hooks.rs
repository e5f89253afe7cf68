//! OCI hooks: programs the runtime runs at fixed points of the lifecycle,
//! each given the container's state as JSON on stdin.
//!
//! | hook            | where it runs                         | who runs it | on failure |
//! |-----------------|---------------------------------------|-------------|------------|
//! | prestart, createRuntime | runtime ns; rootfs mounted, before pivot_root | create (sync point `Hooks`) | create fails |
//! | createContainer | container ns, before pivot_root        | init        | create fails |
//! | startContainer  | container ns, after start, before exec | init        | init exits 1 |
//! | poststart       | runtime ns, after start                | start       | container killed, start fails |
//! | poststop        | runtime ns, after delete               | delete      | warning |
//!
//! A hook's environment is its `env`, exactly. Without one, a hook in the
//! container's namespaces (createContainer, startContainer) gets the
//! container process's environment, as runc 1.2 (whose init sets it
//! before running them) and youki do; one in the runtime's namespace gets
//! none. docs/hooks.md says why each failure does what it does.

use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use oci_spec::runtime::{ContainerState, Hook, Hooks, Spec, State};
use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, PidfdFlags};

use crate::error::HookFailure;
use crate::Error;

/// Which list of `hooks` in config.json.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Prestart => "prestart",
            Kind::CreateRuntime => "createRuntime",
            Kind::CreateContainer => "createContainer",
            Kind::StartContainer => "startContainer",
            Kind::Poststart => "poststart",
            Kind::Poststop => "poststop",
        }
    }

    fn of(self, hooks: &Hooks) -> &Option<Vec<Hook>> {
        match self {
            Kind::Prestart => hooks.prestart(),
            Kind::CreateRuntime => hooks.create_runtime(),
            Kind::CreateContainer => hooks.create_container(),
            Kind::StartContainer => hooks.start_container(),
            Kind::Poststart => hooks.poststart(),
            Kind::Poststop => hooks.poststop(),
        }
    }
}

/// The hooks of `kind` in `spec` (empty when none).
pub fn list(spec: &Spec, kind: Kind) -> Vec<Hook> {
    listed(spec.hooks().as_ref(), kind)
}

/// The hooks of `kind` in `hooks` (as recorded in state.json for `start`
/// and `delete`; empty when none).
pub fn listed(hooks: Option<&Hooks>, kind: Kind) -> Vec<Hook> {
    hooks.and_then(|h| kind.of(h).clone()).unwrap_or_default()
}

/// The state a hook reads on stdin.
pub fn state_for(
    spec: &Spec,
    id: &str,
    status: ContainerState,
    pid: u32,
    bundle: &std::path::Path,
) -> State {
    let mut s = State::default();
    s.set_version(spec.version().clone());
    s.set_id(id.to_string());
    s.set_status(status);
    s.set_pid(Some(pid as i32));
    s.set_bundle(bundle.to_path_buf());
    s.set_annotations(spec.annotations().clone());
    s
}

/// Runs every hook of `kind` in order; the first failure stops the list.
pub fn run(kind: Kind, hooks: &[Hook], state: &State) -> Result<(), Error> {
    run_with_env(kind, hooks, state, &[])
}

/// [`run`], where a hook without an `env` of its own gets `default_env`
/// (the container process's, for the hooks init runs).
pub fn run_with_env(
    kind: Kind,
    hooks: &[Hook],
    state: &State,
    default_env: &[String],
) -> Result<(), Error> {
    let input = serde_json::to_vec(state).unwrap_or_default();
    for (index, hook) in hooks.iter().enumerate() {
        run_one(hook, &input, default_env).map_err(|source| Error::Hook {
            kind: kind.name(),
            index,
            path: hook.path().clone(),
            source,
        })?;
    }
    Ok(())
}

/// Runs every hook of `kind`, collecting failures as warnings (poststart,
/// poststop: the lifecycle goes on).
pub fn run_all(kind: Kind, hooks: &[Hook], state: &State) -> Vec<Error> {
    let input = serde_json::to_vec(state).unwrap_or_default();
    hooks
        .iter()
        .enumerate()
        .filter_map(|(index, hook)| {
            run_one(hook, &input, &[]).err().map(|source| Error::Hook {
                kind: kind.name(),
                index,
                path: hook.path().clone(),
                source,
            })
        })
        .collect()
}

/// One hook: `args[0]` as argv[0] (default the path), exactly `env` (or
/// `default_env` without one), the state on stdin, killed when `timeout`
/// seconds pass.
fn run_one(hook: &Hook, input: &[u8], default_env: &[String]) -> Result<(), HookFailure> {
    let args = hook.args().clone().unwrap_or_default();
    let mut cmd = Command::new(hook.path());
    if let Some((arg0, rest)) = args.split_first() {
        cmd.arg0(arg0).args(rest);
    }
    cmd.env_clear();
    for e in hook.env().as_deref().unwrap_or(default_env) {
        if let Some((k, v)) = e.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().map_err(HookFailure::Spawn)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that exits without reading its input is not a failure.
        let _ = stdin.write_all(input);
    }
    if let Some(secs) = hook.timeout() {
        if secs <= 0 {
            let _ = child.kill();
            let _ = child.wait();
            return Err(HookFailure::BadTimeout(secs));
        }
        if !exits_within(child.id(), secs) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(HookFailure::Timeout(secs));
        }
    }
    let status = child.wait().map_err(HookFailure::Spawn)?;
    if status.success() {
        Ok(())
    } else {
        Err(HookFailure::Exit(status))
    }
}

/// Whether process `pid` exits within `secs` seconds (its pidfd polls
/// readable at exit).
fn exits_within(pid: u32, secs: i64) -> bool {
    let Some(p) = Pid::from_raw(pid as i32) else {
        return true;
    };
    let Ok(fd): Result<OwnedFd, _> = rustix::process::pidfd_open(p, PidfdFlags::empty()) else {
        return true;
    };
    let deadline = rustix::event::Timespec {
        tv_sec: secs,
        tv_nsec: 0,
    };
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    matches!(rustix::event::poll(&mut fds, Some(&deadline)), Ok(n) if n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(json: serde_json::Value) -> Hook {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn hooks_get_state_env_and_args() {
        let t = nsbox_testutil::TempDir::new("hooks");
        let out = t.join("out");
        let h = hook(serde_json::json!({
            "path": "/bin/sh",
            "args": ["sh", "-c", format!("echo $0 $1 $X > {0}; cat >> {0}", out.display()), "one"],
            "env": ["X=ex"]
        }));
        let mut state = State::default();
        state.set_id("hid".into());
        run(Kind::CreateRuntime, &[h], &state).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        // sh -c SCRIPT one: $0 is "one"; $X comes from the hook's env alone.
        assert!(text.starts_with("one ex\n"), "{text}");
        assert!(text.contains("\"id\":\"hid\""), "{text}");
    }

    #[test]
    fn a_hook_without_env_gets_the_default_one() {
        let t = nsbox_testutil::TempDir::new("hooks-env");
        let out = t.join("out");
        let script = format!("echo \"$ONE|$X\" > {}", out.display());
        let bare = hook(serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", script]}));
        let own = hook(serde_json::json!({
            "path": "/bin/sh", "args": ["sh", "-c", script], "env": ["X=ex"]
        }));
        let container = ["ONE=two".to_string()];
        let state = State::default();
        run_with_env(Kind::StartContainer, &[bare], &state, &container).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "two|\n");
        run_with_env(Kind::StartContainer, &[own], &state, &container).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "|ex\n");
    }

    #[test]
    fn failure_and_timeout_name_the_hook() {
        let state = State::default();
        let fail = hook(serde_json::json!({"path": "/bin/false"}));
        let err = run(Kind::Prestart, std::slice::from_ref(&fail), &state).unwrap_err();
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert_eq!(
            format!("{err}: {cause}"),
            "prestart hook[0] /bin/false: exit status: 1"
        );
        let slow =
            hook(serde_json::json!({"path": "/bin/sleep", "args": ["sleep", "5"], "timeout": 1}));
        let err = run(Kind::CreateRuntime, &[slow], &state).unwrap_err();
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert_eq!(cause, "timed out after 1s");
        assert_eq!(
            run_all(Kind::Poststop, &[fail.clone(), fail], &state).len(),
            2
        );
    }
}
