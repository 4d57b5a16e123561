//! `results.json`: the machine-readable outcome of one test run or one check.
//!
//! This struct is the contract between the runner (writes it), the report and
//! the suite (read it). Add fields as `Option`/`#[serde(default)]` only, so old
//! run directories stay readable.

use crate::checker::{Validity, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResults {
    /// faultline's version that produced this file.
    pub faultline_version: String,
    /// The test's name (`<target>-<workload>-<nemesis>` by default), or the history file for a check.
    pub name: String,
    /// Composed verdict of all checkers.
    pub valid: Validity,
    pub results: Vec<Verdict>,
    /// The resolved test config (same content as test.toml), `null` for `faultline check`.
    #[serde(default)]
    pub test: Value,
    /// The seed that fixes the generator and nemesis schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Number of ops in the history (invocations and completions).
    pub ops: usize,
    /// Wall-clock duration of the client phase, milliseconds.
    #[serde(default)]
    pub duration_ms: f64,
    /// Seconds since the Unix epoch when the run started.
    #[serde(default)]
    pub started_at: u64,
    /// The command that re-runs this test (`faultline test --replay DIR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<String>,
    /// The network back end actually used (`netns` or `proxy`), when a test ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net: Option<String>,
    /// Per fault kind and target: faults fired, took effect, and the anomalies
    /// placed during/after them (`report::coverage`). Absent in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<super::coverage::Coverage>,
    /// A sharded store's ops per group (`--shards`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<crate::store::shard::ShardLoad>,
    /// Warnings (history reader, cleanup, ...), shown in the report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl RunResults {
    /// The process exit code ARCHITECTURE.md assigns to this verdict.
    pub fn exit_code(&self) -> i32 {
        self.valid.exit_code()
    }
}
