//! `faultline test`.

/// Arguments of `faultline test`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`faultline test` is not implemented yet")
}
