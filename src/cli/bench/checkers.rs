//! `faultline bench checkers`.

/// Arguments of `faultline bench checkers`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`faultline bench checkers` is not implemented yet")
}
