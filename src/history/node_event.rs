//! Node event lines: the ground truth nodes write about themselves.
//!
//! A node's log file may hold any text; lines that parse as a JSON object with
//! an `"event"` field are events. Times share the history's base: nanoseconds
//! of CLOCK_MONOTONIC minus the run's time origin (passed to nodes as
//! `--time-origin-ns`), so events line up with ops. The store writes them; the
//! harness parses a run's logs once into [`NodeEvents`], which checkers and the
//! report receive as data (they never open node logs themselves).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::BufRead;
use std::path::{Path, PathBuf};

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

/// One node log as read: its file name and size, how many event lines it held, or why
/// it could not be read.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeLog {
    pub path: PathBuf,
    pub size: u64,
    pub events: usize,
    /// Why the log could not be read (its events are then missing, not empty).
    pub error: Option<String>,
}

impl NodeLog {
    /// The file name, as the report lists it.
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// The node events of a run, parsed once from its node logs: the evidence beside the
/// history. Invariant: `events` is sorted by time, stably (ties keep the order of the
/// logs as given, then of their lines).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeEvents {
    pub logs: Vec<NodeLog>,
    pub events: Vec<NodeEvent>,
}

impl NodeEvents {
    /// Parses every log in `paths`; a log that cannot be read is kept with its error.
    pub fn read(paths: &[PathBuf]) -> NodeEvents {
        let mut out = NodeEvents::default();
        for p in paths {
            let size = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            let (events, error) = match read_events(p) {
                Ok(e) => (e, None),
                Err(e) => (Vec::new(), Some(e.to_string())),
            };
            out.logs.push(NodeLog {
                path: p.clone(),
                size,
                events: events.len(),
                error,
            });
            out.events.extend(events);
        }
        out.events.sort_by_key(|e| e.time);
        out
    }

    /// [`NodeEvents::read`], or `None` without any log (nothing to judge by: checkers then
    /// use the history alone, which is not the same as logs without events).
    pub fn read_if_any(paths: &[PathBuf]) -> Option<NodeEvents> {
        (!paths.is_empty()).then(|| NodeEvents::read(paths))
    }

    /// Events that did not come from files (tests, synthetic runs), sorted by time.
    pub fn from_events(mut events: Vec<NodeEvent>) -> NodeEvents {
        events.sort_by_key(|e| e.time);
        NodeEvents {
            logs: Vec::new(),
            events,
        }
    }

    /// The first log that could not be read, if any.
    pub fn unreadable(&self) -> Option<&NodeLog> {
        self.logs.iter().find(|l| l.error.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(event: &str, node: &str, time: u64) -> String {
        NodeEvent {
            event: event.into(),
            node: node.into(),
            term: 1,
            index: None,
            time,
            f: None,
            key: None,
            value: Value::Null,
        }
        .to_line()
    }

    #[test]
    fn logs_are_parsed_once_into_time_order_and_an_unreadable_log_is_kept_with_its_error() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("n1.log"), dir.path().join("n2.log"));
        std::fs::write(
            &a,
            format!(
                "starting\n{}\n{}\n",
                line("leader", "n1", 30),
                line("ack", "n1", 10)
            ),
        )
        .unwrap();
        std::fs::write(
            &b,
            format!("{}\nnot {{\"event\": json\n", line("leader", "n2", 10)),
        )
        .unwrap();
        let missing = dir.path().join("n3.log");
        let ev = NodeEvents::read(&[a, b, missing]);
        let order: Vec<_> = ev.events.iter().map(|e| (e.node.as_str(), e.time)).collect();
        assert_eq!(order, [("n1", 10), ("n2", 10), ("n1", 30)]);
        assert_eq!(ev.logs.iter().map(|l| l.events).collect::<Vec<_>>(), [2, 1, 0]);
        assert_eq!(ev.logs[0].name(), "n1.log");
        assert!(ev.logs[0].size > 0);
        let bad = ev.unreadable().expect("the missing log is reported");
        assert_eq!(bad.name(), "n3.log");
        assert!(bad.error.is_some());
    }
}
