//! `faultline bench check`.

/// Arguments of `faultline bench check`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`faultline bench check` is not implemented yet")
}
