//! `faultline bench store`.

/// Arguments of `faultline bench store`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`faultline bench store` is not implemented yet")
}
