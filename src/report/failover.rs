//! Failover windows and lost-write attribution, as the report reads them.
//!
//! Windows come from node events (`nodes/*.log`) by the same rule the set
//! checker uses ([`crate::checker::failover`]), so the bands exist for any run
//! whose nodes or Sentinels log `failover-start` / `failover-end`, and agree
//! with the checker's attribution. Invariant: every window has `start <= end`;
//! windows are sorted by start.
//!
//! The set checker's `lost-attribution` anomaly is read defensively by
//! [`Attribution::from_data`]: missing fields become `None`, so a partial or
//! newer shape still renders.

use crate::history::NodeEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One failover: times in nanoseconds of the history's time base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub epoch: u64,
    pub start: u64,
    pub end: u64,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

impl Window {
    /// `failover epoch 1 n1→n2` (`?` for an unknown node).
    pub fn label(&self) -> String {
        let n = |x: &Option<String>| x.clone().unwrap_or_else(|| "?".into());
        format!("failover epoch {} {}→{}", self.epoch, n(&self.from), n(&self.to))
    }

    /// The `#t=START,END` URL fragment (seconds) that zooms the plots to this
    /// window with a quarter of its length (at least 0.2 s) of context each side.
    pub fn fragment(&self) -> String {
        let pad = ((self.end - self.start) / 4).max(200_000_000);
        format!(
            "#t={:.3},{:.3}",
            self.start.saturating_sub(pad) as f64 / 1e9,
            (self.end + pad) as f64 / 1e9
        )
    }
}

/// Failover windows of node events (any order), as the set checker derives them
/// ([`crate::checker::failover::windows_until`]), so bands and attribution agree;
/// `history_end` (ns) closes a window nothing else closes.
pub fn windows(events: &[NodeEvent], history_end: u64) -> Vec<Window> {
    crate::checker::failover::windows_until(events, history_end)
        .into_iter()
        .map(|w| Window {
            epoch: w.epoch,
            start: w.start,
            end: w.end,
            from: w.from,
            to: w.to,
        })
        .collect()
}

/// Where an acknowledged write lies relative to its failover window.
pub const PHASES: [&str; 4] = ["before", "during", "after", "none"];

/// One lost write, as the checker attributed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lost {
    pub element: Value,
    pub key: Option<Value>,
    /// History index of the acknowledging op.
    pub op: Option<u64>,
    /// Nanoseconds.
    pub acked_time: Option<u64>,
    pub acked_by: Option<String>,
    /// Epoch of its window.
    pub window: Option<u64>,
    /// One of [`PHASES`] (anything else is kept as given).
    pub phase: String,
}

/// The `data` of a `lost-attribution` anomaly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attribution {
    pub windows: Vec<Window>,
    pub lost: Vec<Lost>,
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

impl Attribution {
    /// Reads the contract shape; `None` when `data` has neither list.
    pub fn from_data(data: &Value) -> Option<Attribution> {
        let windows = data.get("windows").and_then(Value::as_array);
        let lost = data.get("lost").and_then(Value::as_array);
        if windows.is_none() && lost.is_none() {
            return None;
        }
        let windows = windows
            .into_iter()
            .flatten()
            .filter_map(|w| {
                let epoch = w.get("epoch")?.as_u64()?;
                let start = w.get("start").and_then(Value::as_u64).unwrap_or(0);
                let end = w.get("end").and_then(Value::as_u64).unwrap_or(start).max(start);
                Some(Window {
                    epoch,
                    start,
                    end,
                    from: text(w.get("from")),
                    to: text(w.get("to")),
                })
            })
            .collect();
        let lost = lost
            .into_iter()
            .flatten()
            .map(|l| Lost {
                element: l.get("element").cloned().unwrap_or(Value::Null),
                key: l.get("key").filter(|k| !k.is_null()).cloned(),
                op: l.get("op").and_then(Value::as_u64),
                acked_time: l.get("acked_time").and_then(Value::as_u64),
                acked_by: text(l.get("acked_by")),
                window: l.get("window").and_then(Value::as_u64),
                phase: text(l.get("phase")).unwrap_or_else(|| "none".into()),
            })
            .collect();
        Some(Attribution { windows, lost })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(event: &str, node: &str, term: u64, t_ms: u64) -> NodeEvent {
        NodeEvent {
            event: event.into(),
            node: node.into(),
            term,
            index: None,
            time: t_ms * 1_000_000,
            f: None,
            key: None,
            value: Value::Null,
        }
    }

    #[test]
    fn windows_are_the_checkers() {
        let w = windows(
            &[
                ev("failover-end", "n2", 1, 50),
                ev("leader", "n1", 0, 1),
                ev("failover-start", "n1", 1, 10),
                ev("failover-start", "n1", 1, 12),
                ev("failover-start", "n2", 2, 70),
            ],
            90_000_000,
        );
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].epoch, w[0].start, w[0].end), (1, 10_000_000, 50_000_000));
        assert_eq!(w[0].label(), "failover epoch 1 n1→n2");
        assert_eq!((w[1].end, w[1].to.as_deref()), (90_000_000, None));
        assert!(windows(&[ev("leader", "n1", 1, 5)], 10).is_empty());
    }

    #[test]
    fn fragment_is_in_seconds_with_context() {
        let w = Window {
            epoch: 1,
            start: 4_000_000_000,
            end: 5_600_000_000,
            from: None,
            to: None,
        };
        assert_eq!(w.fragment(), "#t=3.600,6.000");
        assert_eq!(w.label(), "failover epoch 1 ?→?");
    }

    #[test]
    fn reads_the_contract_shape_defensively() {
        let a = Attribution::from_data(&json!({
            "windows": [{"epoch": 1, "start": 5, "end": 3, "from": "n1", "to": null}, {"bad": 1}],
            "lost": [{"element": 7, "key": null, "op": 12, "acked_time": 4, "acked_by": "n1", "window": 1, "phase": "during"},
                     {"element": "x"}]
        }))
        .unwrap();
        assert_eq!(a.windows.len(), 1);
        assert_eq!((a.windows[0].start, a.windows[0].end), (5, 5));
        assert_eq!(a.lost[0].acked_by.as_deref(), Some("n1"));
        assert_eq!(
            (a.lost[1].op, a.lost[1].window, a.lost[1].phase.as_str()),
            (None, None, "none")
        );
        assert!(Attribution::from_data(&json!({"other": 1})).is_none());
    }
}
