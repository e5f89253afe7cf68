//! `nsbox ns ...` (placeholder until the toolkit lands).
#[derive(clap::Subcommand, Debug)]
pub enum NsCommand {
    /// List namespaces.
    Ls,
}
impl NsCommand {
    pub fn verb(&self) -> &'static str {
        "ns ls"
    }
}
pub fn run(_c: NsCommand) -> anyhow::Result<u8> {
    anyhow::bail!("not built yet")
}
