//! Step 6 of `enter`: supplementary groups, gid and uid once inside.

use super::{Credential, EnterOptions};
use crate::Error;

/// The uid, gid and groups to take once inside.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Creds {
    pub(super) uid: Option<u32>,
    pub(super) gid: Option<u32>,
}

impl Creds {
    /// With a user namespace joined, uid and gid default to 0 (nsenter's
    /// behaviour), unless `preserve_credentials`. `owner` is the target's
    /// uid and gid, for [`Credential::Follow`].
    pub(super) fn resolve(
        opts: &EnterOptions,
        owner: Option<(u32, u32)>,
        joins_user: bool,
    ) -> Result<Creds, Error> {
        if opts.preserve_credentials {
            return Ok(Creds::default());
        }
        let default = joins_user.then_some(0);
        let pick = |c: Option<Credential>, follow: Option<u32>| match c {
            Some(Credential::Id(id)) => Ok(Some(id)),
            Some(Credential::Follow) => follow.map(Some).ok_or(Error::NoTargetFor {
                what: "ids to follow".into(),
            }),
            None => Ok(default),
        };
        Ok(Creds {
            uid: pick(opts.uid, owner.map(|o| o.0))?,
            gid: pick(opts.gid, owner.map(|o| o.1))?,
        })
    }

    /// setgroups, setgid, setuid, in that order. rustix's calls act on the
    /// calling thread only; the caller is single-threaded, so on the process.
    pub(super) fn apply(&self, groups_dropped: bool) -> Result<(), Error> {
        if let Some(gid) = self.gid {
            if let Err(e) = rustix::thread::set_thread_groups(&[]) {
                if !groups_dropped && !has_no_groups() {
                    return Err(Error::SetGroups { source: e.into() });
                }
            }
            set_gid(gid).map_err(|e| Error::SetGid {
                gid,
                source: e.into(),
            })?;
        }
        if let Some(uid) = self.uid {
            set_uid(uid).map_err(|e| Error::SetUid {
                uid,
                source: e.into(),
            })?;
        }
        Ok(())
    }
}

/// Drops supplementary groups while still privileged outside, when a gid
/// will be set: inside a user namespace whose `setgroups` is "deny" it is no
/// longer allowed. Returns whether that worked.
pub(super) fn drop_groups_early(opts: &EnterOptions, joins_user: bool) -> bool {
    let sets_gid = !opts.preserve_credentials && (opts.gid.is_some() || joins_user);
    sets_gid && rustix::thread::set_thread_groups(&[]).is_ok()
}

/// Whether there are no supplementary groups to drop (an unprivileged
/// caller may not call setgroups at all, yet has nothing to lose).
fn has_no_groups() -> bool {
    rustix::process::getgroups().is_ok_and(|g| g.is_empty())
}

/// -1 is not an id: to setuid(2) it means "leave unchanged".
fn set_uid(uid: u32) -> rustix::io::Result<()> {
    if uid == u32::MAX {
        return Err(rustix::io::Errno::INVAL);
    }
    rustix::thread::set_thread_uid(rustix::process::Uid::from_raw(uid))
}

fn set_gid(gid: u32) -> rustix::io::Result<()> {
    if gid == u32::MAX {
        return Err(rustix::io::Errno::INVAL);
    }
    rustix::thread::set_thread_gid(rustix::process::Gid::from_raw(gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_namespace_sets_ids_to_zero_unless_preserved() {
        let opts = EnterOptions::default();
        let c = Creds::resolve(&opts, None, true).unwrap();
        assert_eq!(
            c,
            Creds {
                uid: Some(0),
                gid: Some(0)
            }
        );
        let c = Creds::resolve(&opts, None, false).unwrap();
        assert_eq!(c, Creds::default());
        let opts = EnterOptions {
            uid: Some(Credential::Id(1000)),
            ..Default::default()
        };
        let c = Creds::resolve(&opts, None, true).unwrap();
        assert_eq!(
            c,
            Creds {
                uid: Some(1000),
                gid: Some(0)
            }
        );
        let opts = EnterOptions {
            uid: Some(Credential::Id(1000)),
            preserve_credentials: true,
            ..Default::default()
        };
        assert_eq!(Creds::resolve(&opts, None, true).unwrap(), Creds::default());
    }
}
