//! The server: answers requests on the connection a holder passed it, in a
//! few request loops on clones of it, until the connection ends or it is
//! told to stop (TERM, INT, HUP, or its holder's death). It never reads on
//! the holder's descriptor itself: a request in progress there would outlive
//! the server, while one on a clone ends with the clone.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use nsbox_ns::supervise::Signals;
use rustix::event::{PollFd, PollFlags, Timespec};

use crate::device;
use crate::error::{Error, Result};
use crate::filesystem::ProcView;
use crate::session;
use crate::state::{self, Role, State};
use crate::view::Source;

/// Request loops serving the mount at once.
const THREADS: usize = 4;

/// Serves `master` (mounted on `mount_point`) until the connection ends
/// (returns) or a stop signal (unmounts, then exits this process with 0:
/// the holder takes a clean exit as the end of the view).
pub fn serve(state_dir: &Path, master: OwnedFd, mount_point: &Path) -> Result<()> {
    // The holder's death ends the view: TERM then, as from `stop`.
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM)).map_err(
        |source| Error::Device {
            step: "ask for a signal at the holder's death",
            source,
        },
    )?;
    // Blocked before any thread exists, so every thread inherits the mask.
    let signals = Signals::block().map_err(Error::Signals)?;
    let source = Source::detect()?;
    let clones = (0..THREADS)
        .map(|_| device::clone(master.as_fd()))
        .collect::<Result<Vec<_>>>()?;
    drop(master);
    let loads = source.loads();
    let fs = ProcView::new(source);
    let me = State::me(mount_point)?;
    state::write(state_dir, Role::Server, &me)?;
    let done = AtomicBool::new(false);
    let stop = |code: i32| -> ! {
        let _ = device::detach(mount_point);
        state::remove(state_dir, Role::Server, &me);
        std::process::exit(code)
    };
    std::thread::scope(|s| {
        for fd in &clones {
            let (fs, done) = (&fs, &done);
            s.spawn(move || match session::run(fd, fs) {
                Ok(()) => done.store(true, Ordering::Relaxed),
                Err(e) => {
                    // Not the end of the connection: a server that the
                    // holder replaces (in-progress requests end with it).
                    eprintln!("nsbox proc-view: serve {}: {e}", mount_point.display());
                    std::process::exit(1)
                }
            });
        }
        s.spawn(|| loads.run(&done));
        if wait(&signals, &done) {
            stop(0);
        }
    });
    // The connection ended (the mount is gone): every loop has returned.
    state::remove(state_dir, Role::Server, &me);
    Ok(())
}

/// Until a loop ends (`done`: false) or a stop signal comes (true).
fn wait(signals: &Signals, done: &AtomicBool) -> bool {
    let tick = Timespec {
        tv_sec: 0,
        tv_nsec: 100_000_000,
    };
    while !done.load(Ordering::Relaxed) {
        let fd = signals.fd();
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        let _ = rustix::event::poll(&mut fds, Some(&tick));
        while let Some(r) = signals.read() {
            if matches!(r.signal, libc::SIGTERM | libc::SIGINT | libc::SIGHUP) {
                return true;
            }
        }
    }
    false
}
