//! `nsbox man DIR` (hidden): writes the man pages, generated from the
//! command line's own definition (`cli::command()`, passed in), so they say what
//! this binary accepts: `nsbox.1`, and one page per verb and sub-verb
//! (`nsbox-run.1`, `nsbox-netns.8`, `nsbox-netns-add.8`, ...), each with
//! its examples ([`crate::examples`]) and the tools it stands in for.
//! The Debian package runs it (scripts/build-deb.sh).

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap_mangen::roff::{roman, Roff};
use clap_mangen::Man;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory to write the pages into (made if missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Verbs in section 8 (system administration), as iproute2's are:
/// `ip-netns(8)`, `ip-link(8)`; the rest are user commands (1).
const SECTION_8: &[&str] = &[
    "netns",
    "link",
    "addr",
    "route",
    "batch",
    "proc-view",
    "net",
];

/// The tools each verb stands in for, for SEE ALSO.
const SEE_ALSO: &[(&str, &str)] = &[
    ("unshare", "unshare(1), unshare(2), namespaces(7)"),
    ("enter", "nsenter(1), setns(2), namespaces(7)"),
    ("ns", "lsns(8), namespaces(7), ioctl_ns(2)"),
    ("netns", "ip-netns(8), network_namespaces(7)"),
    ("link", "ip-link(8), veth(4)"),
    ("addr", "ip-address(8)"),
    ("route", "ip-route(8)"),
    ("batch", "ip(8)"),
    ("run", "runc(8), docker-run(1)"),
    ("proc-view", "lxcfs(1), proc(5)"),
];

/// Writes the pages of `cmd` (the whole command line, `cli::command()`).
pub fn run(args: Args, cmd: clap::Command) -> anyhow::Result<u8> {
    fs::create_dir_all(&args.dir).with_context(|| format!("create {}", args.dir.display()))?;
    for page in pages(cmd) {
        let path = args.dir.join(&page.file);
        fs::write(&path, &page.text).with_context(|| format!("write {}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(0)
}

/// One man page: its file name (`nsbox-run.1`) and its roff text.
pub struct Page {
    pub file: String,
    pub text: Vec<u8>,
}

/// Every page: nsbox itself, then each visible verb, depth first.
pub fn pages(cmd: clap::Command) -> Vec<Page> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    collect(&cmd, &[], &mut out);
    out
}

fn collect(cmd: &clap::Command, path: &[&str], out: &mut Vec<Page>) {
    out.push(page(cmd, path));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let mut sub_path = path.to_vec();
        sub_path.push(sub.get_name());
        collect(sub, &sub_path, out);
    }
}

fn page(cmd: &clap::Command, path: &[&str]) -> Page {
    let man = Man::new(cmd.clone())
        .section(section(path))
        .source(format!("nsbox {}", env!("CARGO_PKG_VERSION")))
        .manual("nsbox manual");
    let mut text = Vec::new();
    // clap_mangen's own sections, without its "EXTRA" (the notes go under
    // NOTES, the examples under EXAMPLES) and without a VERSION section
    // (the title line has it).
    let render = |text: &mut Vec<u8>| -> std::io::Result<()> {
        man.render_title(text)?;
        man.render_name_section(text)?;
        man.render_synopsis_section(text)?;
        man.render_description_section(text)?;
        if cmd.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(text)?;
        }
        if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
            man.render_subcommands_section(text)?;
        }
        extra_sections(cmd, path, text)
    };
    render(&mut text).expect("writing to a Vec");
    Page {
        file: man.get_filename(),
        text,
    }
}

/// NOTES (the verb's after_help), EXAMPLES and SEE ALSO.
fn extra_sections(cmd: &clap::Command, path: &[&str], w: &mut dyn Write) -> std::io::Result<()> {
    let mut roff = Roff::default();
    if let Some(notes) = cmd.get_after_help() {
        roff.control("SH", ["NOTES"]);
        for para in notes.to_string().split("\n\n") {
            roff.text([roman(para.replace('\n', " "))]);
            roff.control("PP", []);
        }
    }
    let examples = crate::examples::of(&path.join(" "));
    if !examples.is_empty() {
        roff.control("SH", ["EXAMPLES"]);
        for e in examples {
            roff.control("PP", []);
            roff.text([roman(e.what)]);
            roff.control("PP", []);
            roff.control("RS", ["4"]);
            roff.control("nf", []);
            roff.text([roman(format!("$ {}", e.command))]);
            roff.control("fi", []);
            roff.control("RE", []);
        }
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(see_also(path))]);
    roff.to_writer(w)
}

/// The parent page (or the main verbs' pages, for nsbox(1)) and the tools
/// the verb stands in for.
fn see_also(path: &[&str]) -> String {
    let mut refs = vec![match path {
        [] => "nsbox-run(1), nsbox-unshare(1), nsbox-enter(1), nsbox-ns(1), nsbox-netns(8)"
            .to_string(),
        [_] => "nsbox(1)".to_string(),
        [.., _] => {
            let parent = &path[..path.len() - 1];
            format!("nsbox-{}({})", parent.join("-"), section(parent))
        }
    }];
    if let Some((_, tools)) = path
        .first()
        .and_then(|verb| SEE_ALSO.iter().find(|(v, _)| v == verb))
    {
        refs.push((*tools).to_string());
    }
    refs.join(", ")
}

/// The manual section of the verb at `path`.
fn section(path: &[&str]) -> &'static str {
    match path.first() {
        Some(verb) if SECTION_8.contains(verb) => "8",
        _ => "1",
    }
}

#[cfg(test)]
mod tests {
    use super::{pages, section};

    /// Every visible verb, as the words after `nsbox`.
    fn verbs(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<(Vec<String>, clap::Command)>) {
        out.push((path.clone(), cmd.clone()));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            if sub.get_name() == "help" {
                continue;
            }
            let mut p = path.clone();
            p.push(sub.get_name().to_string());
            verbs(sub, p, out);
        }
    }

    #[test]
    fn every_verb_has_a_page_that_lists_its_flags_and_examples() {
        let pages = pages(crate::cli::command());
        let mut all = Vec::new();
        verbs(&crate::cli::command(), Vec::new(), &mut all);
        assert!(all.len() > 40, "{} verbs", all.len());
        for (path, cmd) in all {
            let words: Vec<&str> = path.iter().map(String::as_str).collect();
            let mut name = vec!["nsbox"];
            name.extend(&words);
            let file = format!("{}.{}", name.join("-"), section(&words));
            let page = pages
                .iter()
                .find(|p| p.file == file)
                .unwrap_or_else(|| panic!("no page {file}"));
            let text = String::from_utf8(page.text.clone()).unwrap();
            for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
                if let Some(long) = arg.get_long() {
                    // roff escapes '-' as '\-'
                    let flag = format!("\\-\\-{}", long.replace('-', "\\-"));
                    assert!(text.contains(&flag), "{file} lacks {flag}");
                }
            }
            let examples = crate::examples::of(&words.join(" "));
            if !examples.is_empty() {
                assert!(text.contains(".SH EXAMPLES"), "{file} lacks its examples");
            }
        }
        assert!(pages.iter().any(|p| p.file == "nsbox-netns.8"));
        assert!(pages.iter().any(|p| p.file == "nsbox-run.1"));
        assert!(
            !pages.iter().any(|p| p.file.starts_with("nsbox-man.")),
            "man is hidden"
        );
    }
}
