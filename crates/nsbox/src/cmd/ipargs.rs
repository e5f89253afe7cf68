//! What `link`, `addr` and `route` share: iproute2's keyword arguments
//! (`dev NAME`, `via IP` ...), their usage errors (one line, exit 2), and
//! the rtnetlink sockets of the namespaces `-n NS` names.

use std::collections::HashMap;
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

/// The rtnetlink sockets of one invocation: one per namespace, opened on
/// first use and kept (a batch reuses them line after line).
#[derive(Default)]
pub struct Netlink {
    /// The namespace of `-n NS` for the current command (None: the caller's).
    pub target: Option<String>,
    open: HashMap<Option<String>, Rtnl>,
}

impl Netlink {
    pub fn new(target: Option<String>) -> Netlink {
        Netlink {
            target,
            open: HashMap::new(),
        }
    }

    /// The socket of the target namespace.
    pub fn socket(&mut self) -> anyhow::Result<&mut Rtnl> {
        let key = self.target.clone();
        if !self.open.contains_key(&key) {
            let rtnl = match &key {
                Some(ns) => nsbox_net::nsarg::socket_in(&nsbox_net::nsarg::open(ns)?)?,
                None => Rtnl::open()?,
            };
            self.open.insert(key.clone(), rtnl);
        }
        Ok(self.open.get_mut(&key).expect("inserted above"))
    }

    /// Closes every socket (a name may now stand for another namespace).
    pub fn forget(&mut self) {
        self.open.clear();
    }
}

/// iproute2-style words, read front to back.
pub struct Words<'a> {
    words: std::slice::Iter<'a, String>,
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        self.words.next().map(String::as_str)
    }
}

impl<'a> Words<'a> {
    pub fn new(words: &'a [String]) -> Words<'a> {
        Words {
            words: words.iter(),
        }
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
