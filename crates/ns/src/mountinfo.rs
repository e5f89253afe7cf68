//! `/proc/PID/mountinfo` fields, which escape space, tab, newline and
//! backslash as octal `\ooo`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_escapes() {
        assert_eq!(unescape(br"/a\040b"), "/a b");
        assert_eq!(unescape(br"/tab\011end\134"), "/tab\tend\\");
        assert_eq!(unescape(br"/plain"), "/plain");
        // Not an escape: too short, or not octal.
        assert_eq!(unescape(br"/x\04"), "/x\\04");
        assert_eq!(unescape(br"/x\089"), "/x\\089");
    }
}
