//! `faultline suite`.

/// Arguments of `faultline suite`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`faultline suite` is not implemented yet")
}
