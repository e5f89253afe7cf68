//! runc's `--log FILE --log-format text|json`: lines a container engine
//! reads back (containerd takes the last `error` line as the failure).
//! Written synchronously; no logging thread may exist when init is cloned.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug)]
pub struct Log {
    file: Option<File>,
    format: Format,
    debug: bool,
}

impl Log {
    /// Opens (appends to) `path`; without one, log lines go nowhere (errors
    /// still reach stderr through the binary).
    pub fn open(path: Option<&Path>, format: Format, debug: bool) -> std::io::Result<Log> {
        let file = match path {
            Some(p) => Some(OpenOptions::new().create(true).append(true).open(p)?),
            None => None,
        };
        Ok(Log {
            file,
            format,
            debug,
        })
    }

    pub fn error(&mut self, msg: &str) {
        self.write("error", msg);
    }

    pub fn warning(&mut self, msg: &str) {
        self.write("warning", msg);
    }

    pub fn debug(&mut self, msg: &str) {
        if self.debug {
            self.write("debug", msg);
        }
    }

    fn write(&mut self, level: &str, msg: &str) {
        let Some(f) = self.file.as_mut() else {
            return;
        };
        let line = line(self.format, level, msg, &crate::state::now_rfc3339());
        let _ = f.write_all(line.as_bytes());
    }
}

fn line(format: Format, level: &str, msg: &str, time: &str) -> String {
    match format {
        Format::Json => {
            serde_json::json!({"level": level, "msg": msg, "time": time}).to_string() + "\n"
        }
        Format::Text => format!("time={time:?} level={level} msg={msg:?}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_text_lines() {
        let j = line(Format::Json, "error", "a \"b\"", "T");
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "a \"b\"");
        assert_eq!(v["time"], "T");
        assert_eq!(
            line(Format::Text, "debug", "x", "T"),
            "time=\"T\" level=debug msg=\"x\"\n"
        );
    }
}
