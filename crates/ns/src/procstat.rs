//! `/proc/PID/stat` (proc(5)), parsed in one place: the command name sits
//! in parentheses and may itself hold spaces and parentheses, so the fields
//! are counted from the *last* `)`.

use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

/// The fields of `/proc/PID/stat` that nsbox reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Field 1.
    pub pid: u32,
    /// Field 2, without its parentheses (the thread name, at most 15 bytes).
    pub comm: OsString,
    /// Field 3: `R`, `S`, `D`, `Z`, `T`, `t`, `X`, `I`...
    pub state: u8,
    /// Field 4.
    pub ppid: u32,
    /// Field 20.
    pub num_threads: u64,
    /// Field 22: clock ticks after boot when the process started; with the
    /// pid, what tells a process from a later one that reused its pid.
    pub start_time: u64,
}

/// Why `/proc/PID/stat` could not be had.
#[derive(Debug, thiserror::Error)]
pub enum StatError {
    #[error("read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: no {field} field")]
    Malformed { path: PathBuf, field: &'static str },
}

impl Stat {
    /// Parses the text of a stat file (`path` only names it in errors).
    pub fn parse(text: &[u8], path: &std::path::Path) -> Result<Stat, StatError> {
        let bad = |field| StatError::Malformed {
            path: path.to_owned(),
            field,
        };
        let open = text.iter().position(|&b| b == b'(').ok_or(bad("comm"))?;
        let close = text.iter().rposition(|&b| b == b')').ok_or(bad("comm"))?;
        if close < open {
            return Err(bad("comm"));
        }
        let pid = number(&text[..open]).ok_or(bad("pid"))?;
        let comm = OsString::from_vec(text[open + 1..close].to_vec());
        // Fields 3.. after the name; fields[0] is field 3.
        let mut fields = text[close + 1..]
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        let state = *fields.next().and_then(|f| f.first()).ok_or(bad("state"))?;
        let ppid = fields.next().and_then(number).ok_or(bad("ppid"))?;
        // Field 20 is 16 after field 4; field 22 two after that.
        let num_threads = fields.nth(15).and_then(number).ok_or(bad("num_threads"))?;
        let start_time = fields.nth(1).and_then(number).ok_or(bad("starttime"))?;
        Ok(Stat {
            pid: u32::try_from(pid).map_err(|_| bad("pid"))?,
            comm,
            state,
            ppid: u32::try_from(ppid).map_err(|_| bad("ppid"))?,
            num_threads,
            start_time,
        })
    }

    /// `/proc/PID/stat`; `Ok(None)` when there is no such process (any more).
    pub fn read(pid: u32) -> Result<Option<Stat>, StatError> {
        read_at(PathBuf::from(format!("/proc/{pid}/stat")))
    }

    /// `/proc/self/stat`: the calling process.
    pub fn read_self() -> Result<Stat, StatError> {
        let path = PathBuf::from("/proc/self/stat");
        read_at(path.clone())?.ok_or(StatError::Read {
            path,
            source: io::Error::from_raw_os_error(libc::ESRCH),
        })
    }

    /// A zombie (`Z`) or dead (`X`, `x`) process: it has exited and runs
    /// nothing any more.
    pub fn has_exited(&self) -> bool {
        matches!(self.state, b'Z' | b'X' | b'x')
    }
}

fn read_at(path: PathBuf) -> Result<Option<Stat>, StatError> {
    match std::fs::read(&path) {
        Ok(text) => Stat::parse(&text, &path).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ESRCH) => {
            Ok(None)
        }
        Err(source) => Err(StatError::Read { path, source }),
    }
}

fn number(s: &[u8]) -> Option<u64> {
    let s = s.trim_ascii();
    if s.is_empty() || s.len() > 20 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn name_with_spaces_and_parentheses() {
        let mut line = b"4242 (a) b (c)) S 17 4242 4242 0 -1 4194560 ".to_vec();
        // Fields 10..19, then 20 (num_threads), 21, 22 (starttime), more.
        line.extend_from_slice(b"100 0 0 0 3 1 0 0 20 0 6 0 987654 1000 200 18446744073709551615");
        let s = Stat::parse(&line, Path::new("x")).unwrap();
        assert_eq!(s.pid, 4242);
        assert_eq!(s.comm, "a) b (c)");
        assert_eq!(s.state, b'S');
        assert_eq!(s.ppid, 17);
        assert_eq!(s.num_threads, 6);
        assert_eq!(s.start_time, 987654);
        assert!(!s.has_exited());
        let zombie: Vec<u8> = line
            .iter()
            .map(|&b| if b == b'S' { b'Z' } else { b })
            .collect();
        assert!(Stat::parse(&zombie, Path::new("x")).unwrap().has_exited());
    }

    #[test]
    fn short_or_garbled_text_names_the_field() {
        let err = Stat::parse(b"12 (sh) S 1 2 3", Path::new("/proc/12/stat")).unwrap_err();
        assert_eq!(err.to_string(), "/proc/12/stat: no num_threads field");
        let err = Stat::parse(b"12 sh S", Path::new("p")).unwrap_err();
        assert_eq!(err.to_string(), "p: no comm field");
    }

    #[test]
    fn own_stat() {
        let me = Stat::read_self().unwrap();
        assert_eq!(me.pid, std::process::id());
        assert_eq!(
            Some(me.ppid),
            rustix::process::getppid().map(|p| p.as_raw_nonzero().get() as u32)
        );
        assert!(me.num_threads >= 1);
        let again = Stat::read(me.pid).unwrap().unwrap();
        assert_eq!(again.start_time, me.start_time);
        assert_eq!(Stat::read(u32::MAX - 1).unwrap(), None);
    }
}
