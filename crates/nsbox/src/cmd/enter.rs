//! `nsbox enter` (placeholder until the toolkit lands).
#[derive(clap::Args, Debug)]
pub struct Args {}
pub fn run(_args: Args) -> anyhow::Result<u8> {
    anyhow::bail!("not built yet")
}
