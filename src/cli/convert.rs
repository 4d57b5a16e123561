//! `faultline convert`.

/// Arguments of `faultline convert`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`faultline convert` is not implemented yet")
}
