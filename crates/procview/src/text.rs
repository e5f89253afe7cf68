//! Reading the small kernel files the view is made from (/proc, cgroup
//! files) in as few read(2)s as the file needs: they say their size is 0,
//! so `std::fs::read_to_string` starts with tiny probing reads (seven for
//! /proc/meminfo); a buffer of a page or two takes most in one.

use std::io::Read;
use std::path::Path;

/// Bytes asked for by the first read.
const FIRST: usize = 8192;

/// The file's text.
pub fn read(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut buf = Vec::with_capacity(FIRST);
    f.read_to_end(&mut buf)?;
    String::from_utf8(buf).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// A file holding one number (`max` is u64::MAX); `None` when it does not
/// exist.
pub fn read_u64(path: &Path) -> std::io::Result<Option<u64>> {
    let text = match read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    nsbox_cgroups::fs::parse_u64(text.trim())
        .map(Some)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_files_and_numbers() {
        let t = nsbox_testutil::TempDir::new("procview-text");
        let big = "x".repeat(3 * FIRST + 5);
        std::fs::write(t.join("big"), &big).unwrap();
        assert_eq!(read(&t.join("big")).unwrap(), big);
        std::fs::write(t.join("n"), "max\n").unwrap();
        assert_eq!(read_u64(&t.join("n")).unwrap(), Some(u64::MAX));
        std::fs::write(t.join("n"), "42\n").unwrap();
        assert_eq!(read_u64(&t.join("n")).unwrap(), Some(42));
        assert_eq!(read_u64(&t.join("none")).unwrap(), None);
        std::fs::write(t.join("n"), "x\n").unwrap();
        assert!(read_u64(&t.join("n")).is_err());
        assert!(read(Path::new("/proc/self/status"))
            .unwrap()
            .contains("Pid:"));
    }
}
