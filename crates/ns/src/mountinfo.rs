//! `/proc/PID/mountinfo` (proc(5)), one parser for every reader:
//!
//! ```text
//! 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//! id par maj:min root point options optional... - fstype source super-options
//! ```
//!
//! [`Entry::parse`] splits a line without allocating and keeps each field as
//! the kernel wrote it; the paths (root, mount point, source) escape space,
//! tab, newline and backslash as octal `\ooo`, undone by [`unescape`] only
//! when a caller asks for them ([`Entry::root`], [`Entry::mount_point`]), so
//! that scanning a large table for a few lines (`ns ls` looks for nsfs
//! mounts) costs no allocation per line.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

/// The text of one mountinfo field (a mount point, a root) with its octal
/// escapes undone; bytes, not UTF-8, since paths need not be UTF-8.
pub fn unescape(field: &[u8]) -> OsString {
    let s = field;
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\'
            && i + 3 < s.len()
            && s[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((s[i + 1] - b'0') * 64 + (s[i + 2] - b'0') * 8 + (s[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    OsString::from_vec(out)
}

/// One mountinfo line, split into its fields, still escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Field 1: the mount's unique id.
    pub mount_id: &'a [u8],
    /// Field 2: the id of the parent mount.
    pub parent_id: &'a [u8],
    /// Field 3: `major:minor` of the file system (the same for every mount
    /// of one superblock).
    pub major_minor: &'a [u8],
    /// Field 4: the directory of the file system mounted here, escaped
    /// (`/` for a whole file system; `net:[4026532177]` for an nsfs mount).
    pub root_raw: &'a [u8],
    /// Field 5: where it is mounted, escaped.
    pub mount_point_raw: &'a [u8],
    /// Field 6: per-mount options (`rw,nosuid`).
    pub options: &'a [u8],
    /// Fields 7..: optional fields (`shared:5 master:1`), space-separated.
    pub optional: &'a [u8],
    /// After `-`: the file system type (`proc`, `cgroup2`, `nsfs`).
    pub fs_type: &'a [u8],
    /// After `-`: the mount source, escaped (`/dev/sda1`, `proc`).
    pub source_raw: &'a [u8],
    /// After `-`: per-superblock options (for v1 cgroups: the controllers).
    pub super_options: &'a [u8],
}

/// Why a line is not a mountinfo entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    NoSeparator,
    NoFsType,
    TooFewFields,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for ParseError {}

impl ParseError {
    /// The reason as static text, for errors that keep a `&'static str`.
    pub fn reason(self) -> &'static str {
        match self {
            ParseError::NoSeparator => "no \" - \"",
            ParseError::NoFsType => "no file system type",
            ParseError::TooFewFields => "fewer than 6 fields before \" - \"",
        }
    }
}

impl<'a> Entry<'a> {
    /// Splits one line (without its newline).
    pub fn parse(line: &'a [u8]) -> Result<Entry<'a>, ParseError> {
        let sep = line
            .windows(3)
            .position(|w| w == b" - ")
            .ok_or(ParseError::NoSeparator)?;
        let mut right = line[sep + 3..].splitn(3, |&b| b == b' ');
        let fs_type = right
            .next()
            .filter(|t| !t.is_empty())
            .ok_or(ParseError::NoFsType)?;
        let source_raw = right.next().unwrap_or_default();
        let super_options = right.next().unwrap_or_default();
        let mut left = line[..sep].splitn(7, |&b| b == b' ');
        let mut next = || left.next().ok_or(ParseError::TooFewFields);
        let (mount_id, parent_id, major_minor) = (next()?, next()?, next()?);
        let (root_raw, mount_point_raw, options) = (next()?, next()?, next()?);
        let optional = left.next().unwrap_or_default();
        Ok(Entry {
            mount_id,
            parent_id,
            major_minor,
            root_raw,
            mount_point_raw,
            options,
            optional,
            fs_type,
            source_raw,
            super_options,
        })
    }

    /// The file system type only, for a caller that skips most lines: the
    /// word after `" - "`, found without splitting the rest.
    pub fn fs_type_of(line: &[u8]) -> Option<&[u8]> {
        let sep = line.windows(3).position(|w| w == b" - ")?;
        line[sep + 3..].split(|&b| b == b' ').next()
    }

    /// Field 4 unescaped: the directory of the file system mounted here.
    pub fn root(&self) -> PathBuf {
        PathBuf::from(unescape(self.root_raw))
    }

    /// Field 5 unescaped: the mount point.
    pub fn mount_point(&self) -> PathBuf {
        PathBuf::from(unescape(self.mount_point_raw))
    }

    /// The mount source unescaped.
    pub fn source(&self) -> OsString {
        unescape(self.source_raw)
    }

    /// Whether the whole file system is mounted here (root `/`), not a
    /// directory of it (a bind mount).
    pub fn is_whole(&self) -> bool {
        self.root_raw == b"/"
    }

    /// Whether the per-mount options hold `option` (`ro`, `nosuid`...).
    pub fn has_option(&self, option: &str) -> bool {
        self.options
            .split(|&b| b == b',')
            .any(|o| o == option.as_bytes())
    }
}

/// The entries of a whole mountinfo text, in order (parents before
/// children), each with its 1-based line number; empty lines are skipped.
pub fn entries(text: &[u8]) -> impl Iterator<Item = (usize, Result<Entry<'_>, ParseError>)> {
    text.split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(i, line)| (i + 1, Entry::parse(line)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_escapes() {
        assert_eq!(unescape(br"/a\040b"), "/a b");
        assert_eq!(unescape(br"/tab\011end\134"), "/tab\tend\\");
        assert_eq!(unescape(br"a\040b\134"), "a b\\");
        assert_eq!(unescape(br"/plain"), "/plain");
        // Not an escape: too short, or not octal.
        assert_eq!(unescape(br"/x\04"), "/x\\04");
        assert_eq!(unescape(br"end\04"), "end\\04");
        assert_eq!(unescape(br"/x\089"), "/x\\089");
    }

    #[test]
    fn splits_every_field() {
        let line = br"36 35 98:0 /mnt1 /mnt\0402 rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue";
        let e = Entry::parse(line).unwrap();
        assert_eq!(e.mount_id, b"36");
        assert_eq!(e.parent_id, b"35");
        assert_eq!(e.major_minor, b"98:0");
        assert_eq!(e.root(), PathBuf::from("/mnt1"));
        assert_eq!(e.mount_point(), PathBuf::from("/mnt 2"));
        assert_eq!(e.options, b"rw,noatime");
        assert!(e.has_option("noatime") && !e.has_option("ro"));
        assert_eq!(e.optional, b"master:1 shared:2");
        assert_eq!(e.fs_type, b"ext3");
        assert_eq!(e.source(), "/dev/root");
        assert_eq!(e.super_options, b"rw,errors=continue");
        assert!(!e.is_whole());
        assert_eq!(Entry::fs_type_of(line), Some(&b"ext3"[..]));
    }

    #[test]
    fn no_optional_fields_and_bad_lines() {
        let e = Entry::parse(b"22 1 0:21 / /proc rw - proc proc rw").unwrap();
        assert_eq!(e.optional, b"");
        assert!(e.is_whole());
        assert_eq!(e.fs_type, b"proc");
        assert_eq!(Entry::parse(b"garbage"), Err(ParseError::NoSeparator));
        assert_eq!(
            Entry::parse(b"1 2 3 - x y z"),
            Err(ParseError::TooFewFields)
        );
        assert_eq!(
            Entry::parse(b"1 2 0:1 / /x rw - "),
            Err(ParseError::NoFsType)
        );
        let lines: Vec<_> = entries(b"22 1 0:21 / /proc rw - proc proc rw\n\nbad\n").collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].0, 3);
        assert!(lines[1].1.is_err());
    }
}
