//! Signal names as people and engines write them: `KILL`, `SIGKILL`, `kill`,
//! `9`, `RTMIN+3`. One table for every verb that takes a signal.

/// The standard signals by name, without the `SIG` prefix.
const NAMES: [(&str, i32); 32] = [
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// The first and last real-time signal as engines and glibc programs
/// number them: the kernel's are 32 to 64, glibc keeps 32 and 33 for
/// itself, so `SIGRTMIN+3` (systemd's halt signal, an image's
/// `STOPSIGNAL`) is 37 in Docker's table, in `kill -l` and in the
/// container's program. Fixed here rather than read from our own libc,
/// which could count differently (musl: 35) from the container's.
const RTMIN: i32 = 34;
const RTMAX: i32 = 64;

/// The signal number for `text`, case-insensitive, with or without `SIG`,
/// or a number from 1 to SIGRTMAX; `None` for anything else (0 included:
/// it is no signal).
pub fn parse(text: &str) -> Option<i32> {
    let (rtmin, rtmax) = (RTMIN, RTMAX);
    if let Ok(n) = text.parse::<i32>() {
        return (1..=rtmax).contains(&n).then_some(n);
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(v) = NAMES.iter().find(|(n, _)| *n == name).map(|(_, v)| *v) {
        return Some(v);
    }
    // RTMIN, RTMIN+N, RTMAX, RTMAX-N.
    let (base, rest, sign) = if let Some(rest) = name.strip_prefix("RTMIN") {
        (rtmin, rest, 1)
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        (rtmax, rest, -1)
    } else {
        return None;
    };
    let offset = match rest {
        "" => 0,
        _ => {
            let digits = rest.strip_prefix(if sign > 0 { '+' } else { '-' })?;
            digits.parse::<i32>().ok()?
        }
    };
    let n = base + sign * offset;
    (rtmin..=rtmax).contains(&n).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        for s in ["KILL", "SIGKILL", "kill", "sigkill", "9"] {
            assert_eq!(parse(s), Some(libc::SIGKILL), "{s}");
        }
        assert_eq!(parse("TERM"), Some(libc::SIGTERM));
        assert_eq!(parse("SYS"), Some(libc::SIGSYS));
        assert_eq!(parse("PWR"), Some(libc::SIGPWR));
        assert_eq!(parse("RTMIN"), Some(34));
        assert_eq!(parse("RTMIN+3"), Some(37));
        assert_eq!(parse("SIGRTMIN+3"), Some(37));
        assert_eq!(parse("RTMAX-1"), Some(63));
        assert_eq!(parse("RTMAX"), Some(64));
        assert_eq!(parse("37"), Some(37));
    }

    #[test]
    fn nonsense_is_none() {
        for s in [
            "NOPE", "0", "-1", "65", "RTMIN+99", "RTMIN-1", "RTMAX+1", "",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
    }
}
