//! User names from `/etc/passwd`, read once, without NSS (lsns's idcache does
//! the same job through getpwuid, which may load NSS modules and talk to daemons).

use std::collections::HashMap;
use std::path::Path;

/// uid → name, from a passwd-format file; uids it lacks are shown as numbers.
#[derive(Clone, Debug, Default)]
pub struct Users {
    names: HashMap<u32, String>,
}

impl Users {
    /// Reads `/etc/passwd`; an unreadable file gives an empty table.
    pub fn load() -> Users {
        Users::from_file(Path::new("/etc/passwd"))
    }

    pub fn from_file(path: &Path) -> Users {
        std::fs::read(path)
            .map(|b| Users::parse(&b))
            .unwrap_or_default()
    }

    /// Parses passwd lines (`name:x:uid:...`); the first entry for a uid wins,
    /// as with getpwuid.
    pub fn parse(text: &[u8]) -> Users {
        let mut names = HashMap::new();
        for line in text.split(|&b| b == b'\n') {
            let mut f = line.split(|&b| b == b':');
            let (Some(name), Some(_), Some(uid)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let Some(uid) = std::str::from_utf8(uid).ok().and_then(|u| u.parse().ok()) else {
                continue;
            };
            if name.is_empty() || name.starts_with(b"#") {
                continue;
            }
            names
                .entry(uid)
                .or_insert_with(|| String::from_utf8_lossy(name).into_owned());
        }
        Users { names }
    }

    /// The name of `uid`, or the number when it has none.
    pub fn name(&self, uid: u32) -> String {
        match self.names.get(&uid) {
            Some(n) => n.clone(),
            None => uid.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_entry_wins_and_unknown_is_numeric() {
        let u = Users::parse(b"root:x:0:0::/root:/bin/sh\ntoor:x:0:0::/:/bin/sh\n#c\nbad\nnobody:x:65534:65534::/:/bin/false");
        assert_eq!(u.name(0), "root");
        assert_eq!(u.name(65534), "nobody");
        assert_eq!(u.name(1000), "1000");
    }
}
