//! `events`: runc's event stream, one JSON object per line.
//!
//! - `--stats`: one `{"type":"stats","id":ID,"data":{cpu,memory,pids}}`
//!   and exit;
//! - otherwise a stats event every `--interval` and an
//!   `{"type":"oom","id":ID}` event each time the kernel's OOM killer kills
//!   a process in the container, until the container is gone (init
//!   stopped and its cgroup empty).
//!
//! OOM kills are counted from the cgroup's counter (`memory.events`
//! `oom_kill` on v2, `memory.oom_control` `oom_kill` on v1): a counter says
//! how many kills happened, including those before we looked. Between stats
//! events the stream sleeps in poll(2) and wakes only when the kernel
//! reports an OOM ([`nsbox_cgroups::OomWatch`]: v1's eventfd on
//! `memory.oom_control`, inotify on v2's `memory.events`) or init exits
//! (its pidfd). On v1 the notice precedes the kill, so the counter is
//! looked at again every 10 ms for up to a second after one. Once init is
//! gone but other processes remain (or where the kernel offers no
//! notice), the cgroup is looked at every 100 ms.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::state::StateDir;
use crate::Error;

/// How often an init-less container is checked for emptiness.
const EMPTY_POLL: Duration = Duration::from_millis(100);
/// v1: how often, and how long, the counter is re-read after a notice.
const SETTLE_POLL: Duration = Duration::from_millis(10);
const SETTLE_FOR: Duration = Duration::from_secs(1);

#[derive(Serialize)]
struct Event<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<T>,
}

/// Writes the events of container `id` to `out`: one stats event with
/// `stats_once`, else the stream (see the module documentation).
pub fn events(
    root: &Path,
    id: &str,
    stats_once: bool,
    interval: Duration,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let record = StateDir::open_read(root, id)?.read()?;
    let cg = crate::placement::recorded(&record)?;
    let stats = || {
        cg.stats().map_err(|source| Error::Cgroup {
            what: "read statistics".into(),
            source,
        })
    };
    if stats_once {
        return emit(out, "stats", id, Some(stats()?));
    }
    // A cgroup without a memory controller never OOM-kills: no counter.
    let oom_kills = || cg.oom_kills().ok();
    let mut seen = oom_kills().unwrap_or(0);
    let watch = cg.oom_watch().ok();
    // A counter without a way to be woken (event_control refused): poll it.
    let poll_counter = watch.is_none() && oom_kills().is_some();
    let mut init = init_pidfd(&record);
    let mut settle_until: Option<Instant> = None;
    let mut next_stats = Instant::now();
    loop {
        let now = Instant::now();
        if now >= next_stats {
            if gone(&record, &cg) {
                return Ok(());
            }
            emit(out, "stats", id, Some(stats()?))?;
            next_stats = now + interval;
        }
        if let Some(n) = oom_kills() {
            for _ in seen..n {
                emit::<()>(out, "oom", id, None)?;
            }
            if n > seen {
                settle_until = None;
            }
            seen = seen.max(n);
        }
        if init.is_none() && gone(&record, &cg) {
            return Ok(());
        }
        let now = Instant::now();
        let mut wait = next_stats.saturating_duration_since(now);
        if init.is_none() || poll_counter {
            wait = wait.min(EMPTY_POLL);
        }
        match settle_until {
            Some(t) if t > now => wait = wait.min(SETTLE_POLL),
            _ => settle_until = None,
        }
        let (oom, exited) = wait_for(watch.as_ref(), init.as_ref(), wait);
        if oom {
            if let Some(w) = &watch {
                w.clear();
                if w.settles() {
                    settle_until = Some(Instant::now() + SETTLE_FOR);
                }
            }
        }
        if exited {
            init = None;
        }
    }
}

/// A pidfd of the container's init while it is the recorded process.
fn init_pidfd(record: &crate::state::Record) -> Option<std::os::fd::OwnedFd> {
    let pid = rustix::process::Pid::from_raw(record.live_pid()? as i32)?;
    let fd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()?;
    // Still the same process once the descriptor is held (no pid reuse).
    record.live_pid().map(|_| fd)
}

/// Sleeps up to `limit` in poll(2) on the OOM watch and init's pidfd;
/// returns which of them turned readable.
fn wait_for(
    watch: Option<&nsbox_cgroups::OomWatch>,
    init: Option<&std::os::fd::OwnedFd>,
    limit: Duration,
) -> (bool, bool) {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let mut fds = Vec::with_capacity(2);
    if let Some(w) = watch {
        fds.push(PollFd::from_borrowed_fd(w.fd(), PollFlags::IN));
    }
    if let Some(p) = init {
        fds.push(PollFd::new(p, PollFlags::IN));
    }
    let timeout = Timespec {
        tv_sec: limit.as_secs() as i64,
        tv_nsec: i64::from(limit.subsec_nanos()),
    };
    if rustix::event::poll(&mut fds, Some(&timeout)).is_err() {
        return (false, false); // EINTR: the loop looks again
    }
    let ready = |i: usize| fds.get(i).is_some_and(|f| !f.revents().is_empty());
    match (watch.is_some(), init.is_some()) {
        (true, true) => (ready(0), ready(1)),
        (true, false) => (ready(0), false),
        (false, true) => (false, ready(0)),
        (false, false) => (false, false),
    }
}

fn gone(record: &crate::state::Record, cg: &nsbox_cgroups::Cgroup) -> bool {
    record.live_pid().is_none() && cg.procs().map_or(true, |p| p.is_empty())
}

fn emit<T: Serialize>(
    out: &mut dyn Write,
    kind: &str,
    id: &str,
    data: Option<T>,
) -> Result<(), Error> {
    let line = serde_json::to_string(&Event { kind, id, data })
        .map_err(|e| Error::Events { source: e.into() })?;
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|source| Error::Events { source })
}

/// Go's durations as runc takes them: `5s`, `100ms`, `1m30s`, `1h`, `250us`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += Duration::try_from_secs_f64(n * secs).ok()?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("100ms"), Some(Duration::from_millis(100)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        for bad in ["", "5", "s", "5x", "-1s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn event_shapes() {
        let mut out = Vec::new();
        emit::<()>(&mut out, "oom", "c1", None).unwrap();
        emit(
            &mut out,
            "stats",
            "c1",
            Some(serde_json::json!({"pids": {"current": 1}})),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"type\":\"oom\",\"id\":\"c1\"}\n{\"type\":\"stats\",\"id\":\"c1\",\"data\":{\"pids\":{\"current\":1}}}\n"
        );
    }
}
