//! `nsbox completion bash|zsh|fish`: the shell code that completes nsbox.
//! It is small: on each Tab it asks nsbox itself (`crate::complete`), so
//! verbs, flags and the names of containers and network namespaces are
//! always the installed binary's.

use std::io::Write;

use clap_complete::env::{Bash, EnvCompleter, Fish, Zsh};

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "bash: the Debian package installs it as \
                  /usr/share/bash-completion/completions/nsbox; by hand, \
                  `source <(nsbox completion bash)` in ~/.bashrc. zsh: save it as _nsbox \
                  in a directory on $fpath. fish: save it as \
                  ~/.config/fish/completions/nsbox.fish.\n\
                  The code runs `nsbox` from PATH to complete.")]
pub struct Args {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// zsh loads a file `_nsbox` on $fpath as the function `_nsbox` at the
/// first Tab: the script then only defines the completer and binds it, so
/// without this that first Tab would offer nothing. (Sourced, funcstack
/// does not start with `_nsbox` and nothing more runs.)
const ZSH_AUTOLOAD: &str = r#"if [[ "${funcstack[1]}" == "_nsbox" ]]; then
    _clap_dynamic_completer_nsbox "$@"
fi
"#;

pub fn run(args: Args) -> anyhow::Result<u8> {
    let shell: &dyn EnvCompleter = match args.shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
    };
    let mut script = Vec::new();
    // Completes the command `nsbox` by running `nsbox` (found on PATH):
    // the same script serves /usr/bin/nsbox and /usr/local/bin/nsbox.
    shell.write_registration(crate::complete::VAR, "nsbox", "nsbox", "nsbox", &mut script)?;
    if let Shell::Zsh = args.shell {
        script.extend_from_slice(ZSH_AUTOLOAD.as_bytes());
    }
    std::io::stdout().write_all(&script)?;
    Ok(0)
}
