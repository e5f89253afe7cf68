//! User and group id maps: parsing, validation, and writing `/proc/PID/uid_map`
//! and `gid_map` (directly when privileged, through `newuidmap`/`newgidmap`
//! from the shadow suite when not).

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;
use std::process::Command;
use std::str::FromStr;

use crate::Error;

/// One line of an id map: `count` ids starting at `inside` in the namespace
/// are ids starting at `outside` in its parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdRange {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// The kernel takes at most this many lines per map (since Linux 4.15).
pub const MAX_RANGES: usize = 340;

impl FromStr for IdRange {
    type Err = Error;

    /// `inside:outside:count` (util-linux 2.39+ and nsbox), or util-linux
    /// 2.38's `outside,inside,count`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why: &'static str| Error::BadIdMap {
            text: text.to_string(),
            why: why.into(),
        };
        let (fields, comma): (Vec<&str>, bool) = if text.contains(',') {
            (text.split(',').collect(), true)
        } else {
            (text.split(':').collect(), false)
        };
        if fields.len() != 3 {
            return Err(bad("expected INSIDE:OUTSIDE:COUNT, e.g. 0:10000:2000"));
        }
        let num = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| bad("ids and count must be unsigned 32-bit numbers"))
        };
        let (a, b, count) = (num(fields[0])?, num(fields[1])?, num(fields[2])?);
        let (inside, outside) = if comma { (b, a) } else { (a, b) };
        let range = IdRange {
            inside,
            outside,
            count,
        };
        range.check().map_err(bad)?;
        Ok(range)
    }
}

impl IdRange {
    /// One id mapped to one id.
    pub fn single(inside: u32, outside: u32) -> IdRange {
        IdRange {
            inside,
            outside,
            count: 1,
        }
    }

    fn check(&self) -> Result<(), &'static str> {
        if self.count == 0 {
            return Err("count must be at least 1");
        }
        if self.inside.checked_add(self.count - 1).is_none()
            || self.outside.checked_add(self.count - 1).is_none()
        {
            return Err("range runs past id 4294967295");
        }
        Ok(())
    }

    fn overlaps(&self, other: &IdRange, key: fn(&IdRange) -> u32) -> bool {
        let (a, b) = (key(self) as u64, key(other) as u64);
        a < b + other.count as u64 && b < a + self.count as u64
    }
}

/// Checks a whole map the way the kernel will, so the user gets a reason
/// instead of a bare EINVAL.
pub fn validate(ranges: &[IdRange]) -> Result<(), Error> {
    let text = || format_map(ranges).trim_end().replace('\n', ", ");
    if ranges.is_empty() {
        return Err(Error::BadIdMap {
            text: String::new(),
            why: "map is empty".into(),
        });
    }
    if ranges.len() > MAX_RANGES {
        return Err(Error::BadIdMap {
            text: text(),
            why: "more than 340 ranges".into(),
        });
    }
    for (i, a) in ranges.iter().enumerate() {
        a.check().map_err(|why| Error::BadIdMap {
            text: text(),
            why: why.into(),
        })?;
        for b in &ranges[i + 1..] {
            if a.overlaps(b, |r| r.inside) {
                return Err(Error::BadIdMap {
                    text: text(),
                    why: "ranges overlap inside the namespace".into(),
                });
            }
            if a.overlaps(b, |r| r.outside) {
                return Err(Error::BadIdMap {
                    text: text(),
                    why: "ranges overlap outside the namespace".into(),
                });
            }
        }
    }
    Ok(())
}

/// The `/proc/PID/uid_map` text for `ranges`: one `inside outside count` line each.
pub fn format_map(ranges: &[IdRange]) -> String {
    let mut s = String::new();
    for r in ranges {
        let _ = writeln!(s, "{} {} {}", r.inside, r.outside, r.count);
    }
    s
}

/// What `/proc/PID/setgroups` should say before the gid map is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetGroups {
    Allow,
    Deny,
}

impl FromStr for SetGroups {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "allow" => Ok(SetGroups::Allow),
            "deny" => Ok(SetGroups::Deny),
            _ => Err(Error::BadIdMap {
                text: s.to_string(),
                why: "setgroups must be allow or deny".into(),
            }),
        }
    }
}

/// The maps to give one user namespace.
#[derive(Clone, Debug, Default)]
pub struct IdMaps {
    pub uid: Vec<IdRange>,
    pub gid: Vec<IdRange>,
    pub setgroups: Option<SetGroups>,
}

impl IdMaps {
    /// Writes the maps of the user namespace that process `pid` is in.
    ///
    /// The writer must sit in the parent user namespace (or be `pid` itself
    /// for a single self-mapping). Maps are written directly; when that is
    /// refused (EPERM: not privileged over the outside ids) and the shadow
    /// suite's setuid helpers exist, they are used instead.
    pub fn write(&self, pid: u32) -> Result<(), Error> {
        if !self.uid.is_empty() {
            validate(&self.uid)?;
        }
        if !self.gid.is_empty() {
            validate(&self.gid)?;
        }
        match self.write_direct(pid) {
            Err(e) if e.errno() == Some(libc::EPERM) && helpers_available() => {
                self.write_with_helpers(pid)
            }
            other => other,
        }
    }

    fn write_direct(&self, pid: u32) -> Result<(), Error> {
        if let Some(sg) = self.setgroups {
            let word = match sg {
                SetGroups::Allow => "allow",
                SetGroups::Deny => "deny",
            };
            write_proc(pid, "setgroups", word)?;
        }
        if !self.uid.is_empty() {
            write_proc(pid, "uid_map", &format_map(&self.uid))?;
        }
        if !self.gid.is_empty() {
            write_proc(pid, "gid_map", &format_map(&self.gid))?;
        }
        Ok(())
    }

    fn write_with_helpers(&self, pid: u32) -> Result<(), Error> {
        if !self.uid.is_empty() {
            run_helper("newuidmap", pid, &self.uid)?;
        }
        if !self.gid.is_empty() {
            // newgidmap writes setgroups itself ("deny" unless /etc/subgid allows).
            run_helper("newgidmap", pid, &self.gid)?;
        }
        Ok(())
    }
}

fn write_proc(pid: u32, file: &str, text: &str) -> Result<(), Error> {
    let path = PathBuf::from(format!("/proc/{pid}/{file}"));
    std::fs::write(&path, text).map_err(|source| Error::Write { path, source }.for_pid(pid))
}

fn helpers_available() -> bool {
    ["/usr/bin/newuidmap", "/usr/bin/newgidmap"]
        .iter()
        .all(|p| std::path::Path::new(p).exists())
}

fn run_helper(program: &'static str, pid: u32, ranges: &[IdRange]) -> Result<(), Error> {
    let mut args = vec![pid.to_string()];
    for r in ranges {
        args.extend([
            r.inside.to_string(),
            r.outside.to_string(),
            r.count.to_string(),
        ]);
    }
    let out = Command::new(program)
        .args(&args)
        .output()
        .map_err(|source| Error::Spawn {
            program: program.into(),
            source,
        })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(Error::HelperFailed {
        program: program.into(),
        args: args.join(" "),
        status: match stderr.lines().next() {
            Some(line) if !line.is_empty() => line.to_string(),
            _ => out.status.to_string(),
        },
    })
}

/// Errors from the kernel when writing a map, for callers that map raw io errors.
pub fn is_permission(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EPERM)
}

/// Whether the calling process's user namespace is not the host's (the
/// host's maps every id to itself: `0 0 4294967295`). Its root is then a
/// user like any other to the host: rootless podman calls its runtime as
/// root of such a namespace.
pub fn in_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .is_ok_and(|map| map.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_spellings() {
        let r: IdRange = "0:10000:2000".parse().unwrap();
        assert_eq!(
            r,
            IdRange {
                inside: 0,
                outside: 10000,
                count: 2000
            }
        );
        // util-linux 2.38: outer,inner,count
        let r: IdRange = "10000,0,2000".parse().unwrap();
        assert_eq!(
            r,
            IdRange {
                inside: 0,
                outside: 10000,
                count: 2000
            }
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["0:10000", "a:b:c", "0:1:0", "4294967295:0:2", "", "1:2:3:4"] {
            let err = bad.parse::<IdRange>().unwrap_err();
            assert!(
                err.to_string().starts_with("invalid id map"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn overlap_is_refused() {
        let a = IdRange {
            inside: 0,
            outside: 1000,
            count: 10,
        };
        let b = IdRange {
            inside: 5,
            outside: 5000,
            count: 10,
        };
        let err = validate(&[a, b]).unwrap_err().to_string();
        assert!(err.contains("overlap inside"), "{err}");
        let c = IdRange {
            inside: 100,
            outside: 1005,
            count: 1,
        };
        let err = validate(&[a, c]).unwrap_err().to_string();
        assert!(err.contains("overlap outside"), "{err}");
        validate(&[
            a,
            IdRange {
                inside: 10,
                outside: 1010,
                count: 5,
            },
        ])
        .unwrap();
    }

    #[test]
    fn proc_format() {
        assert_eq!(
            format_map(&[
                IdRange::single(0, 1000),
                IdRange {
                    inside: 1,
                    outside: 100000,
                    count: 65536
                }
            ]),
            "0 1000 1\n1 100000 65536\n"
        );
    }
}
