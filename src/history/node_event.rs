//! Node event lines: the ground truth nodes write about themselves.
//!
//! A node's log file may hold any text; lines that parse as a JSON object with
//! an `"event"` field are events. Times share the history's base: nanoseconds
//! of CLOCK_MONOTONIC minus the run's time origin (passed to nodes as
//! `--time-origin-ns`), so events line up with ops. The split-brain checker
//! reads these; the store writes them.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::BufRead;
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeEvent {
    /// `leader` (became leader/primary of `term`), `step-down` (stopped leading `term`),
    /// `ack` (acknowledged a client write at `term`/`index`), `discard` (dropped an
    /// unreplicated entry at `term`/`index` after being deposed), `start`, `stop`;
    /// failovers (derived from Redis Sentinel logs into `nodes/sentinel-events.log`):
    /// `failover-start` (node = the old primary, `term` = the Sentinel epoch) and
    /// `failover-end` (node = the promoted primary, same epoch; `value.aborted` when it gave
    /// up). `crate::checker::failover` turns the pair into a window.
    pub event: String,
    pub node: String,
    #[serde(default)]
    pub term: u64,
    /// Log index of the entry, for `ack` and `discard`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// Nanoseconds in the history's time base.
    pub time: u64,
    /// For `ack`/`discard`: the operation (`write`, `cas`, `append`, `txn`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub f: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub value: Value,
}

/// Reads every event line from a node log, skipping other lines.
pub fn read_events(path: &Path) -> std::io::Result<Vec<NodeEvent>> {
    let f = std::fs::File::open(path)?;
    let mut out = Vec::new();
    for line in std::io::BufReader::new(f).lines() {
        let line = line?;
        let t = line.trim_start();
        if t.starts_with('{') && t.contains("\"event\"") {
            if let Ok(e) = serde_json::from_str::<NodeEvent>(t) {
                out.push(e);
            }
        }
    }
    Ok(out)
}

impl NodeEvent {
    /// The line a node writes (no trailing newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
