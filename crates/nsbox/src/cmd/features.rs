//! `nsbox features`: runc's features (JSON).
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<u8> {
    let f = nsbox_runtime::features::features();
    println!("{}", serde_json::to_string_pretty(&f)?);
    Ok(0)
}
