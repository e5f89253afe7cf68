//! Reading and writing cgroup files. Every error keeps the path, and for
//! writes the data, so that a refused limit names exactly what was tried.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// Reads a whole cgroup (or /proc) file.
pub fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })
}

/// Writes `data` to an existing cgroup file in one `write(2)`; a missing file
/// is an error (ENOENT), never created.
pub fn write_raw(path: &Path, data: &str) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).truncate(true).open(path)?;
    let n = f.write(data.as_bytes())?;
    if n != data.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("short write: {n} of {} bytes", data.len()),
        ));
    }
    Ok(())
}

/// Writes a cgroup file that is not a resource field (cgroup.procs, freeze).
pub fn write(path: &Path, data: &str) -> Result<()> {
    write_raw(path, data).map_err(|source| Error::Write {
        path: path.to_owned(),
        data: data.to_owned(),
        source,
    })
}

/// Writes the value of resource field `field` to `dir/file`.
pub fn write_field(field: &str, dir: &Path, file: &str, data: &str) -> Result<()> {
    let path = dir.join(file);
    write_raw(&path, data).map_err(|source| Error::Apply {
        field: field.to_owned(),
        path,
        data: data.to_owned(),
        source,
    })
}

/// Reads a file holding one unsigned number; `max` reads as `u64::MAX`.
pub fn read_u64(path: &Path) -> Result<u64> {
    let text = read(path)?;
    parse_u64(text.trim()).ok_or_else(|| Error::BadValue {
        path: path.to_owned(),
        content: text.trim().to_owned(),
    })
}

/// Like [`read_u64`] but a missing file is `None`.
pub fn read_u64_opt(path: &Path) -> Result<Option<u64>> {
    if !path.exists() {
        return Ok(None);
    }
    read_u64(path).map(Some)
}

/// Parses a number as cgroup files print it; `max` is `u64::MAX`, v1's
/// "unlimited" (a page-rounded `i64::MAX`) stays as printed.
pub fn parse_u64(s: &str) -> Option<u64> {
    if s == "max" {
        return Some(u64::MAX);
    }
    s.parse().ok()
}

/// Looks up `key` in a flat-keyed file (`key value` per line: memory.stat,
/// cpu.stat, memory.events, cgroup.events, memory.oom_control).
pub fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next() == Some(key))
            .then(|| it.next().and_then(parse_u64))
            .flatten()
    })
}

/// Reads a flat-keyed file and looks up `key`; a missing key is an error
/// naming the file.
pub fn read_keyed(path: &Path, key: &str) -> Result<u64> {
    let text = read(path)?;
    keyed(&text, key).ok_or_else(|| Error::BadValue {
        path: path.to_owned(),
        content: format!("no {key} in {:?}", text.trim()),
    })
}

/// Reads a list of pids (cgroup.procs).
pub fn read_pids(path: &Path) -> Result<Vec<u32>> {
    let text = read(path)?;
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.trim().parse().map_err(|_| Error::BadValue {
                path: path.to_owned(),
                content: l.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_lookup() {
        let t = "usage_usec 10\nuser_usec 7\nsystem_usec 3\n";
        assert_eq!(keyed(t, "user_usec"), Some(7));
        assert_eq!(keyed(t, "usage"), None);
        assert_eq!(keyed("max max\n", "max"), Some(u64::MAX));
    }

    #[test]
    fn write_never_creates() {
        let d = nsbox_testutil::TempDir::new("cg-fs");
        let e = write_field("pids.limit", d.path(), "pids.max", "5").unwrap_err();
        let msg = format!("{e}: {}", std::error::Error::source(&e).unwrap());
        assert!(msg.starts_with("pids.limit: write \"5\" to "), "{msg}");
        assert!(
            msg.ends_with("pids.max: No such file or directory (os error 2)"),
            "{msg}"
        );
        assert!(!d.join("pids.max").exists());
        fs::write(d.join("pids.max"), "max\n").unwrap();
        write_field("pids.limit", d.path(), "pids.max", "5").unwrap();
        assert_eq!(read_u64(&d.join("pids.max")).unwrap(), 5);
    }

    #[test]
    fn pids_list() {
        let d = nsbox_testutil::TempDir::new("cg-fs-pids");
        fs::write(d.join("cgroup.procs"), "1\n22\n").unwrap();
        assert_eq!(read_pids(&d.join("cgroup.procs")).unwrap(), vec![1, 22]);
    }
}
