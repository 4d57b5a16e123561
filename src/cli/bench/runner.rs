//! `faultline bench runner`.

/// Arguments of `faultline bench runner`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`faultline bench runner` is not implemented yet")
}
