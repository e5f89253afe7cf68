//! Subordinate ids (`/etc/subuid`, `/etc/subgid`, shadow-utils' files):
//! the ranges a user may map into a user namespace through the setuid
//! `newuidmap`/`newgidmap`, as podman's rootless containers do.

use std::path::Path;

/// A range of host ids: `start`, `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubRange {
    pub start: u32,
    pub count: u32,
}

/// The first range of `file` for the user `name` or `uid` (lines
/// `USER:START:COUNT`, USER a name or a number); none when the file or the
/// user's line is missing.
pub fn first_range(file: &Path, uid: u32, name: &str) -> Option<SubRange> {
    let text = std::fs::read_to_string(file).ok()?;
    parse(&text, uid, name)
}

/// The calling user's first range in `file` (by effective uid and its
/// /etc/passwd name); none for root, whose user namespaces need no helper.
pub fn for_caller(file: &Path) -> Option<SubRange> {
    let uid = rustix::process::geteuid().as_raw();
    if uid == 0 {
        return None;
    }
    first_range(file, uid, &crate::passwd::Users::load().name(uid))
}

fn parse(text: &str, uid: u32, name: &str) -> Option<SubRange> {
    text.lines().find_map(|line| {
        let mut f = line.trim().split(':');
        let (user, start, count) = (f.next()?, f.next()?, f.next()?);
        let ours = user == name || user.parse::<u32>() == Ok(uid);
        let range = SubRange {
            start: start.parse().ok()?,
            count: count.parse().ok()?,
        };
        (ours && !user.starts_with('#') && range.count > 0).then_some(range)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_name_or_number_first_wins() {
        let text = "# comment\nalice:100000:65536\n1001:200000:1000\nbob:300000:0\nbob:400000:5\n";
        assert_eq!(
            parse(text, 1000, "alice"),
            Some(SubRange {
                start: 100000,
                count: 65536
            })
        );
        assert_eq!(
            parse(text, 1001, "carol"),
            Some(SubRange {
                start: 200000,
                count: 1000
            })
        );
        // an empty range is no range
        assert_eq!(
            parse(text, 7, "bob"),
            Some(SubRange {
                start: 400000,
                count: 5
            })
        );
        assert_eq!(parse(text, 9, "dave"), None);
    }
}
