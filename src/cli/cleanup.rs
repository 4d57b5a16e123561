//! `faultline cleanup`.

/// Arguments of `faultline cleanup`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`faultline cleanup` is not implemented yet")
}
