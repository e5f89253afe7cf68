//! Words of the config that stand for kernel values, decoded in one place
//! for both sides: `validate` refuses an unknown one before anything
//! exists, init turns the known ones into flags and numbers. Personality
//! domains and flags, propagation words, time namespace clocks.

use nsbox_ns::{ClockOffset, TimeOffsets};
use oci_spec::runtime::{LinuxPersonality, LinuxPersonalityDomain, Spec};
use rustix::mount::MountPropagationFlags;

/// personality(2)'s flag names (`<linux/personality.h>`) and bits.
const PERSONALITY_FLAGS: [(&str, u32); 11] = [
    ("UNAME26", 0x0020000),
    ("ADDR_NO_RANDOMIZE", 0x0040000),
    ("FDPIC_FUNCPTRS", 0x0080000),
    ("MMAP_PAGE_ZERO", 0x0100000),
    ("ADDR_COMPAT_LAYOUT", 0x0200000),
    ("READ_IMPLIES_EXEC", 0x0400000),
    ("ADDR_LIMIT_32BIT", 0x0800000),
    ("SHORT_INODE", 0x1000000),
    ("WHOLE_SECONDS", 0x2000000),
    ("STICKY_TIMEOUTS", 0x4000000),
    ("ADDR_LIMIT_3GB", 0x8000000),
];

const PER_LINUX: u32 = 0x0000;
const PER_LINUX32: u32 = 0x0008;

/// The persona personality(2) takes; `Err(i)`: `flags[i]` is unknown.
pub fn persona(p: &LinuxPersonality) -> Result<u32, usize> {
    let mut value = match p.domain() {
        LinuxPersonalityDomain::PerLinux => PER_LINUX,
        LinuxPersonalityDomain::PerLinux32 => PER_LINUX32,
    };
    for (i, name) in p.flags().iter().flatten().enumerate() {
        let bit = PERSONALITY_FLAGS
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, b)| b)
            .ok_or(i)?;
        value |= bit;
    }
    Ok(value)
}

/// The names `validate` accepts, for its error message.
pub fn personality_flag_names() -> String {
    PERSONALITY_FLAGS.map(|(n, _)| n).join(", ")
}

/// `rootfsPropagation` and per-mount propagation words.
pub fn propagation_flag(word: &str) -> Option<MountPropagationFlags> {
    use MountPropagationFlags as P;
    Some(match word {
        "private" => P::PRIVATE,
        "rprivate" => P::PRIVATE | P::REC,
        "shared" => P::SHARED,
        "rshared" => P::SHARED | P::REC,
        "slave" => P::DOWNSTREAM,
        "rslave" => P::DOWNSTREAM | P::REC,
        "unbindable" => P::UNBINDABLE,
        "runbindable" => P::UNBINDABLE | P::REC,
        _ => return None,
    })
}

/// runc's and crun's mount extensions: words of `mounts[].options` that
/// are not mount(2)'s and never reach it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MountExtensions {
    /// `tmpcopyup` (tmpfs): the tmpfs starts with a copy of what the
    /// rootfs held at its destination.
    pub tmpcopyup: bool,
    /// `copy-symlink` (crun; bind): a source that is a symlink is created
    /// as that symlink at the destination instead of being bound.
    pub copy_symlink: bool,
    /// `idmap` or `ridmap` (bind): an idmapped mount.
    pub idmap: Option<IdmapWord>,
}

/// Which idmap word a mount carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdmapWord {
    /// `idmap`: the mount itself is idmapped.
    Idmap,
    /// `ridmap`: it and every mount beneath it (with `rbind`).
    Ridmap,
}

impl MountExtensions {
    /// Takes `word` when it is an extension; false for any other word.
    pub fn take(&mut self, word: &str) -> bool {
        match word {
            "tmpcopyup" => self.tmpcopyup = true,
            "copy-symlink" => self.copy_symlink = true,
            "idmap" => self.idmap = Some(IdmapWord::Idmap),
            "ridmap" => self.idmap = Some(IdmapWord::Ridmap),
            _ => return false,
        }
        true
    }

    /// The extensions among `options`.
    pub fn of(options: &[String]) -> MountExtensions {
        let mut ext = MountExtensions::default();
        for word in options {
            ext.take(word);
        }
        ext
    }
}

/// The clocks a time namespace can offset, as the config names them.
pub const CLOCKS: [&str; 2] = ["monotonic", "boottime"];

/// The config's `linux.timeOffsets` (validated: known clocks, nanosecs below 1 s).
pub fn time_offsets(spec: &Spec) -> TimeOffsets {
    let map = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref());
    let clock = |name: &str| {
        map.and_then(|m| m.get(name)).map(|o| ClockOffset {
            secs: o.secs().unwrap_or(0),
            nanos: o.nanosecs().unwrap_or(0),
        })
    };
    TimeOffsets {
        monotonic: clock("monotonic"),
        boottime: clock("boottime"),
    }
}

/// Whether the config sets any offset.
pub fn time_offsets_asked(spec: &Spec) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref())
        .is_some_and(|m| !m.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(json: &str) -> LinuxPersonality {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn personality_domain_and_flags() {
        assert_eq!(persona(&p(r#"{"domain":"LINUX"}"#)), Ok(0));
        assert_eq!(persona(&p(r#"{"domain":"LINUX32"}"#)), Ok(8));
        assert_eq!(
            persona(&p(
                r#"{"domain":"LINUX32","flags":["ADDR_NO_RANDOMIZE","UNAME26"]}"#
            )),
            Ok(0x8 | 0x40000 | 0x20000)
        );
        assert_eq!(
            persona(&p(r#"{"domain":"LINUX","flags":["UNAME26","NOPE"]}"#)),
            Err(1)
        );
    }
}
