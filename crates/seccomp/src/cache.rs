//! Compiled programs kept on disk by a hash of the profile, so that starting
//! many containers with the same profile compiles it once (crun does the same).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use crate::{compile, Error, Profile, Program};

/// A directory of `<hash>.bpf` files.
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    fn key(profile: &Profile) -> String {
        let mut h = DefaultHasher::new();
        // The program depends on the profile, on libseccomp's syscall tables
        // and on our compiler; any of them changing must miss the cache.
        profile.hash(&mut h);
        let v = libseccomp::ScmpVersion::current().ok();
        v.map(|v| (v.major, v.minor, v.micro)).hash(&mut h);
        env!("CARGO_PKG_VERSION").hash(&mut h);
        format!("{:016x}.bpf", h.finish())
    }

    /// The cached program for `profile`, compiling and storing it on a miss.
    /// A cache that cannot be read or written is bypassed, never fatal.
    pub fn get_or_compile(&self, profile: &Profile) -> Result<Program, Error> {
        let path = self.dir.join(Self::key(profile));
        if let Ok(bytes) = std::fs::read(&path) {
            if let Some(p) = Program::from_bytes(&bytes, profile.flags, profile.needs_listener()) {
                return Ok(p);
            }
        }
        let program = compile(profile)?;
        if program.unknown_syscalls.is_empty() {
            let _ = store(&path, &program.to_bytes());
        }
        Ok(program)
    }
}

/// Writes atomically: a reader never sees half a program.
fn store(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, LoadFlags, Rule};

    #[test]
    fn second_lookup_reads_the_same_program() {
        let dir = std::env::temp_dir().join(format!("nsbox-seccomp-cache-{}", std::process::id()));
        let cache = Cache::new(&dir);
        let profile = Profile {
            default_action: Action::Allow,
            architectures: vec![],
            flags: LoadFlags::default(),
            rules: vec![Rule {
                names: vec!["mkdir".into()],
                action: Action::Errno(13),
                args: vec![],
            }],
        };
        let first = cache.get_or_compile(&profile).unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        let second = cache.get_or_compile(&profile).unwrap();
        assert_eq!(first.to_bytes(), second.to_bytes());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
