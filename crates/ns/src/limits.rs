//! `/proc/sys/user/max_*_namespaces`: how many namespaces of each kind a user
//! may own, and how to explain hitting that limit.

use std::path::PathBuf;

use crate::{Error, NsKind};

/// The current value of `kind`'s limit file.
pub fn limit(kind: NsKind) -> Result<u64, Error> {
    let path = PathBuf::from(kind.limit_file());
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    text.trim().parse().map_err(|_| Error::Read {
        path,
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not a number"),
    })
}

/// Turns an ENOSPC from unshare/clone/setns for `kinds` into an error naming
/// each limit file and its value; other errors are returned as given.
pub fn explain_enospc(kinds: &[NsKind], err: Error) -> Error {
    if err.errno() != Some(libc::ENOSPC) {
        return err;
    }
    let limits = kinds
        .iter()
        .map(|k| match limit(*k) {
            Ok(v) => format!("{} = {v}", k.limit_file()),
            Err(_) => format!("{} unreadable", k.limit_file()),
        })
        .chain(
            kinds
                .contains(&NsKind::User)
                .then(|| "user namespaces nest at most 32 deep".to_string()),
        )
        .collect::<Vec<_>>()
        .join(", ");
    Error::LimitReached {
        kinds: kinds
            .iter()
            .map(|k| k.proc_name())
            .collect::<Vec<_>>()
            .join("+"),
        limits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_readable_limit() {
        for k in NsKind::ALL {
            assert!(limit(k).unwrap() > 0, "{}", k.limit_file());
        }
    }

    #[test]
    fn enospc_names_the_file() {
        let raw = Error::Unshare {
            kinds: "net".into(),
            source: std::io::Error::from_raw_os_error(libc::ENOSPC),
        };
        let msg = explain_enospc(&[NsKind::Net], raw).to_string();
        assert!(
            msg.contains("/proc/sys/user/max_net_namespaces = "),
            "{msg}"
        );
    }
}
