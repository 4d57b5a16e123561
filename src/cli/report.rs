//! `faultline report`.

/// Arguments of `faultline report`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`faultline report` is not implemented yet")
}
