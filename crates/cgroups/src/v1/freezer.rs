//! v1 freezer: write FROZEN or THAWED to freezer.state and wait until the
//! kernel reports it. Freezing can stall in FREEZING (a task in an
//! uninterruptible sleep); we write again while waiting, and give up after a
//! deadline, thawing so nothing is left half-frozen.

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::fs::{read, write};

const STATE: &str = "freezer.state";
const DEADLINE: Duration = Duration::from_secs(5);

pub fn freeze(dir: &Path) -> Result<()> {
    set(dir, "FROZEN")
}

pub fn thaw(dir: &Path) -> Result<()> {
    set(dir, "THAWED")
}

/// The current state: THAWED, FREEZING or FROZEN.
pub fn state(dir: &Path) -> Result<String> {
    Ok(read(&dir.join(STATE))?.trim().to_owned())
}

fn set(dir: &Path, want: &'static str) -> Result<()> {
    let path = dir.join(STATE);
    let start = Instant::now();
    let mut delay = Duration::from_micros(100);
    loop {
        write(&path, want)?;
        let now = state(dir)?;
        if now == want {
            return Ok(());
        }
        if start.elapsed() > DEADLINE {
            if want == "FROZEN" {
                let _ = write(&path, "THAWED");
            }
            return Err(Error::FreezeTimeout {
                path,
                want,
                last: now,
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
    fn state_written_and_read_back() {
        let t = nsbox_testutil::TempDir::new("cg-v1-freezer");
        std::fs::write(t.join(STATE), "THAWED\n").unwrap();
        freeze(t.path()).unwrap();
        assert_eq!(state(t.path()).unwrap(), "FROZEN");
        thaw(t.path()).unwrap();
        assert_eq!(state(t.path()).unwrap(), "THAWED");
    }
}
