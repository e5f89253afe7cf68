//! Proof that nsbox is single-threaded where it clones.
//!
//! clone3 copies only the calling thread: a lock (malloc's, stdio's) held
//! by any other thread stays held forever in the child, which then may only
//! make async-signal-safe calls. The container's init allocates freely, so
//! the runtime clones only with a [`SingleThreaded`] in hand, and the only
//! way to get one is [`SingleThreaded::check`], which asks the kernel. That
//! is why `create`, `run` and `exec` are safe functions: called from a
//! process with other threads they fail with [`Error::Threaded`] instead of
//! forking.

use std::marker::PhantomData;

use nsbox_ns::procstat::Stat;
use nsbox_ns::{CloneOptions, Forked};

use crate::Error;

/// The calling process had one thread when this was made. Not `Send`: it
/// stays on the thread that checked. Taken right before the clone it
/// allows (nothing in between starts a thread), and consumed by it.
#[derive(Debug)]
pub struct SingleThreaded {
    _on_this_thread: PhantomData<*const ()>,
}

impl SingleThreaded {
    /// Counts our threads (field 20 of `/proc/self/stat`); more than one is
    /// [`Error::Threaded`]. nsbox starts none; a library caller might.
    pub fn check() -> Result<SingleThreaded, Error> {
        let stat = Stat::read_self().map_err(|e| Error::ProcStat {
            pid: std::process::id(),
            source: crate::liveness::io_error(e),
        })?;
        if stat.num_threads > 1 {
            return Err(Error::Threaded {
                threads: stat.num_threads,
            });
        }
        Ok(SingleThreaded {
            _on_this_thread: PhantomData,
        })
    }

    /// `nsbox_ns::clone3` for a single-threaded caller: the child may do
    /// anything before it leaves.
    ///
    /// # Safety
    ///
    /// The child must leave by `execve` or `_exit`, never by returning into
    /// code that expects to be the parent (it would run the parent's
    /// destructors a second time and flush its buffers twice).
    pub unsafe fn clone3(self, opts: &CloneOptions<'_>) -> Result<Forked, nsbox_ns::Error> {
        // SAFETY: `self` proves the process is single-threaded (clone3's
        // first condition); the caller keeps the second (leave by execve or
        // _exit), as this function's `# Safety` asks.
        unsafe { nsbox_ns::clone3(opts) }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_test_process_is_threaded() {
        // The test harness runs tests on threads: the check must refuse here.
        let t = std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_millis(200)));
        let err = super::SingleThreaded::check().unwrap_err();
        assert!(err.to_string().contains("threads"), "{err}");
        t.join().unwrap();
    }
}
