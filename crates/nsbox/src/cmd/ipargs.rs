//! What `link`, `addr` and `route` share: iproute2's keyword arguments
//! (`dev NAME`, `via IP` ...), their usage errors (one line, exit 2), and
//! the rtnetlink socket of the namespace `-n NS` names.

use std::fmt;

use nsbox_net::rtnl::Rtnl;

/// A wrong or missing keyword: one line, exit code 2.
#[derive(Debug)]
pub struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// Fails with a [`Usage`] error.
pub fn usage<T>(text: impl Into<String>) -> anyhow::Result<T> {
    Err(Usage(text.into()).into())
}

/// Runs a verb, turning a [`Usage`] error into its line and exit code 2.
pub fn run(verb: &str, f: impl FnOnce() -> anyhow::Result<u8>) -> anyhow::Result<u8> {
    match f() {
        Err(e) if e.downcast_ref::<Usage>().is_some() => {
            eprintln!("nsbox: {verb}: {e}");
            Ok(2)
        }
        r => r,
    }
}

/// The rtnetlink socket to act through: of the namespace `-n NS` names
/// when given (this thread joins it first; nsbox is single-threaded and
/// stays there until it exits), else of the caller's.
pub fn rtnl() -> anyhow::Result<Rtnl> {
    if let Some(ns) = &crate::global::global().netns {
        nsbox_net::nsarg::open(ns)?.join()?;
    }
    Ok(Rtnl::open()?)
}

/// iproute2-style words, read front to back.
pub struct Words<'a> {
    words: std::slice::Iter<'a, String>,
}

impl<'a> Words<'a> {
    pub fn new(words: &'a [String]) -> Words<'a> {
        Words {
            words: words.iter(),
        }
    }

    /// The next word, if any.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<&'a str> {
        self.words.next().map(String::as_str)
    }

    /// The value after `keyword`, which must be there.
    pub fn value(&mut self, keyword: &str) -> anyhow::Result<&'a str> {
        match self.next() {
            Some(v) => Ok(v),
            None => usage(format!("\"{keyword}\" needs a value")),
        }
    }

    /// A device name, after an optional `dev` (or `name`) as ip allows.
    pub fn device(&mut self, what: &str) -> anyhow::Result<&'a str> {
        match self.next() {
            Some("dev") | Some("name") => self.value("dev"),
            Some(name) => Ok(name),
            None => usage(format!("missing {what}")),
        }
    }

    /// Refuses words left over.
    pub fn end(&mut self) -> anyhow::Result<()> {
        match self.next() {
            Some(extra) => usage(format!("unexpected \"{extra}\"")),
            None => Ok(()),
        }
    }
}
