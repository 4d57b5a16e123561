//! `faultline node`.

/// Arguments of `faultline node`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`faultline node` is not implemented yet")
}
