//! `faultline suite`: run a TOML list of tests as a CI gate.

use crate::report::suite::Baseline;
use crate::report::suite::{self, SubprocessExecutor, SuiteFile};
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `faultline suite`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Suite file (TOML, `[[test]]` entries), e.g. ci/regression.toml.
    pub file: PathBuf,
    /// Output directory for suite.json, junit.xml, summary.md and runs/ (default store/suite/<ts>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A previous suite.json: report anomaly kinds new since then; an expected-valid test
    /// invalid only with kinds the baseline already had for it counts as `known`, not failed.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// The faultline binary that runs each test (default: this executable).
    #[arg(long)]
    pub binary: Option<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    let file = SuiteFile::read(&a.file)?;
    let baseline = a.baseline.as_deref().map(Baseline::read).transpose()?;
    let out = a.out.clone().unwrap_or_else(|| {
        PathBuf::from("store/suite").join(crate::rundir::utc_stamp(std::time::SystemTime::now()))
    });
    std::fs::create_dir_all(&out).with_context(|| format!("--out {}", out.display()))?;
    let mut exec = SubprocessExecutor::current_exe().context("locating the faultline executable")?;
    if let Some(b) = a.binary {
        exec.binary = b;
    }
    eprintln!(
        "suite {}: {} cases, output in {}",
        a.file.display(),
        file.cases(),
        out.display()
    );
    let mut progress = |c: &suite::CaseResult| {
        eprintln!(
            "  {:<7} {} seed {} ({:.1} s) {}",
            c.outcome.label(),
            c.test,
            c.seed,
            c.duration_s,
            c.message.lines().next().unwrap_or("")
        );
    };
    let report = suite::run_suite(&file, &exec, &out, baseline.as_ref(), &mut progress);
    let paths = suite::write_outputs(&report, &out)?;
    print!("{}", suite::summary::table(&report));
    println!(
        "junit: {}\nsummary: {}\nsuite.json: {}",
        paths.junit.display(),
        paths.summary.display(),
        paths.suite_json.display()
    );
    if let Some(step) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        let step = PathBuf::from(step);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&step)
            .with_context(|| format!("GITHUB_STEP_SUMMARY {}", step.display()))?;
        f.write_all(suite::summary::markdown(&report).as_bytes())
            .with_context(|| format!("GITHUB_STEP_SUMMARY {}", step.display()))?;
    }
    Ok(report.exit_code)
}
