//! v2 freezing: write cgroup.freeze and wait until cgroup.events says
//! `frozen 1` (or `frozen 0` when thawing).

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::fs::{keyed, read, write};

const DEADLINE: Duration = Duration::from_secs(5);

pub fn freeze(dir: &Path) -> Result<()> {
    set(dir, true)
}

pub fn thaw(dir: &Path) -> Result<()> {
    set(dir, false)
}

/// Whether cgroup.events reports the cgroup frozen.
pub fn is_frozen(dir: &Path) -> Result<bool> {
    let path = dir.join("cgroup.events");
    let text = read(&path)?;
    keyed(&text, "frozen")
        .map(|v| v == 1)
        .ok_or_else(|| Error::BadValue {
            path,
            content: text.trim().to_owned(),
        })
}

fn set(dir: &Path, frozen: bool) -> Result<()> {
    write(&dir.join("cgroup.freeze"), if frozen { "1" } else { "0" })?;
    let start = Instant::now();
    let mut delay = Duration::from_micros(100);
    loop {
        if is_frozen(dir)? == frozen {
            return Ok(());
        }
        if start.elapsed() > DEADLINE {
            if frozen {
                let _ = write(&dir.join("cgroup.freeze"), "0");
            }
            return Err(Error::FreezeTimeout {
                path: dir.join("cgroup.events"),
                want: if frozen { "frozen 1" } else { "frozen 0" },
                last: if frozen { "frozen 0" } else { "frozen 1" }.to_owned(),
                millis: start.elapsed().as_millis(),
            });
        }
        sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_events() {
        let t = nsbox_testutil::TempDir::new("cg-v2-freeze");
        std::fs::write(t.join("cgroup.freeze"), "0\n").unwrap();
        std::fs::write(t.join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
        freeze(t.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(t.join("cgroup.freeze")).unwrap(),
            "1"
        );
        assert!(is_frozen(t.path()).unwrap());
    }
}
