//! How errors reach the user: one line, `nsbox: <verb>: <context>: <cause>`.

/// Prints an error chain on one line, each layer's context before its cause.
pub fn error(verb: &str, err: &anyhow::Error) {
    eprintln!("nsbox: {verb}: {}", chain(err));
}

/// The error chain joined by ": ", without std's " (os error N)" suffixes.
pub fn chain(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = strip_os_error(&cause.to_string());
        // thiserror variants that embed their source would repeat it.
        if parts.last().is_some_and(|prev| prev.ends_with(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

fn strip_os_error(text: &str) -> String {
    match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_string(),
        _ => text.to_string(),
    }
}

/// Prints a clap usage error as one line (clap's own has a blank line and a hint).
pub fn usage(clap_message: &str) {
    eprintln!("nsbox: {} (see nsbox --help)", usage_line(clap_message));
}

/// clap's first paragraph on one line: its first line, plus the indented
/// lines that continue it ("required arguments were not provided:\n  <ID>").
pub(crate) fn usage_line(clap_message: &str) -> String {
    let mut lines = clap_message.lines().skip_while(|l| l.trim().is_empty());
    let first = lines.next().unwrap_or("invalid usage");
    let mut line = first.strip_prefix("error: ").unwrap_or(first).to_string();
    for more in lines.take_while(|l| !l.trim().is_empty()) {
        line.push(' ');
        line.push_str(more.trim());
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_is_one_line_without_os_error() {
        let io = std::io::Error::from_raw_os_error(libc::EPERM);
        let err = anyhow::Error::new(io).context("mount proc on /proc");
        assert_eq!(chain(&err), "mount proc on /proc: Operation not permitted");
    }

    #[test]
    fn usage_keeps_the_continuation_lines() {
        let clap = "error: the following required arguments were not provided:\n  <ID>\n\nUsage: nsbox delete <ID>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            usage_line(clap),
            "the following required arguments were not provided: <ID>"
        );
        assert_eq!(
            usage_line("error: unexpected argument '--x' found\n\nUsage: ..."),
            "unexpected argument '--x' found"
        );
    }
}
