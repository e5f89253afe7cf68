//! What a person installing nsbox reads and types besides the verbs: the
//! man pages (`nsbox man DIR`, generated from the command line's own
//! definition), shell completion (`nsbox completion bash|zsh|fish`, driven
//! as each shell drives it on Tab) and `nsbox --version`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use nsbox_testutil::{run, Output, TempDir};

const NSBOX: &str = env!("CARGO_BIN_EXE_nsbox");

/// The verbs `nsbox [PATH] --help` lists under "Commands:", as paths of
/// words, depth first (the help verb excluded).
fn verbs(path: &[String], out: &mut Vec<Vec<String>>) {
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("--help");
    let help = run(NSBOX, &args).success().stdout;
    let Some(list) = help.split("Commands:\n").nth(1) else {
        return;
    };
    for line in list.lines() {
        // "  NAME  about", ending at the first line that is not indented
        if !line.starts_with("  ") {
            break;
        }
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        if name == "help" || !line.starts_with(&format!("  {name}")) {
            continue;
        }
        let mut sub = path.to_vec();
        sub.push(name.to_string());
        out.push(sub.clone());
        verbs(&sub, out);
    }
}

/// `man -l PAGE`, rendered as text.
fn man(page: &Path) -> String {
    let out = std::process::Command::new("man")
        .arg("-l")
        .arg(page)
        .env("MANWIDTH", "200")
        .env("MAN_KEEP_FORMATTING", "0")
        .env("MANPAGER", "cat")
        .output()
        .expect("man: apt-get install man-db");
    assert!(out.status.success(), "man -l {}: {out:?}", page.display());
    // no overstrike from groff's tty output
    let text = String::from_utf8_lossy(&out.stdout);
    let mut plain = String::new();
    for c in text.chars() {
        if c == '\u{8}' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
fn every_verb_has_a_man_page_generated_from_the_code() {
    let dir = TempDir::new("man-pages");
    let out = run(NSBOX, ["man", dir.path().to_str().unwrap()]).success();
    let written: BTreeSet<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(out.stdout.lines().count(), written.len(), "{}", out.stdout);
    let mut all = Vec::new();
    verbs(&[], &mut all);
    assert!(all.len() > 40, "verbs found in --help: {all:?}");
    assert!(written.contains("nsbox.1"), "{written:?}");
    for path in &all {
        let stem = format!("nsbox-{}", path.join("-"));
        let page = [".1", ".8"]
            .iter()
            .map(|s| format!("{stem}{s}"))
            .find(|f| written.contains(f));
        assert!(
            page.is_some(),
            "`nsbox {}` has no page in {written:?}",
            path.join(" ")
        );
    }
    // One page for each verb, and none for verbs that do not exist.
    assert_eq!(written.len(), all.len() + 1, "{written:?}");

    let run_page = man(&dir.join("nsbox-run.1"));
    // The page says what `nsbox run --help` says, flags and examples.
    let help = run(NSBOX, ["run", "--help"]).success().stdout;
    for flag in ["--rootfs", "--name", "--publish", "--net"] {
        assert!(help.contains(flag), "run --help lacks {flag}");
        assert!(
            run_page.contains(flag),
            "nsbox-run(1) lacks {flag}:\n{run_page}"
        );
    }
    for section in ["NAME", "SYNOPSIS", "OPTIONS", "EXAMPLES", "SEE ALSO"] {
        assert!(
            run_page.contains(&format!("\n{section}\n")),
            "no {section}:\n{run_page}"
        );
    }
    assert!(
        run_page.contains("$ nsbox run -d --name same --net container:test -- sleep infinity"),
        "{run_page}"
    );
    let netns = man(&dir.join("nsbox-netns.8"));
    assert!(netns.starts_with("nsbox-netns(8)"), "{netns}");
    assert!(netns.contains("$ nsbox netns exec ns1 bash"), "{netns}");
    let unshare = man(&dir.join("nsbox-unshare.1"));
    assert!(
        unshare.contains("$ nsbox unshare --fork --pid --mount-proc bash"),
        "{unshare}"
    );
    assert!(unshare.contains("unshare(1)"), "SEE ALSO: {unshare}");
    let enter = man(&dir.join("nsbox-enter.1"));
    assert!(
        enter.contains("$ nsbox enter --target 28580 --uts --ipc --net /bin/bash"),
        "{enter}"
    );
}

#[test]
fn man_into_a_bad_directory_is_one_line() {
    let out = run(NSBOX, ["man", "/proc/version/x"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(
        out.stderr.starts_with("nsbox: man: create /proc/version/x"),
        "{out:?}"
    );
}

/// A container of this test's own, removed at drop.
struct Container {
    dir: TempDir,
    name: String,
}

impl Container {
    fn start(tag: &str) -> Container {
        nsbox_testutil::require_root();
        let c = Container {
            dir: TempDir::new(tag),
            name: format!("{tag}-{}", std::process::id()),
        };
        c.nsbox(&[
            "run", "-d", "--name", &c.name, "--net", "none", "--", "sleep", "300",
        ])
        .success();
        c
    }

    fn root(&self) -> PathBuf {
        self.dir.join("state")
    }

    fn nsbox(&self, args: &[&str]) -> Output {
        let root = self.root();
        let mut all = vec!["--root", root.to_str().unwrap()];
        all.extend_from_slice(args);
        run(NSBOX, &all)
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.nsbox(&["rm", "-f", &self.name]);
    }
}

/// A named network namespace, deleted at drop.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = run(NSBOX, ["netns", "delete", &self.0]);
    }
}

/// What bash offers on Tab at the end of `line` (the last word being
/// completed), with the script `nsbox completion bash` prints loaded:
/// the function `complete -p nsbox` names is called as bash calls it.
fn bash_complete(line: &str) -> Vec<String> {
    let script = r#"
source <(nsbox completion bash) || exit 90
spec=$(complete -p nsbox) || exit 91
fn=${spec#*-F }; fn=${fn%% *}
read -ra COMP_WORDS <<<"$LINE"
[[ $LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE=$LINE; COMP_POINT=${#LINE}; COMP_TYPE=9
"$fn" nsbox "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", script])
        .env("PATH", with_nsbox_on_path())
        .env("LINE", line)
        .output()
        .expect("bash");
    assert!(out.status.success(), "bash: {out:?}");
    assert!(out.stderr.is_empty(), "a Tab printed errors: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.trim_end().to_string())
        .collect()
}

#[test]
fn bash_completes_a_running_containers_name() {
    let c = Container::start("complete");
    let root = c.root();
    let root = root.to_str().unwrap();
    let prefix = &c.name[..c.name.len() - 2];
    for verb in ["stop", "rm", "state", "exec", "kill", "ps"] {
        let got = bash_complete(&format!("nsbox --root {root} {verb} {prefix}"));
        assert_eq!(
            got,
            [c.name.as_str()],
            "nsbox --root R {verb} {prefix}<Tab>"
        );
    }
    let got = bash_complete(&format!("nsbox --root {root} enter -t {prefix}"));
    assert_eq!(got, [c.name.as_str()], "enter -t");
    let got = bash_complete(&format!("nsbox --root {root} ns diff "));
    assert!(got.contains(&c.name), "ns diff <Tab>: {got:?}");
    // Verbs and flags come from the same definition.
    assert_eq!(bash_complete("nsbox unsh"), ["unshare"]);
    assert!(bash_complete("nsbox run --ro").contains(&"--rootfs".to_string()));
    assert_eq!(bash_complete("nsbox completion z"), ["zsh"]);
    // Once removed, it is not offered.
    c.nsbox(&["rm", "-f", &c.name]).success();
    let got = bash_complete(&format!("nsbox --root {root} stop {prefix}"));
    assert!(!got.contains(&c.name), "{got:?}");
}

/// What fish offers for `line` (`complete -C`, fish's own completion
/// machinery) with `nsbox completion fish` loaded: the values, without
/// their descriptions.
fn fish_complete(line: &str) -> Vec<String> {
    let out = std::process::Command::new("fish")
        .args([
            "--no-config",
            "-c",
            "nsbox completion fish | source; complete -C\"$LINE\"",
        ])
        .env("PATH", with_nsbox_on_path())
        .env("LINE", line)
        .output()
        .expect("fish: apt-get install fish (scripts/test.sh installs it)");
    assert!(out.status.success(), "fish: {out:?}");
    assert!(out.stderr.is_empty(), "a Tab printed errors: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

/// What the zsh completer of `nsbox completion zsh` hands to `_describe`
/// for `line` (compsys's own parts stubbed: `words` and `CURRENT` set as
/// zsh sets them, `_describe` printing its candidates).
fn zsh_complete(line: &str) -> Vec<String> {
    let script = r#"compdef() { :; }
_describe() { print -l -- ${(P)3} }
source <(nsbox completion zsh) || exit 90
words=(${(z)LINE})
[[ $LINE == *" " ]] && words+=("")
CURRENT=${#words}
_clap_dynamic_completer_nsbox"#;
    let out = std::process::Command::new("zsh")
        .args(["-f", "-c", script])
        .env("PATH", with_nsbox_on_path())
        .env("LINE", line)
        .output()
        .expect("zsh: apt-get install zsh (scripts/test.sh installs it)");
    assert!(out.status.success(), "zsh: {out:?}");
    assert!(out.stderr.is_empty(), "a Tab printed errors: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split(':').next().unwrap().to_string())
        .collect()
}

fn with_nsbox_on_path() -> String {
    let bin_dir = Path::new(NSBOX).parent().unwrap();
    format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap())
}

#[test]
fn zsh_and_fish_complete_a_running_containers_name() {
    let c = Container::start("complete-zf");
    let root = c.root();
    let line = format!(
        "nsbox --root {} stop {}",
        root.display(),
        &c.name[..c.name.len() - 2]
    );
    assert_eq!(fish_complete(&line), [c.name.as_str()], "fish: {line}");
    assert_eq!(zsh_complete(&line), [c.name.as_str()], "zsh: {line}");
    assert_eq!(fish_complete("nsbox unsh"), ["unshare"]);
    assert_eq!(zsh_complete("nsbox unsh"), ["unshare"]);
}

#[test]
fn bash_completes_network_namespace_names() {
    nsbox_testutil::require_root();
    let name = format!("cmpl-{}", std::process::id());
    run(NSBOX, ["netns", "add", &name]).success();
    let _ns = Netns(name.clone());
    assert_eq!(bash_complete("nsbox netns exec cmpl-"), [name.as_str()]);
    assert_eq!(bash_complete("nsbox netns delete cmpl-"), [name.as_str()]);
    assert_eq!(bash_complete("nsbox -n cmpl-"), [name.as_str()]);
}

#[test]
fn completion_scripts_for_zsh_and_fish_ask_nsbox() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(NSBOX, ["completion", shell]).success();
        assert!(
            out.stdout.contains("NSBOX_COMPLETE"),
            "{shell}: {}",
            out.stdout
        );
        assert!(
            !out.stdout.contains(NSBOX),
            "{shell}: the build path leaked in"
        );
    }
    let out = run(NSBOX, ["completion", "tcsh"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
}

#[test]
fn version_says_what_runc_says() {
    let out = run(NSBOX, ["--version"]).success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    // dockerd parses the first line: keep it exact.
    assert_eq!(
        lines[0],
        format!("nsbox version {}", env!("CARGO_PKG_VERSION"))
    );
    let field = |key: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .unwrap_or_else(|| panic!("no {key}: line in {lines:?}"))
            .to_string()
    };
    let commit = field("commit");
    assert!(
        commit == "unknown"
            || (commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{commit}"
    );
    let v = libseccomp::ScmpVersion::current().unwrap();
    assert_eq!(
        field("libseccomp"),
        format!("{}.{}.{}", v.major, v.minor, v.micro)
    );
    assert!(field("spec").starts_with("1."), "{lines:?}");
    assert!(field("features").contains("+SECCOMP"), "{lines:?}");
    // -V: only the first line
    let short = run(NSBOX, ["-V"]).success();
    assert_eq!(short.stdout.trim_end(), lines[0]);
}
