//! Reaching a verb of the clap command by its path of words (`["netns",
//! "add"]`), to add what the derive cannot say (examples, completers).

/// Applies `f` to the subcommand at `path` (the command itself when empty),
/// leaving every verb in its place (the order `--help` and the man pages
/// list them in). A path naming no verb is a bug: it panics, in the tests.
pub fn with_subcommand(
    cmd: clap::Command,
    path: &[&str],
    f: &dyn Fn(clap::Command) -> clap::Command,
) -> clap::Command {
    let Some((first, rest)) = path.split_first() else {
        return f(cmd);
    };
    assert!(
        cmd.get_subcommands().any(|s| s.get_name() == *first),
        "{} has no verb {first}",
        cmd.get_name()
    );
    cmd.mut_subcommands(|sub| {
        if sub.get_name() == *first {
            with_subcommand(sub, rest, f)
        } else {
            sub
        }
    })
}
