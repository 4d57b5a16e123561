//! `faultline kv`.

/// Arguments of `faultline kv`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`faultline kv` is not implemented yet")
}
