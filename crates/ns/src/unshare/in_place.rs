//! The in-place path of `unshare`: `unshare(2)` then `execve(2)`, with a
//! helper forked beforehand only when the kernel needs an outside process.

use super::*;

/// # Safety
/// Single-threaded caller (see [`unshare`]).
pub(super) unsafe fn run_in_place(opts: &UnshareOptions) -> Result<Infallible, Error> {
    let mut files = Persisted::prepare(&opts.persist)?;
    let self_maps = self_writable(&opts.maps);
    let helper_maps = !self_maps && !maps_empty(&opts.maps);
    let helper_binds =
        !files.is_empty() && (opts.creates(NsKind::Mnt) || opts.creates(NsKind::User));
    if !(helper_maps || helper_binds) {
        let e = never_ok(in_place_steps(opts, None, self_maps, &mut files));
        files.undo();
        return Err(e);
    }
    // The helper owns the files from here: it undoes them unless told to commit.
    let helper_files = if helper_binds {
        std::mem::take(&mut files)
    } else {
        Persisted::default()
    };
    // SAFETY: single-threaded, as our caller guarantees.
    let mut helper =
        match unsafe { Helper::spawn(helper_files, helper_maps.then(|| opts.maps.clone())) } {
            Ok(h) => h,
            Err((e, helper_files)) => {
                helper_files.undo();
                files.undo();
                return Err(e);
            }
        };
    let e = never_ok(in_place_steps(
        opts,
        Some(&mut helper),
        self_maps,
        &mut files,
    ));
    helper.abort();
    files.undo();
    Err(e)
}

fn in_place_steps(
    opts: &UnshareOptions,
    mut helper: Option<&mut Helper>,
    self_maps: bool,
    files: &mut Persisted,
) -> Result<Infallible, Error> {
    let kinds = opts.kinds();
    let flags = UnshareFlags::from_bits_retain(crate::clone_flags(kinds.iter().copied()) as u32);
    // SAFETY: the flags hold only CLONE_NEW* bits, none of which (unlike
    // CLONE_FILES) changes which file descriptors this process owns.
    unsafe { rustix::thread::unshare_unsafe(flags) }.map_err(|e| {
        limits::explain_enospc(
            &kinds,
            Error::Unshare {
                kinds: label(&kinds),
                source: e.into(),
            },
        )
    })?;
    if opts.creates(NsKind::Time) {
        write_time_offsets(opts)?;
    }
    if opts.creates(NsKind::Mnt) {
        mountns::set_root_propagation(opts.propagation)?;
    }
    if let Some(h) = helper.as_deref_mut() {
        h.go()?;
    }
    if self_maps && !maps_empty(&opts.maps) {
        let mut maps = opts.maps.clone();
        if !maps.gid.is_empty() {
            // An unprivileged gid map needs setgroups denied first.
            maps.setgroups = Some(SetGroups::Deny);
        }
        maps.write(std::process::id())?;
    }
    enter_root(opts)?;
    set_ids(opts)?;
    if opts.keep_caps && opts.creates(NsKind::User) {
        keep_caps()?;
    }
    let mut program = Program::new(opts);
    if helper.is_some() || !files.is_empty() {
        // After the binds (or the helper's commit) a failed exec could not
        // undo them: find the program first.
        program = program.resolve()?;
    }
    files.bind(std::process::id())?;
    if let Some(h) = helper {
        h.commit();
    }
    Err(program.exec())
}

/// Whether this process can write `maps` for itself after unsharing its user
/// namespace: at most one uid line mapping its own euid and one gid line
/// mapping its own egid (and setgroups not allowed).
pub(super) fn self_writable(maps: &IdMaps) -> bool {
    let euid = rustix::process::geteuid().as_raw();
    let egid = rustix::process::getegid().as_raw();
    let single = |r: &[crate::IdRange], own: u32| {
        r.is_empty() || (r.len() == 1 && r[0].count == 1 && r[0].outside == own)
    };
    let gid_allowed = maps.gid.is_empty() || maps.setgroups != Some(SetGroups::Allow);
    single(&maps.uid, euid) && single(&maps.gid, egid) && gid_allowed
}

/// A process forked before `unshare(2)` that stays in the original
/// namespaces to write id maps and bind namespace files for its parent.
struct Helper {
    pid: Pid,
    /// `None` once the helper was told to commit or to undo.
    link: Option<Link>,
}

impl Helper {
    /// # Safety
    /// Single-threaded caller (see [`unshare`]).
    unsafe fn spawn(
        mut files: Persisted,
        maps: Option<IdMaps>,
    ) -> Result<Helper, (Error, Persisted)> {
        let (link, helper_link) = match wire::pair() {
            Ok(p) => p,
            Err(e) => return Err((e, files)),
        };
        let parent = std::process::id();
        // SAFETY: single-threaded caller; the child only runs helper_main,
        // which ends in _exit.
        match unsafe { libc::fork() } {
            -1 => Err((
                Error::Fork {
                    source: io::Error::last_os_error(),
                },
                files,
            )),
            0 => {
                drop(link);
                let maps = maps.unwrap_or_default();
                if !wire::told(&helper_link, |m| matches!(m, Msg::Go)) {
                    files.undo();
                    exit_now(0);
                }
                let done = if maps_empty(&maps) {
                    Ok(())
                } else {
                    maps.write(parent)
                };
                if let Err(e) = done.and_then(|()| files.bind(parent)) {
                    wire::send_failure(&helper_link, e);
                    files.undo();
                    exit_now(0);
                }
                let _ = helper_link.send(&Msg::Ready);
                if wire::told(&helper_link, |m| matches!(m, Msg::Commit)) {
                    files.keep();
                } else {
                    files.undo();
                }
                exit_now(0)
            }
            pid => {
                drop(helper_link);
                files.keep(); // the helper's copy is the one that acts
                Ok(Helper {
                    pid: Pid::from_raw(pid).expect("fork returned a positive pid"),
                    link: Some(link),
                })
            }
        }
    }

    /// We have unshared: write the maps, bind the files; wait for the result.
    fn go(&mut self) -> Result<(), Error> {
        let link = self.link.as_ref().expect("helper already finished");
        wire::send(link, &Msg::Go, "signal the helper")?;
        if wire::expect_ready(link, "helper")? {
            Ok(())
        } else {
            Err(wire::unexpected("helper", "ready", "end of file"))
        }
    }

    /// Keep what the helper did; reap it.
    fn commit(&mut self) {
        if let Some(link) = self.link.take() {
            let _ = link.send(&Msg::Commit);
        }
        reap(self.pid);
    }

    /// Take back what the helper did (it does so on end of file); reap it.
    fn abort(mut self) {
        if self.link.take().is_some() {
            reap(self.pid);
        }
    }
}
