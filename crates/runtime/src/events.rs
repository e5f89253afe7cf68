//! `events`: runc's event stream, one JSON object per line.
//!
//! - `--stats`: one `{"type":"stats","id":ID,"data":{cpu,memory,pids}}`
//!   and exit;
//! - otherwise a stats event every `--interval` and an
//!   `{"type":"oom","id":ID}` event each time the kernel's OOM killer kills
//!   a process in the container, until the container is gone (init
//!   stopped and its cgroup empty).
//!
//! OOM kills are read from the cgroup's counter (`memory.events`
//! `oom_kill` on v2, `memory.oom_control` `oom_kill` on v1), polled every
//! 100 ms: a counter, unlike v1's eventfd notification, says how many kills
//! happened and which happened before we looked, and costs one small read.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::state::StateDir;
use crate::Error;

const OOM_POLL: Duration = Duration::from_millis(100);

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
    let cg = crate::cgroup::of(&record)?;
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
            seen = seen.max(n);
        }
        if gone(&record, &cg) {
            return Ok(());
        }
        std::thread::sleep(OOM_POLL.min(next_stats.saturating_duration_since(Instant::now())));
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
