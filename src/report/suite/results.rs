//! What a suite run came to: one [`CaseResult`] per test × seed, the whole [`SuiteReport`]
//! (`suite.json`, which a later run reads back as its baseline) and the exit code.

use super::config::Expected;
use crate::checker::Validity;
use serde::{Deserialize, Serialize};

/// What one case came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    /// Invalid, but only with anomaly kinds the baseline already had for this test.
    Known,
    Fail,
    Unknown,
    Error,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Known => "KNOWN",
            Outcome::Fail => "FAIL",
            Outcome::Unknown => "UNKNOWN",
            Outcome::Error => "ERROR",
        }
    }
}

/// One anomaly as the suite reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseAnomaly {
    pub checker: String,
    pub kind: String,
    pub explanation: String,
}

/// One test × seed result; an entry of `suite.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    pub test: String,
    pub seed: u64,
    pub expected: Expected,
    /// `None` when the harness failed.
    #[serde(default)]
    pub verdict: Option<Validity>,
    pub outcome: Outcome,
    /// Sorted, distinct anomaly kinds found.
    #[serde(default)]
    pub anomaly_kinds: Vec<String>,
    /// Kinds not in the baseline for this test (only with `--baseline`).
    #[serde(default)]
    pub new_kinds: Vec<String>,
    #[serde(default)]
    pub anomalies: Vec<CaseAnomaly>,
    /// Checkers that answered unknown, with their reason.
    #[serde(default)]
    pub unknown: Vec<String>,
    /// Harness error message, or why the case failed.
    #[serde(default)]
    pub message: String,
    pub duration_s: f64,
    /// The store dir given to `faultline test`.
    #[serde(default)]
    pub store_dir: String,
    #[serde(default)]
    pub replay: Option<String>,
}

/// `suite.json`: everything a later `--baseline` needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuiteReport {
    pub faultline_version: String,
    pub suite_file: String,
    pub started_at: u64,
    pub duration_s: f64,
    pub exit_code: i32,
    #[serde(default)]
    pub baseline: Option<String>,
    pub cases: Vec<CaseResult>,
}

impl SuiteReport {
    pub fn count(&self, o: Outcome) -> usize {
        self.cases.iter().filter(|c| c.outcome == o).count()
    }
}

/// Exit code: 1 if any case failed, else 3 if any harness error, else 2 if any
/// unknown, else 0 (`known` counts as pass).
pub fn exit_code(cases: &[CaseResult]) -> i32 {
    let any = |o: Outcome| cases.iter().any(|c| c.outcome == o);
    if any(Outcome::Fail) {
        crate::exit::INVALID
    } else if any(Outcome::Error) {
        crate::exit::HARNESS
    } else if any(Outcome::Unknown) {
        crate::exit::UNKNOWN
    } else {
        crate::exit::VALID
    }
}
