//! `faultline report DIR`: (re)writes `report.html` for a run directory, and
//! with `--junit OUT` a JUnit XML with one test case per checker.

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
    /// Also write a JUnit XML here: one test case per checker, failures for
    /// invalid checkers (message = the checker's summary).
    #[arg(long, value_name = "OUT")]
    pub junit: Option<PathBuf>,
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
    if let Some(junit) = &args.junit {
        let results = crate::report::read_results(&args.dir.join("results.json"))
            .with_context(|| format!("faultline report {}", args.dir.display()))?;
        std::fs::write(junit, crate::report::junit::for_run(&results))
            .with_context(|| format!("writing {}", junit.display()))?;
        println!("{}", junit.display());
    }
    Ok(0)
}
