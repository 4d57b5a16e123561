//! Suites: the CI gate behind `faultline suite`. A TOML list of tests
//! ([`config`]) is run case by case through a [`TestExecutor`] ([`run`]) and
//! written as `suite.json`, `junit.xml` and `summary.md` ([`write_outputs`]).

pub mod baseline;
pub mod config;
pub mod junit;
pub mod results;
pub mod run;
pub mod summary;

pub use baseline::Baseline;
pub use config::{Expected, SuiteFile, TestSpec};
pub use results::{exit_code, CaseAnomaly, CaseResult, Outcome, SuiteReport};
pub use run::{judge, run_suite, SubprocessExecutor, TestExecutor};

use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SuiteError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: bad suite file: {message}")]
    Config { path: String, message: String },
}

/// The files [`write_outputs`] wrote.
#[derive(Clone, Debug)]
pub struct OutputPaths {
    pub suite_json: PathBuf,
    pub junit: PathBuf,
    pub summary: PathBuf,
}

/// Writes `suite.json`, `junit.xml` and `summary.md` into `out_dir`.
pub fn write_outputs(r: &SuiteReport, out_dir: &Path) -> Result<OutputPaths, SuiteError> {
    let io = |p: &Path| {
        let path = p.display().to_string();
        move |source| SuiteError::Io { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let paths = OutputPaths {
        suite_json: out_dir.join("suite.json"),
        junit: out_dir.join("junit.xml"),
        summary: out_dir.join("summary.md"),
    };
    let json = serde_json::to_string_pretty(r).unwrap_or_default();
    std::fs::write(&paths.suite_json, json).map_err(io(&paths.suite_json))?;
    std::fs::write(&paths.junit, junit::render(r)).map_err(io(&paths.junit))?;
    std::fs::write(&paths.summary, summary::markdown(r)).map_err(io(&paths.summary))?;
    Ok(paths)
}
