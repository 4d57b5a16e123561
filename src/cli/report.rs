//! `faultline report DIR`: (re)writes `report.html` for a run directory.

use anyhow::Context;
use std::path::PathBuf;

/// Arguments of `faultline report`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run directory (holds history.jsonl and results.json).
    pub dir: PathBuf,
    /// Write the page here instead of DIR/report.html.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

/// Exit 0 on success; bad input (missing dir, unreadable history or
/// results) is an error, which the CLI maps to exit code 3.
pub fn run(args: Args) -> anyhow::Result<i32> {
    let out = match &args.out {
        Some(out) => {
            crate::report::write_run_report_to(&args.dir, out)
                .with_context(|| format!("faultline report {}", args.dir.display()))?;
            out.clone()
        }
        None => crate::report::write_run_report(&args.dir)
            .with_context(|| format!("faultline report {}", args.dir.display()))?,
    };
    println!("{}", out.display());
    Ok(0)
}
