//! `faultline check`.

/// Arguments of `faultline check`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`faultline check` is not implemented yet")
}
