//! Load averages per cgroup: the cgroups whose `loadavg` was read are
//! sampled every 5 seconds by one thread (`run`), as the kernel samples the
//! host's; one not read for `FORGET` is dropped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::render::loadavg::LoadAvg;

/// The kernel's sampling period.
pub const PERIOD: Duration = Duration::from_secs(5);
/// A cgroup nobody read for this long is no longer sampled.
const FORGET: Duration = Duration::from_secs(600);

struct Entry {
    avg: LoadAvg,
    read: Instant,
}

/// Averages by the cgroup's task list file (v1 `tasks`, v2 `cgroup.threads`).
#[derive(Default)]
pub struct Loads {
    by_tasks: Mutex<HashMap<PathBuf, Entry>>,
}

/// Tasks of a cgroup: (runnable or uninterruptible, all).
pub fn count(tasks: &Path) -> (u64, u64) {
    let Ok(text) = crate::text::read(tasks) else {
        return (0, 0);
    };
    let mut active = 0;
    let mut total = 0;
    for tid in text.lines().filter_map(|l| l.trim().parse::<u32>().ok()) {
        total += 1;
        if let Ok(Some(s)) = nsbox_ns::procstat::Stat::read(tid) {
            active += u64::from(matches!(s.state, b'R' | b'D'));
        }
    }
    (active, total)
}

impl Loads {
    /// The average of the cgroup with task list `tasks`, now sampled.
    pub fn get(&self, tasks: &Path) -> LoadAvg {
        let mut map = self.by_tasks.lock().unwrap_or_else(|e| e.into_inner());
        let e = map.entry(tasks.to_owned()).or_insert(Entry {
            avg: LoadAvg::default(),
            read: Instant::now(),
        });
        e.read = Instant::now();
        e.avg
    }

    /// One sample of every cgroup read lately.
    pub fn sample(&self) {
        let tasks: Vec<PathBuf> = {
            let mut map = self.by_tasks.lock().unwrap_or_else(|e| e.into_inner());
            map.retain(|_, e| e.read.elapsed() < FORGET);
            map.keys().cloned().collect()
        };
        // Counted without the lock: readers are not held up by /proc.
        let counts: Vec<(PathBuf, u64)> = tasks
            .into_iter()
            .map(|t| {
                let (active, _) = count(&t);
                (t, active)
            })
            .collect();
        let mut map = self.by_tasks.lock().unwrap_or_else(|e| e.into_inner());
        for (t, active) in counts {
            if let Some(e) = map.get_mut(&t) {
                e.avg.update(active);
            }
        }
    }

    /// Samples every `PERIOD` until `done`.
    pub fn run(&self, done: &AtomicBool) {
        let mut next = Instant::now() + PERIOD;
        while !done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            if Instant::now() >= next {
                self.sample();
                next += PERIOD;
            }
        }
    }
}
