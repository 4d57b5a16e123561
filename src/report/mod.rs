//! What people and CI read: `results.json`, `report.html`, `junit.xml`,
//! suite summaries and baselines.
//!
//! Entry points: [`html::render`] (any history + results → page),
//! [`write_run_report`] (a run directory → `report.html`), [`junit`],
//! [`suite`] (the CI gate behind `faultline suite`, with its baselines).

mod anomalies;
mod attribution;
pub mod chromium;
pub mod coverage;
mod ctx;
mod escape;
pub mod example;
pub mod failover;
pub mod html;
pub mod junit;
mod model;
pub mod results;
mod shards;
pub mod suite;
mod svg;
mod witness;

pub use escape::{html as escape_html, json_for_script};
pub use results::RunResults;

use crate::history::{jsonl, History, NodeEvents};
use crate::rundir::RunDir;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReportError {
    #[error("{0}: not a run directory (expected a directory holding history.jsonl and results.json)")]
    NotRunDir(String),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error(transparent)]
    History(#[from] jsonl::JsonlError),
    #[error("{path}: not a valid results.json: {message}")]
    Results { path: String, message: String },
    #[error("{path}: not a valid test.toml: {message}")]
    TestConfig { path: String, message: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Reads `results.json` (names the file and the problem on error).
pub fn read_results(path: &Path) -> Result<RunResults, ReportError> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    serde_json::from_str(&text).map_err(|e| ReportError::Results {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Loads what a run directory holds: history, results (with `test.toml` filled in when
/// results lack the config) and node logs.
pub fn load_run(run: &RunDir) -> Result<(History, RunResults, html::Extras), ReportError> {
    if !run.path().is_dir() {
        return Err(ReportError::NotRunDir(run.path().display().to_string()));
    }
    let history = jsonl::read_file(&run.history())?;
    let mut results = read_results(&run.results())?;
    let toml_path = run.test_toml();
    if results.test.is_null() && toml_path.exists() {
        let text = std::fs::read_to_string(&toml_path).map_err(io_err(&toml_path))?;
        let t: toml::Value = toml::from_str(&text).map_err(|e| ReportError::TestConfig {
            path: toml_path.display().to_string(),
            message: e.to_string(),
        })?;
        results.test = serde_json::to_value(t).unwrap_or_default();
    }
    let extras = load_extras(run);
    Ok((history, results, extras))
}

/// What the page shows besides history and results: the source directory and the run's
/// node logs, parsed here. Unreadable logs are shown empty rather than failing the report
/// (they are supporting evidence only).
pub fn load_extras(run: &RunDir) -> html::Extras {
    extras_of(run, &NodeEvents::read(&run.node_logs()))
}

/// The page's extras from node events already parsed (the runner parses a run's logs once,
/// for its checkers and its report).
pub fn extras_of(run: &RunDir, events: &NodeEvents) -> html::Extras {
    html::Extras {
        source: Some(run.path().display().to_string()),
        node_logs: events.logs.iter().map(|l| (l.name(), l.size, l.events)).collect(),
        node_events: events.events.clone(),
    }
}

/// Reads a run directory and writes its `report.html`; returns its path.
pub fn write_run_report(run: &RunDir) -> Result<PathBuf, ReportError> {
    let out = run.report();
    write_run_report_to(run, &out)?;
    Ok(out)
}

/// Reads a run directory and writes its report to `out`.
pub fn write_run_report_to(run: &RunDir, out: &Path) -> Result<(), ReportError> {
    let (h, r, x) = load_run(run)?;
    write_html(out, &html::render_with(&h, &r, &x))
}

/// Writes a rendered page (for `faultline check --html OUT`).
pub fn write_html(out: &Path, page: &str) -> Result<(), ReportError> {
    std::fs::write(out, page).map_err(io_err(out))
}
