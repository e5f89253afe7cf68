//! A process named on the command line by its pid or by the name of a
//! running container (`nsbox run -d --name`): `enter -t`, `ns diff`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Pid(u32),
    /// A container's name: its init.
    Name(String),
}

impl Target {
    /// Digits are a pid; anything else a container name.
    pub fn parse(text: &str) -> Result<Target, String> {
        if text.is_empty() {
            return Err("empty".into());
        }
        Ok(match text.parse::<u32>() {
            Ok(pid) => Target::Pid(pid),
            Err(_) if text.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(format!("{text}: not a pid"))
            }
            Err(_) => Target::Name(text.to_owned()),
        })
    }

    /// The pid: the container's init for a name (an error when no such
    /// container runs under nsbox's state root).
    pub fn pid(&self) -> anyhow::Result<u32> {
        match self {
            Target::Pid(pid) => Ok(*pid),
            Target::Name(name) => Ok(nsbox_sandbox::named::pid_of(&crate::global::root()?, name)?),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Pid(pid) => write!(f, "{pid}"),
            Target::Name(name) => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_pids_words_are_names() {
        assert_eq!(Target::parse("42"), Ok(Target::Pid(42)));
        assert_eq!(Target::parse("web"), Ok(Target::Name("web".into())));
        assert_eq!(Target::parse("web-2"), Ok(Target::Name("web-2".into())));
        assert!(Target::parse("99999999999").is_err());
        assert!(Target::parse("").is_err());
    }
}
