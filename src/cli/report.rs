//! `faultline report DIR`: (re)writes `report.html` for a run directory, and
//! with `--junit OUT` a JUnit XML with one test case per checker.
//!
//! A run stopped before it wrote results.json (the harness was killed) still has its
//! test.toml and history: its history is checked now, and the page and JUnit say so.

use crate::rundir::RunDir;
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
    let ctx = || format!("faultline report {}", args.dir.display());
    let run = RunDir::at(&args.dir);
    let out = args.out.clone().unwrap_or_else(|| run.report());
    let results = if run.unfinished() {
        eprintln!(
            "note: {} has no results.json (the run was stopped early); checking its history now",
            args.dir.display()
        );
        let (history, results) = crate::runner::recheck(&run).with_context(ctx)?;
        let extras = crate::report::load_extras(&run);
        let page = crate::report::html::render_with(&history, &results, &extras);
        crate::report::write_html(&out, &page).with_context(ctx)?;
        results
    } else {
        crate::report::write_run_report_to(&run, &out).with_context(ctx)?;
        crate::report::read_results(&run.results()).with_context(ctx)?
    };
    println!("{}", out.display());
    if let Some(junit) = &args.junit {
        std::fs::write(junit, crate::report::junit::for_run(&results))
            .with_context(|| format!("writing {}", junit.display()))?;
        println!("{}", junit.display());
    }
    Ok(0)
}
