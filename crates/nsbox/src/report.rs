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
    let first = clap_message
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid usage");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("nsbox: {first} (see nsbox --help)");
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
}
